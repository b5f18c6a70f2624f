"""Account: change one's own password and preferred language."""

from nicegui import app, ui

from domain import users
from domain.access import Actor
from domain.models import Role

from .i18n import language_choices, t
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
