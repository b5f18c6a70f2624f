"""The waiting-room kiosk: large type, no menus, read-only; initials and times only unless the admin allows
names. Its title and columns are the admin's (Settings). It keeps its session alive and follows the board and
the settings live, so it can hang on a wall all day."""

from nicegui import ui

from domain import appointments, auth, events, options
from domain.access import Actor
from domain.errors import N_

from . import live
from .board import STATE_COLOURS
from .i18n import format_time, t
from .shell import FAILED, current_actor, fetch, perform, screen

TITLES = {
    'waiting': N_('Please wait'),
    'in-room': N_('Called in'),
    'in-scan': N_('In examination'),
    'review': N_('Done'),
}
KEEP_ALIVE_S = 60.0
SHOWN_OPTIONS = ('kiosk_title', 'clinic_name', 'kiosk_show_names', 'kiosk_states')  # what the wall redraws for


def register() -> None:
    @screen('/kiosk', title='Waiting room', frame=False)
    async def kiosk_page() -> None:
        await Kiosk(current_actor()).build()


class Kiosk:
    """The wall screen: the clinic's name, the time and who is where, in large type."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        ui.query('body').classes('bg-grey-10')
        with ui.column().classes('w-full q-pa-lg gap-6'):
            with ui.row().classes('w-full items-center'):
                self.title = (
                    ui.label().classes('text-h2 text-white').mark('screen-title').props('data-testid=kiosk-heading')
                )
                ui.space()
                clock_label = ui.label().classes('text-h2 text-grey-4').mark('kiosk-clock')
            await self.board()
        ui.timer(1.0, lambda: clock_label.set_text(format_time(appointments.local_now())))
        ui.timer(KEEP_ALIVE_S, self.keep_alive)
        ui.timer(KEEP_ALIVE_S, self.board.refresh)
        live.on(events.AppointmentChanged).subscribe(self.board.refresh)
        live.on(events.SettingChanged).subscribe(self.on_setting)

    @ui.refreshable_method
    async def board(self) -> None:
        cards = await perform(appointments.day, appointments.today(), by=self.actor, include_closed=False)
        shown = await fetch(options.get_many, *SHOWN_OPTIONS)
        self.title.set_text(shown['kiosk_title'] or shown['clinic_name'])
        names = bool(shown['kiosk_show_names'])
        if cards is FAILED:
            return
        with ui.row().classes('w-full gap-6 no-wrap items-start'):
            for state in (state for state in shown['kiosk_states'] if state in TITLES):
                with ui.column().classes('grow basis-0 gap-3').mark(f'kiosk-{state}'):
                    ui.label(t(TITLES[state])).classes(f'text-h3 text-{STATE_COLOURS[state]}-4')
                    for item in (c for c in cards if c.state == state):
                        self.card(item, names)

    def card(self, item: appointments.Card, names: bool) -> None:
        when = format_time(item.scheduled_at, zone=appointments.local_zone())
        with ui.row().classes('items-baseline gap-4 text-white').mark('kiosk-card'):
            ui.label(when).classes('text-h4 text-weight-bold')
            ui.label(item.patient_name if names else item.patient_initials).classes('text-h4')
            if item.state == 'in-room' and item.room:
                ui.label(item.room).classes('text-h5 text-grey-5')

    def on_setting(self, event: events.SettingChanged) -> None:
        if event.key in SHOWN_OPTIONS:
            self.board.refresh()

    async def keep_alive(self) -> None:
        if not await fetch(auth.is_alive, current_actor(), touch=True):
            ui.navigate.to('/login?next=/kiosk')
