"""The clinic's live status board: every appointment of the day in its column, colour-coded, with the time in
its current state; staff move cards as their role allows, and every open browser sees each change at once."""

from datetime import datetime
from typing import Any

from nicegui import ui

from domain import appointments, clock, events

from . import live
from .i18n import t
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
    'scheduled': 'Expected',
    'waiting': 'Waiting',
    'in-room': 'In room',
    'in-scan': 'In scan',
    'review': 'Review',
    'completed': 'Completed',
}
MOVE_LABELS = {
    'waiting': 'Check in',
    'scheduled': 'Undo check-in',
    'in-room': 'Call in',
    'in-scan': 'Start scan',
    'review': 'End scan',
    'no-show': 'No-show',
}
TICK_S = 30.0


def register() -> None:
    nav('/board', 'Status board', 'view_kanban', order=15)

    @screen('/board', title='Status board')
    async def board_page() -> None:
        actor = current_actor()

        @ui.refreshable
        async def board() -> None:
            cards = await perform(appointments.day, appointments.today(), by=actor)
            if cards is FAILED:
                return
            now = clock.now()
            with ui.row().classes('w-full gap-3 items-start no-wrap overflow-auto'):
                for state in appointments.BOARD_ORDER:
                    here = [c for c in cards if c.state == state]
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
                            card_view(item, now)
            closed = [c for c in cards if c.state in (appointments.CANCELLED, appointments.NO_SHOW)]
            if closed:
                with ui.expansion(t('Cancelled and no-show ({count})', count=len(closed))).classes('w-full'):
                    with ui.row().classes('gap-2'):
                        for item in closed:
                            card_view(item, now)

        def card_view(item: appointments.Card, now: datetime) -> None:
            colour = STATE_COLOURS.get(item.state, 'grey')
            with (
                ui.card()
                .classes(f'w-full q-pa-sm border-l-4 border-{colour}')
                .style(f'border-left: 5px solid var(--q-{"negative" if item.urgent else "primary"})')
                .mark(f'card-{item.accession_number}')
            ):
                with ui.row().classes('w-full items-center gap-1'):
                    ui.label(item.scheduled_at.astimezone(appointments.local_zone()).strftime('%H:%M')).classes(
                        'text-weight-bold'
                    )
                    ui.link(item.patient_name, f'/patients/{item.patient_id}').classes('text-body2')
                    if item.urgent:
                        ui.badge(t('urgent'), color='negative')
                ui.label(f'{item.procedure} · {item.room}').classes('text-caption')
                with ui.row().classes('w-full items-center'):
                    ui.badge(t(item.state), color=colour).mark(f'state-{item.accession_number}')
                    ui.label(minutes_in_state(item, now)).classes('text-caption text-grey-8').mark(
                        f'since-{item.accession_number}'
                    )
                moves = appointments.allowed_moves(item.state, actor)
                if moves:
                    with ui.row().classes('gap-1'):
                        for target in moves:
                            label = (
                                'Back to waiting'
                                if target == 'waiting' and item.state == 'in-room'
                                else 'Back to the room'
                                if target == 'in-room' and item.state == 'in-scan'
                                else MOVE_LABELS.get(target, target)
                            )
                            ui.button(t(label), on_click=lambda i=item, s=target: move(i, s)).props(
                                'dense no-caps size=sm outline'
                            ).mark(f'move-{item.accession_number}-{target}')

        async def move(item: appointments.Card, state: str) -> None:
            await perform(appointments.move, item.id, state, by=actor)
            await board.refresh()

        with ui.row().classes('w-full items-center'):
            ui.label(appointments.today().strftime('%A %Y-%m-%d')).classes('text-h6')
            ui.space()
            ui.link(t('Open the waiting-room kiosk'), '/kiosk').classes('text-caption')
        await board()
        live.on(events.AppointmentChanged).subscribe(board.refresh)
        live.on(events.PatientChanged).subscribe(board.refresh)
        ui.timer(TICK_S, board.refresh)


def minutes_in_state(item: Any, now: datetime) -> str:
    """How long a card has been in its state, as staff read it ('12 min', '2 h 5 min')."""
    minutes = max(0, int((now - item.state_changed_at).total_seconds() // 60))
    if minutes < 60:
        return t('{n} min', n=minutes)
    return t('{h} h {m} min', h=minutes // 60, m=minutes % 60)
