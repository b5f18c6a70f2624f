"""Sign in: username and password, then the role's home screen (or the page that was asked for).

Before sign-in the page speaks the browser's language (Accept-Language), unless the visitor picks one below.
"""

import logging
from urllib.parse import urlparse

from fastapi import Request
from nicegui import app, ui

from domain import access, auth
from domain.errors import AccountLocked, LoginFailed

from .i18n import LANGUAGE_NAMES, current_language, error_text, t
from .shell import client_address, fetch

log = logging.getLogger(__name__)


def register() -> None:
    assert access.SCREENS['/login'] == access.PUBLIC

    @ui.page('/login', title='ClinicPACS')
    async def login_page(request: Request, next: str = '') -> None:
        address = client_address(request)
        target = next if _is_local(next) else ''

        async def submit() -> None:
            message.set_text('')
            if not username.value or not password.value:
                message.set_text(t('Enter your username and password'))
                return
            button.props('loading')
            try:
                result = await fetch(auth.login, username.value, password.value, address=address)
            except AccountLocked as error:
                message.set_text(error_text(error))
                password.set_value('')
                return
            except LoginFailed:
                message.set_text(t('Wrong username or password'))
                password.set_value('')
                return
            finally:
                button.props(remove='loading')
            app.storage.user['session'] = result.token
            app.storage.user['language'] = result.actor.language
            ui.navigate.to(target or access.HOME.get(result.actor.role, '/'))

        ui.query('body').classes('bg-grey-2')
        with ui.column().classes('absolute-center items-stretch w-96 max-w-full q-pa-md'):
            with ui.card().classes('w-full q-pa-lg'):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('local_hospital', size='md', color='primary')
                    ui.label('ClinicPACS').classes('text-h5 text-weight-medium')
                ui.label(t('Sign in')).classes('text-subtitle1 text-grey-8')
                username = (
                    ui.input(t('Username'))
                    .props('autofocus outlined autocomplete=username')
                    .classes('w-full')
                    .mark('username')
                )
                password = (
                    ui.input(t('Password'), password=True, password_toggle_button=True)
                    .props('outlined autocomplete=current-password')
                    .classes('w-full')
                    .mark('password')
                    .on('keydown.enter', submit)
                )
                message = ui.label('').classes('text-negative').mark('login-message')
                button = ui.button(t('Sign in'), on_click=submit).classes('w-full').mark('sign-in')
            ui.select(
                LANGUAGE_NAMES,
                value=current_language(),
                on_change=lambda e: _choose_language(e.value),
            ).props('dense borderless').classes('self-end').mark('login-language')


def _choose_language(language: str) -> None:
    """The visitor's own choice, kept in this browser until an account's language replaces it at sign-in."""
    app.storage.user['language'] = language
    ui.navigate.reload()


def _is_local(target: str) -> bool:
    """Only paths on this server may be a redirect target (no open redirects)."""
    parsed = urlparse(target)
    return bool(target) and target.startswith('/') and not target.startswith('//') and not parsed.netloc
