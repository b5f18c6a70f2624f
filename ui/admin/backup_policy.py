"""The backup policy card: folder (checked as typed), schedule, fulls kept, drill day, and the recipient key.

"Create key pair" shows the private key once, to copy or download; the server keeps only the public half.
"""

from collections.abc import Awaitable, Callable

from babel import Locale
from nicegui import ui

from domain import backup_schedule
from domain.access import Actor
from domain.backup_schedule import Policy, PolicyForm
from domain.errors import InvalidInput

from ..i18n import current_language, error_text, t
from ..shell import FAILED, fetch, perform

PRIVATE_KEY_FILE = 'clinicpacs-backup-private-key.txt'


class PolicyCard:
    """The form bound to a PolicyForm: a refused value keeps what was typed and says what is wrong beside it."""

    def __init__(self, actor: Actor, current: Policy, on_saved: Callable[[], Awaitable[None]]) -> None:
        self.actor = actor
        self.on_saved = on_saved
        self.form = PolicyForm(
            target=current.target,
            incremental_hours=current.incremental_hours,
            full_hour=current.full_hour,
            keep_full=current.keep_full,
            drill_weekday=current.drill_weekday,
            public_key=current.public_key,
        )
        self.has_passphrase = current.has_passphrase
        self.problems: dict[str, str] = {}

    async def build(self) -> None:
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(t('Policy')).classes('text-h6')
            ui.input(t('Backup folder (a mounted USB disk or NAS share)'), on_change=self.check_folder).bind_value(
                self.form, 'target'
            ).props('clearable debounce=400').classes('w-full').mark('backup-target')
            self.folder_state = ui.label().classes('text-caption').mark('backup-folder-state')
            await self.check_folder()
            with ui.row().classes('gap-4'):
                self.number('incremental_hours', t('Incremental every (hours)'), 1, 168)
                self.number('full_hour', t('Nightly full backup at (hour)'), 0, 23)
                self.number('keep_full', t('Full backups kept'), 1, 365)
                days = Locale.parse(current_language()).days['format']['wide']
                ui.select({day: days[day] for day in range(7)}, label=t('Weekly drill on')).bind_value(
                    self.form, 'drill_weekday'
                ).classes('w-40').mark('backup-drill-day')
            self.key_field = (
                ui.textarea(t('Public key the archives are encrypted to'))
                .bind_value(self.form, 'public_key')
                .props('autogrow')
                .classes('w-full font-mono')
                .mark('backup-public-key')
            )
            self.passphrase_note()
            self.messages()
            with ui.row().classes('gap-2'):
                ui.button(t('Save'), on_click=self.save).mark('save-backup-policy')
                ui.button(t('Create key pair'), icon='key', on_click=self.confirm_keypair).props('outline').mark(
                    'create-key-pair'
                )

    def number(self, field: str, label: str, low: int, high: int) -> None:
        ui.number(label, min=low, max=high, step=1, format='%d').bind_value(self.form, field).classes('w-48').mark(
            f'backup-{field.replace("_", "-")}'
        )

    def passphrase_note(self) -> None:
        if self.has_passphrase:
            text = t('PACS_BACKUP_PASSPHRASE is set: without a public key, archives are encrypted with it')
        else:
            text = t('PACS_BACKUP_PASSPHRASE is not set: archives need a public key')
        ui.label(text).classes('text-caption text-grey-7').mark('backup-passphrase-note')

    async def check_folder(self) -> None:
        """Say whether the typed folder can take backups (a check still running when more is typed is dropped)."""
        target = (self.form.target or '').strip()
        if not target:
            self.show_folder(t('No backup folder is chosen'), 'text-grey-7')
            return
        checked = await perform(backup_schedule.inspect_folder, target, by=self.actor)
        if checked is FAILED or target != (self.form.target or '').strip():
            return
        if checked.problem is not None:
            self.show_folder(t(checked.problem), 'text-negative')
        else:
            free = f'{(checked.free_bytes or 0) / 1024**3:.1f}'
            self.show_folder(t('Folder ready: writable, {free} GB free', free=free), 'text-positive')

    def show_folder(self, text: str, colour: str) -> None:
        self.folder_state.text = text
        self.folder_state.classes(replace=f'text-caption {colour}')

    @ui.refreshable_method
    def messages(self) -> None:
        for message in self.problems.values():
            ui.label(message).classes('text-negative').mark('backup-policy-problem')

    async def save(self) -> None:
        refused = await perform(self._save)  # other refusals (role, session) are shown the usual way
        if refused is FAILED:
            return
        if isinstance(refused, InvalidInput):
            self.problems = {field: t(text) for field, text in refused.fields.items()} or {'': error_text(refused)}
            self.messages.refresh()
            ui.notify(error_text(refused), type='warning')
            return
        self.problems = {}
        self.messages.refresh()
        ui.notify(t('Saved'), type='positive')
        await self.on_saved()

    def _save(self) -> InvalidInput | None:
        try:
            backup_schedule.save_policy(self.form, by=self.actor)
        except InvalidInput as error:
            return error
        return None

    def confirm_keypair(self) -> None:
        if not (self.form.public_key or '').strip():
            ui.timer(0, self.create_keypair, once=True)
            return
        with ui.dialog() as dialog, ui.card():
            ui.label(t('Replace the public key? Archives made so far still need the private key you kept for them.'))

            async def replace() -> None:
                dialog.close()
                await self.create_keypair()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                ui.button(t('Replace'), on_click=replace).mark('confirm-key-pair')
        dialog.open()

    async def create_keypair(self) -> None:
        private = await perform(backup_schedule.create_keypair, by=self.actor)
        if private is FAILED:
            return
        self.key_field.value = (await fetch(backup_schedule.policy)).public_key  # the form follows its field
        show_private_key(private)
        await self.on_saved()


def show_private_key(private: str) -> None:
    """The private key, shown this once: to copy or download, and to keep off the server."""
    with ui.dialog().props('persistent') as dialog, ui.card().classes('w-full max-w-2xl'):
        ui.label(t('Your private backup key')).classes('text-h6')
        ui.label(
            t(
                'It is shown only now and the server does not keep it. Copy or download it and keep it off this '
                'server (a password manager, a USB key in a safe): without it these backups cannot be restored.'
            )
        ).classes('text-negative')
        ui.textarea(value=private).props('readonly autogrow').classes('w-full font-mono').mark('private-key')
        with ui.row().classes('w-full justify-end'):
            ui.button(
                t('Download'),
                icon='download',
                on_click=lambda: ui.download.content(private.encode(), PRIVATE_KEY_FILE, 'text/plain'),
            ).mark('download-private-key')
            ui.button(t('I have kept it'), on_click=lambda: (dialog.close(), dialog.clear())).mark('kept-private-key')
    dialog.open()
