"""Setting up two-step sign-in: the QR code for the authenticator app, the confirming code, the recovery codes.

Used on the account page and, for an account that must use a second factor but has none yet, on the login page;
so it takes the user and the actor it acts for instead of reading the signed-in visitor.
"""

import inspect
from collections.abc import Awaitable, Callable

from nicegui import background_tasks, ui

from domain import mfa
from domain.access import Actor

from .i18n import t
from .shell import FAILED, perform

Done = Callable[[], Awaitable[None] | None]


class EnrolPanel(ui.column):
    """Scan (or type) the secret, confirm with the app's code, then note the ten recovery codes.

    Create it where it should appear (`EnrolPanel(user_id, by=actor, on_done=...)`): it fills itself in once the
    new secret is ready, and calls `on_done` after "I have stored them".
    """

    def __init__(self, user_id: int, by: Actor, on_done: Done) -> None:
        super().__init__()
        self.classes('w-full gap-2').mark('mfa-enrol')
        self.user_id, self.actor, self.on_done = user_id, by, on_done
        background_tasks.create(self.load(), name=f'mfa-enrolment-{user_id}')

    async def load(self) -> None:
        with self:  # a task of its own: say where its elements and notices go
            enrolment = await perform(mfa.start_enrolment, self.user_id)
            if enrolment is FAILED or self.is_deleted:
                return
            self.enrolment: mfa.Enrolment = enrolment
            self.setup()

    def setup(self) -> None:
        ui.label(t('Scan this code with an authenticator app on your phone.')).classes('text-body2')
        ui.html(self.enrolment.qr_svg).classes('self-center').mark('mfa-qr')
        ui.label(t('Or type this key into the app:')).classes('text-caption text-grey-7')
        ui.label(grouped(self.enrolment.secret)).classes('font-mono text-subtitle1 select-all').mark('mfa-secret')
        self.code = (
            ui.input(t('Code from the app'))
            .props('inputmode=numeric autocomplete=one-time-code maxlength=7')
            .classes('w-full')
            .mark('mfa-code')
        )
        self.code.on('keydown.enter', self.confirm)
        ui.button(t('Confirm'), on_click=self.confirm).mark('mfa-confirm')

    async def confirm(self) -> None:
        codes = await perform(
            mfa.confirm_enrolment,
            self.user_id,
            self.enrolment.secret,
            self.code.value or '',
            by=self.actor,
            success=t('Two-step sign-in is on'),
        )
        if codes is FAILED:
            return
        self.clear()
        with self:
            recovery_codes(codes, self.on_done)


def recovery_codes(codes: list[str], on_done: Done) -> None:
    """The recovery codes, shown this once, with the button that says they are kept somewhere safe."""
    ui.label(t('Recovery codes')).classes('text-subtitle1')
    ui.label(
        t('Each code signs you in once if your phone is not at hand. Print them or write them down and keep them safe.')
    ).classes('text-body2')
    with ui.grid(columns=2).classes('font-mono text-subtitle1 gap-x-8').mark('recovery-codes'):
        for code in codes:
            ui.label(code)

    async def done() -> None:
        outcome = on_done()
        if inspect.isawaitable(outcome):
            await outcome

    ui.button(t('I have stored them'), on_click=done).mark('recovery-codes-stored')


def grouped(secret: str, size: int = 4) -> str:
    """The secret in groups of four, easier to type by hand."""
    return ' '.join(secret[i : i + size] for i in range(0, len(secret), size))
