"""Account: change one's own password, preferred language and two-step sign-in."""

from collections.abc import Awaitable, Callable

from nicegui import app, ui

from domain import mfa, users
from domain.access import Actor
from domain.models import Role

from .i18n import language_choices, t
from .mfa_panel import EnrolPanel, recovery_codes
from .shell import FAILED, current_actor, perform, screen


def register() -> None:
    @screen('/account', title='Account')
    async def account_page() -> None:
        actor = current_actor()

        async def change() -> None:
            if new.value != repeat.value:
                ui.notify(t('The new passwords do not match'), type='warning')
                return
            if (
                await perform(
                    users.change_own_password, current.value, new.value, by=actor, success=t('Password changed')
                )
                is FAILED
            ):
                return
            for field in (current, new, repeat):
                field.set_value('')

        async def choose(language: str) -> None:
            if language == actor.language or await perform(users.set_language, language, by=actor) is FAILED:
                return
            app.storage.user['language'] = language  # the account's language wins over the browser's from now on
            app.storage.client['actor'] = Actor(**{**actor.__dict__, 'language': language})
            ui.navigate.reload()

        with ui.card().classes('w-full max-w-md'):
            ui.label(f'{actor.username} · {t(Role(actor.role).value)}').classes('text-subtitle1')
            ui.select(
                language_choices(), value=actor.language, label=t('Language'), on_change=lambda e: choose(e.value)
            ).classes('w-full').mark('account-language')
        with ui.card().classes('w-full max-w-md'):
            ui.label(t('Change password')).classes('text-h6')
            current = ui.input(t('Current password'), password=True).classes('w-full').mark('current-password')
            new = ui.input(t('New password'), password=True).classes('w-full').mark('new-password')
            repeat = ui.input(t('Repeat the new password'), password=True).classes('w-full').mark('repeat-password')
            ui.button(t('Change password'), on_click=change).mark('change-password')
        if actor.user_id is not None:
            with ui.card().classes('w-full max-w-md'):
                await TwoStepSection(actor.user_id, actor).build()


class TwoStepSection:
    """Two-step sign-in for one's own account: whether it is on, turning it on or off, new recovery codes."""

    def __init__(self, user_id: int, actor: Actor) -> None:
        self.user_id, self.actor = user_id, actor
        self.enrolling = False

    async def build(self) -> None:
        ui.label(t('Two-step sign-in')).classes('text-h6')
        self.dialogs = ui.element()  # outside the refreshable part, so a refresh does not take an open dialog along
        await self.status()

    @ui.refreshable_method
    async def status(self) -> None:
        enabled = await perform(mfa.is_enabled, self.user_id)
        left = await perform(mfa.recovery_codes_left, self.user_id)
        if enabled is FAILED or left is FAILED:
            return
        required = mfa.required_for(self.actor.role)
        if self.enrolling:
            EnrolPanel(self.user_id, self.actor, self.finish)
            ui.button(t('Cancel'), on_click=self.finish).props('flat').mark('mfa-cancel')
        elif not enabled:
            ui.label(t('Off')).classes('text-grey-8').mark('mfa-off')
            if required:
                ui.label(t('Your role must use two-step sign-in: please turn it on.')).classes('text-warning')
            ui.label(t('After your password, the sign-in asks for a code from an app on your phone.')).classes(
                'text-body2'
            )
            ui.button(t('Turn on'), on_click=self.start).mark('mfa-turn-on')
        else:
            ui.label(t('On · recovery codes left: {count}', count=left)).classes('text-positive').mark('mfa-on')
            with ui.row().classes('gap-2'):
                ui.button(t('New recovery codes'), on_click=self.new_codes_dialog).props('outline').mark(
                    'mfa-new-codes'
                )
                if not required:  # a role that must use it cannot switch it off; an administrator can reset it
                    ui.button(t('Turn off'), on_click=self.turn_off_dialog).props('outline color=negative').mark(
                        'mfa-turn-off'
                    )

    async def start(self) -> None:
        self.enrolling = True
        await self.status.refresh()

    async def finish(self) -> None:
        self.enrolling = False
        await self.status.refresh()

    def turn_off_dialog(self) -> None:
        async def turn_off(code: str) -> bool:
            done = await perform(
                mfa.disable, self.user_id, by=self.actor, code=code, success=t('Two-step sign-in is off')
            )
            return done is not FAILED

        self.code_dialog(t('Turn off two-step sign-in'), t('Turn off'), turn_off)

    def new_codes_dialog(self) -> None:
        async def renew(code: str) -> bool:
            codes = await perform(mfa.regenerate_recovery_codes, self.user_id, code, by=self.actor)
            if codes is FAILED:
                return False
            with self.dialogs, ui.dialog().props('persistent') as shown, ui.card():
                recovery_codes(codes, shown.close)
            shown.open()
            return True

        self.code_dialog(t('New recovery codes'), t('Make new codes'), renew)

    def code_dialog(self, title: str, action: str, act: Callable[[str], Awaitable[bool]]) -> None:
        """Ask for a current code from the app (or a recovery code), then act with it."""
        with self.dialogs, ui.dialog() as dialog, ui.card().classes('w-80'):
            ui.label(title).classes('text-subtitle1')
            code = ui.input(t('Code from the app')).props('autocomplete=one-time-code').classes('w-full')
            code.mark('mfa-current-code')

            async def go() -> None:
                if await act(code.value or ''):
                    dialog.close()
                    await self.status.refresh()

            with ui.row():
                ui.button(action, on_click=go).mark('mfa-code-go')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()
