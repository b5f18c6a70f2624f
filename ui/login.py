"""Sign in: username and password, a code when the account has a second factor, then the home screen.

The screen never touches the session itself: it gets a one-time ticket bound to this browser and sends the browser
to /auth/session, which sets the session cookie (ui/session_cookie.py). Before sign-in the page speaks the
browser's language (Accept-Language), unless the visitor picks one below.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from nicegui import app, ui

from domain import access, sign_in
from domain.access import Actor
from domain.errors import LoginFailed

from . import certificate, threads
from .i18n import LANGUAGE_NAMES, current_language, error_text, t
from .mfa_panel import EnrolPanel
from .redirects import local_target
from .session_cookie import browser_id, ticket_url
from .shell import client_address

log = logging.getLogger(__name__)
R = TypeVar('R')


def register() -> None:
    assert access.SCREENS['/login'] == access.PUBLIC

    @ui.page('/login', title='ClinicPACS')
    async def login_page(request: Request, next: str = '') -> None:
        ui.query('body').classes('bg-grey-2')
        with ui.column().classes('absolute-center items-stretch w-96 max-w-full q-pa-md'):
            with ui.card().classes('w-full q-pa-lg'):
                with ui.row().classes('items-center gap-2'):
                    ui.icon('local_hospital', size='md', color='primary')
                    ui.label('ClinicPACS').classes('text-h5 text-weight-medium')
                LoginForm(client_address(request), browser_id(request), local_target(next))
            with ui.row().classes('w-full items-center justify-between'):
                if certificate.available():
                    ui.link(t('Install the clinic certificate'), certificate.PAGE).classes('text-caption').mark(
                        'certificate-link'
                    )
                ui.space()
                ui.select(
                    LANGUAGE_NAMES,
                    value=current_language(),
                    on_change=lambda e: _choose_language(e.value),
                ).props('dense borderless').mark('login-language')


class LoginForm:
    """The two steps of a sign-in inside the login card: the password, then (if needed) the second factor."""

    def __init__(self, address: str, browser: str, target: str) -> None:
        self.address, self.browser, self.target = address, browser, target
        self.step: sign_in.SecondStep | None = None
        self.button: ui.button | None = None  # the current step's own button (loading while it is checked)
        self.body = ui.column().classes('w-full items-stretch gap-3')
        self.password_step()

    def password_step(self) -> None:
        with self.body:
            ui.label(t('Sign in')).classes('text-subtitle1 text-grey-8')
            self.username = (
                ui.input(t('Username'))
                .props('autofocus outlined autocomplete=username')
                .classes('w-full')
                .mark('username')
            )
            self.password = (
                ui.input(t('Password'), password=True, password_toggle_button=True)
                .props('outlined autocomplete=current-password')
                .classes('w-full')
                .mark('password')
                .on('keydown.enter', self.submit_password)
            )
            self.message = ui.label('').classes('text-negative').mark('login-message')
            self.button = ui.button(t('Sign in'), on_click=self.submit_password).classes('w-full').mark('sign-in')

    async def submit_password(self) -> None:
        self.message.set_text('')
        if not self.username.value or not self.password.value:
            self.message.set_text(t('Enter your username and password'))
            return
        outcome = await self.attempt(
            sign_in.sign_in,
            self.username.value,
            self.password.value,
            address=self.address,
            browser=self.browser,
            kiosk=self.target == '/kiosk',
        )
        if outcome is None:
            self.password.set_value('')
        elif isinstance(outcome, sign_in.SecondStep):
            self.step = outcome
            self.body.clear()
            self.enrol_step() if outcome.enrol else self.code_step()
        else:
            self.go(outcome)

    def code_step(self) -> None:
        with self.body:
            ui.label(t('Two-step sign-in')).classes('text-subtitle1 text-grey-8')
            ui.label(t('Enter the 6-digit code from your authenticator app, or one of your recovery codes.')).classes(
                'text-body2'
            )
            self.code = (
                ui.input(t('Code'))
                .props('autofocus outlined autocomplete=one-time-code inputmode=numeric')
                .classes('w-full')
                .mark('mfa-code')
                .on('keydown.enter', self.submit_code)
            )
            self.message = ui.label('').classes('text-negative').mark('login-message')
            self.button = ui.button(t('Verify'), on_click=self.submit_code).classes('w-full').mark('mfa-verify')
            ui.button(t('Start again'), on_click=self.restart).props('flat').classes('w-full')

    async def submit_code(self) -> None:
        assert self.step is not None
        self.message.set_text('')
        if not (self.code.value or '').strip():
            self.message.set_text(t('Enter the code'))
            return
        ticket = await self.attempt(sign_in.second_step, self.step, self.code.value, browser=self.browser)
        if ticket is not None:
            self.go(ticket)

    def enrol_step(self) -> None:
        assert self.step is not None
        step = self.step
        me = Actor(role=step.role, username=step.username, user_id=step.user_id, address=step.address)
        with self.body:
            ui.label(t('Your account must use two-step sign-in. Set it up now to continue.')).classes('text-body2')
            EnrolPanel(step.user_id, by=me, on_done=self.enrolled)
            self.message = ui.label('').classes('text-negative').mark('login-message')
            self.button = None  # the panel has its own

    async def enrolled(self) -> None:
        assert self.step is not None
        ticket = await self.attempt(sign_in.after_enrolment, self.step, browser=self.browser)
        if ticket is not None:
            self.go(ticket)

    async def attempt(self, function: Callable[..., R], *args: Any, **kwargs: Any) -> R | None:
        """Call a sign-in step; None after showing why it was refused (wrong, throttled, locked)."""
        if self.button is not None:
            self.button.props('loading')
        try:
            return await threads.checking(function, *args, **kwargs)
        except LoginFailed as error:
            self.message.set_text(error_text(error))
            return None
        finally:
            if self.button is not None:
                self.button.props(remove='loading')

    def restart(self) -> None:
        ui.navigate.reload()

    def go(self, ticket: str) -> None:
        ui.navigate.to(ticket_url(ticket, self.target))


def _choose_language(language: str) -> None:
    """The visitor's own choice, kept in this browser until an account's language replaces it at sign-in."""
    app.storage.user['language'] = language
    ui.navigate.reload()
