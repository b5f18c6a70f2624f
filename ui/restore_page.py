"""Restore from a backup on an empty install: the folder of archives, one archive of a chain, the key, Restore.

Offered only while the install holds no clinical data (no patients, studies or reports; no user but its first
admin). The passphrase or private key lives in the form only: never stored, logged or put in a URL. After a restore
the users are those of the backup, so the admin's session is over and the page sends them to the login.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nicegui import ui

from dicom import storage
from domain import access, backup, fresh_install, sealed
from domain.access import Actor
from domain.errors import DomainError

from . import session_cookie
from .i18n import error_text, format_datetime, t
from .shell import FAILED, current_actor, fetch, perform, screen

log = logging.getLogger(__name__)

PATH = '/admin/restore'
PASSPHRASE, PRIVATE_KEY = 'passphrase', 'private-key'


def register() -> None:
    @screen(PATH, title='Restore from a backup')
    async def restore_page() -> None:
        actor = current_actor()
        fresh = await perform(fresh_install.is_fresh, by=actor)
        if fresh is FAILED:
            return
        if not fresh:
            _only_on_a_fresh_install()
            return
        RestoreForm(actor).build()


@dataclass
class RestoreForm:
    """One admin's restore form: what they typed stays in it when a restore is refused."""

    actor: Actor
    archives: list[backup.ArchiveInfo] = field(default_factory=list)

    def build(self) -> None:
        ui.label(
            t(
                'Put a ClinicPACS backup back onto this new install: its patients, images, reports, settings and '
                'users. Connect the disk or mount the network folder that holds the backups on this server first.'
            )
        ).classes('max-w-3xl')
        with ui.card().classes('w-full max-w-3xl') as self.form:
            with ui.row().classes('w-full items-end gap-2'):
                self.folder = ui.input(t('Folder of the backups on this server')).classes('grow').mark('restore-folder')
                self.folder.props('hint="/media/usb/clinicpacs-backups"')
                ui.button(t('Look for backups'), on_click=self.look).props('outline').mark('restore-look')
            self.choice = ui.radio({}).mark('restore-archive')
            self.found = ui.label().classes('text-caption text-grey-8').mark('restore-found')
            ui.separator()
            self.key_kind = ui.toggle(
                {PASSPHRASE: t('Passphrase'), PRIVATE_KEY: t('Private key')}, value=PASSPHRASE
            ).mark('restore-key-kind')
            self.passphrase = (
                ui.input(t('Passphrase of the backups'), password=True, password_toggle_button=True)
                .classes('w-full')
                .props('autocomplete=off')
                .mark('restore-passphrase')
            )
            self.private_key = (
                ui.textarea(t('Private key (CLINICPACS-SECRET-…)'))
                .classes('w-full font-mono')
                .props('autocomplete=off spellcheck=false')
                .mark('restore-private-key')
            )
            self.passphrase.bind_visibility_from(self.key_kind, 'value', value=PASSPHRASE)
            self.private_key.bind_visibility_from(self.key_kind, 'value', value=PRIVATE_KEY)
            self.problem = ui.label().classes('text-negative').mark('restore-problem')
            self.problem.set_visibility(False)
            with ui.row().classes('items-center gap-4'):
                self.start = ui.button(t('Restore'), icon='settings_backup_restore', on_click=self.restore)
                self.start.mark('restore-start')
                self.working = ui.row().classes('items-center gap-2')
                with self.working:
                    ui.spinner()
                    ui.label(t('Restoring: checking every file and table as it is put back. This can take a while.'))
                self.working.set_visibility(False)
        self.done = ui.column().classes('w-full max-w-3xl')

    async def look(self) -> None:
        """List the archives in the folder, newest first, and choose the newest."""
        self.problem.set_visibility(False)
        folder = Path(self.folder.value.strip())
        if not folder.is_absolute():  # a relative path would be read from wherever the server was started
            self._refuse(t('Type the full path of the folder that holds the backups'))
            return
        found = await perform(backup.archives, folder)
        if found is FAILED:
            return
        self.archives = sorted(found, key=lambda info: info.created_at, reverse=True)
        self.choice.options = {info.name: self._describe(info) for info in self.archives}
        self.choice.value = self.archives[0].name if self.archives else None
        self.choice.update()
        self.found.text = (
            t('An incremental backup brings its full backup and the incrementals before it: keep them in this folder.')
            if self.archives
            else t('No ClinicPACS backups in {folder}', folder=str(folder))
        )

    async def restore(self) -> None:
        """Restore the chosen archive's chain into this install; a refusal keeps the form as it was typed."""
        chosen = next((info for info in self.archives if info.name == self.choice.value), None)
        secret = self.passphrase.value if self.key_kind.value == PASSPHRASE else self.private_key.value.strip()
        if chosen is None:
            self._refuse(t('Look for the backups in a folder and choose one'))
            return
        if not secret:
            self._refuse(t('Type the passphrase or paste the private key of the backups'))
            return
        self.problem.set_visibility(False)
        self.start.disable()
        self.working.set_visibility(True)
        try:
            result = await fetch(_restore, chosen.path, self.key_kind.value, secret, by=self.actor)
        except DomainError as error:
            self._refuse(error_text(error))
            return
        finally:
            self.working.set_visibility(False)
            self.start.enable()
        self.form.set_visibility(False)
        _keep_on_screen()
        with self.done:
            with ui.card().classes('w-full').mark('restore-done'):
                ui.label(t('Restored {name}', name=chosen.name)).classes('text-h6')
                ui.label(t('{rows} rows and {files} files are back.', rows=result.rows, files=result.files))
                if result.at_rest_files:
                    ui.label(
                        t(
                            "{count} of the files are encrypted at rest: put the old server's at-rest key file in "
                            'place, set PACS_ENCRYPT_AT_REST and PACS_AT_REST_KEY_FILE, and restart the server.',
                            count=result.at_rest_files,
                        )
                    ).classes('text-warning')
                ui.label(
                    t(
                        'The users are now those of the backup, so your session has ended. '
                        'Sign in with an account from the backup.'
                    )
                )
                ui.button(t('Sign in'), on_click=lambda: ui.navigate.to(session_cookie.SIGNED_OUT_PATH)).mark(
                    'restore-sign-in'
                )

    def _refuse(self, message: str) -> None:
        self.problem.text = message
        self.problem.set_visibility(True)
        ui.notify(message, type='warning')

    @staticmethod
    def _describe(info: backup.ArchiveInfo) -> str:
        kind = t('full') if info.kind == 'full' else t('incremental')
        when = format_datetime(datetime.fromisoformat(info.created_at))
        return f'{info.name} · {kind} · {when} · {t("{size} MB", size=f"{info.size / 1e6:,.1f}")}'


