"""The clinic's live status board: every appointment of the day in its column, colour-coded, with the time in
its current state; staff move cards as their role allows, and every open browser sees each change at once."""

from datetime import datetime

from nicegui import ui

from domain import appointments, clock, events
from domain.access import Actor
from domain.errors import N_

from . import live
from .i18n import format_day, format_time, t, tn
from .shell import FAILED, current_actor, nav, perform, screen

STATE_COLOURS = {
    'scheduled': 'blue-grey',
    'waiting': 'amber',
    'in-room': 'orange',
    'in-scan': 'purple',
    'review': 'blue',
    'completed': 'green',
    'cancelled': 'grey',
    'no-show': 'red',
}
COLUMN_TITLES = {
    'scheduled': N_('Expected'),
    'waiting': N_('Waiting'),
    'in-room': N_('In room'),
    'in-scan': N_('In scan'),
    'review': N_('Review'),
    'completed': N_('Completed'),
}
MOVE_LABELS = {
    'waiting': N_('Check in'),
    'scheduled': N_('Undo check-in'),
    'in-room': N_('Call in'),
    'in-scan': N_('Start scan'),
    'review': N_('End scan'),
    'no-show': N_('No-show'),
}
BACK_LABELS = {'scheduled': N_('Undo check-in'), 'waiting': N_('Back to waiting'), 'in-room': N_('Back to the room')}
TICK_S = 30.0


def register() -> None:
    nav('/board', 'Status board', 'view_kanban', order=15)

    @screen('/board', title='Status board')
    async def board_page() -> None:
        await StatusBoard(current_actor()).build()


class StatusBoard:
    """Today's appointments in one column per state; each browser refreshes it on every appointment change."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        with ui.row().classes('w-full items-center'):
            ui.label(format_day(appointments.today())).classes('text-h6').mark('board-day')
            ui.space()
            ui.link(t('Open the waiting-room kiosk'), '/kiosk').classes('text-caption')
        await self.board()
        live.on(events.AppointmentChanged).subscribe(self.board.refresh)
        live.on(events.PatientChanged).subscribe(self.board.refresh)
        ui.timer(TICK_S, self.board.refresh)

    @ui.refreshable_method
    async def board(self) -> None:
        cards = await perform(appointments.day, appointments.today(), by=self.actor)
        if cards is FAILED:
            return
        now = clock.now()
        with ui.row().classes('w-full gap-3 items-start no-wrap overflow-auto'):
            for state in appointments.BOARD_ORDER:
                self.column(state, [c for c in cards if c.state == state], now)
        closed = [c for c in cards if c.state in (appointments.CANCELLED, appointments.NO_SHOW)]
        if closed:
            title = tn('Cancelled and no-show ({count})', 'Cancelled and no-show ({count})', len(closed))
            with ui.expansion(title).classes('w-full'):
                with ui.row().classes('gap-2'):
                    for item in closed:
                        self.card(item, now)

    def column(self, state: str, here: list[appointments.Card], now: datetime) -> None:
        colour = STATE_COLOURS[state]
        with (
            ui.column()
            .classes(f'min-w-[13rem] w-56 gap-2 q-pa-sm rounded-borders bg-{colour}-1')
            .mark(f'column-{state}')
        ):
            with ui.row().classes('w-full items-center'):
                ui.label(t(COLUMN_TITLES[state])).classes(f'text-subtitle1 text-{colour}-10')
                ui.space()
                ui.badge(str(len(here)), color=colour)
            for item in here:
                self.card(item, now)

    def card(self, item: appointments.Card, now: datetime) -> None:
        colour = STATE_COLOURS.get(item.state, 'grey')
        with (
            ui.card()
            .classes(f'w-full q-pa-sm border-l-4 border-{colour}')
            .style(f'border-left: 5px solid var(--q-{"negative" if item.urgent else "primary"})')
            .mark(f'card-{item.accession_number}')
        ):
            card_heading(item)
            ui.label(f'{item.procedure} · {item.room}').classes('text-caption')
            with ui.row().classes('w-full items-center'):
                ui.badge(t(item.state), color=colour).mark(f'state-{item.accession_number}')
                ui.label(minutes_text(appointments.minutes_in_state(item, now))).classes(
                    'text-caption text-grey-8'
                ).mark(f'since-{item.accession_number}')
            self.moves(item)

    def moves(self, item: appointments.Card) -> None:
        targets = appointments.allowed_moves(item.state, self.actor)
        if not targets:
            return
        with ui.row().classes('gap-1'):
            for target in targets:
                labels = BACK_LABELS if appointments.is_step_back(item.state, target) else MOVE_LABELS
                ui.button(t(labels.get(target, target)), on_click=lambda s=target: self.move(item, s)).props(
                    'dense no-caps size=sm outline'
                ).mark(f'move-{item.accession_number}-{target}')

    async def move(self, item: appointments.Card, state: str) -> None:
        await perform(appointments.move, item.id, state, by=self.actor)
        await self.board.refresh()


def minutes_text(minutes: int) -> str:
    """A time spent as staff read it ('12 min', '2 h 5 min')."""
    if minutes < 60:
        return t('{n} min', n=minutes)
    return t('{h} h {m} min', h=minutes // 60, m=minutes % 60)


def card_heading(item: appointments.Card) -> None:
    """An appointment's first line, on the board and the day's schedule: time, patient (a link), urgency."""
    with ui.row().classes('w-full items-center gap-1'):
        ui.label(format_time(item.scheduled_at, zone=appointments.local_zone())).classes('text-weight-bold')
        ui.link(item.patient_name, f'/patients/{item.patient_id}').classes('text-body2')
        if item.urgent:
            ui.badge(t('urgent'), color='negative')