def _restore(archive: Path, key_kind: str, secret: str, *, by: Actor) -> backup.RestoreResult:
    """Open the archive with the passphrase or private key and restore its chain into this install (still fresh)."""
    identity = sealed.Passphrase(secret) if key_kind == PASSPHRASE else sealed.PrivateKey(secret)
    fresh_install.require_fresh(by=by)
    # forced: the first admin's account, its sessions and audit events are rows; fresh_install checked the rest
    return backup.restore(archive, storage.data_dir(), by=by, identity=identity, force=True)


def _keep_on_screen() -> None:
    """Stop the shell's session check on this page: the session is gone, and the check would leave before the admin
    has read the result (the Sign in button ends the visit instead)."""
    for element in ui.context.client.layout.descendants():
        if isinstance(element, ui.timer):
            element.deactivate()


def _only_on_a_fresh_install() -> None:
    with ui.card().classes('w-full max-w-3xl').mark('restore-not-fresh'):
        ui.label(t('Restore is only for a fresh install')).classes('text-h6')
        ui.label(
            t(
                'This install already holds patients, studies or reports, or more users than its first admin. '
                'A restore would replace them all, so it is done on the server from the command line:'
            )
        )
        ui.label('python main.py restore /media/usb/clinicpacs-backups/ARCHIVE --force').classes(
            'font-mono bg-grey-2 q-pa-sm'
        )


async def offer(actor: Actor) -> None:
    """On the admin's home, while the install is fresh: a card leading to the restore page."""
    if not access.may_open(actor.role, PATH) or await perform(fresh_install.is_fresh, by=actor) is not True:
        return
    with (
        ui.card()
        .classes('w-full max-w-3xl cursor-pointer hover:shadow-lg')
        .on('click', lambda: ui.navigate.to(PATH))
        .mark('home-restore')
    ):
        with ui.row().classes('items-center gap-3 no-wrap'):
            ui.icon('settings_backup_restore', size='lg', color='primary')
            with ui.column().classes('gap-0'):
                ui.label(t('Restore from a backup')).classes('text-subtitle1')
                ui.label(t('Moving to this server? Put your backup back while the install is still empty.')).classes(
                    'text-caption text-grey-8'
                )
