"""The clinic's live status board: every appointment of the day in its column, colour-coded, with the time in
its current state; staff move cards as their role allows, and every open browser sees each change at once."""

from dataclasses import dataclass
from datetime import datetime
from html import escape

from nicegui import ui

from domain import appointments, clock, events
from domain.access import Actor
from domain.errors import N_, DomainError

from . import live
from .html_actions import button_html, listen, row_id
from .i18n import format_day, format_time, t, tn
from .live_lists import Debounce, SharedRead
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
COLUMN_CARDS = 12  # cards a column draws before its "Show all" (two tablet screens of them)


def register() -> None:
    nav('/board', 'Status board', 'view_kanban', order=15)

    @screen('/board', title='Status board')
    async def board_page() -> None:
        await StatusBoard(current_actor()).build()


@dataclass
class Shown:
    """A card on this board: what it showed when drawn, its element (the whole card, one element) and its minutes."""

    card: appointments.Card
    element: ui.html
    minutes: int


class StatusBoard:
    """Today's appointments in one column per state; a change redraws only the cards it touched.

    A card is one element, its move buttons HTML in it (ui/html_actions.py): one listener per column sends the move
    clicked. A busy day's board draws some 80 cards on every page view, and NiceGUI elements are what a page view
    costs the server (four per card were half of the board's CPU, bench/uiload.py --page-cpu).
    """

    def __init__(self, actor: Actor) -> None:
        self.actor, self.day = actor, appointments.today()
        self.shown: dict[int, Shown] = {}
        self.columns: dict[str, tuple[ui.html, ui.column]] = {}
        self.more: dict[str, ui.button] = {}  # a column's "Show all" below its first COLUMN_CARDS cards
        self.expanded: set[str] = set()  # columns whose every card is drawn
        self.totals: dict[str, int] = {}  # cards per container, drawn or not
        self.closed: ui.expansion | None = None
        self.closed_row: ui.row | None = None
        self.update_soon = Debounce(self.update)

    async def build(self) -> None:
        with ui.row().classes('w-full items-center'):
            self.day_label = ui.label(format_day(self.day)).classes('text-h6').mark('board-day')
            ui.space()
            ui.link(t('Open the waiting-room kiosk'), '/kiosk').classes('text-caption')
        self.area = ui.column().classes('w-full gap-3')
        cards = await perform(appointments.day, self.day, by=self.actor)
        self.draw(cards if cards is not FAILED else [])
        live.on(events.AppointmentChanged).subscribe(self.on_appointment)
        live.on(events.PatientChanged).subscribe(self.on_patient)
        ui.timer(TICK_S, self.tick, immediate=False)

    def draw(self, cards: list[appointments.Card]) -> None:
        """The whole board, from nothing (first build, and a new day)."""
        self.area.clear()
        self.shown, self.columns, self.more, self.closed, self.closed_row = {}, {}, {}, None, None
        now = clock.now()
        with self.area, ui.row().classes('w-full gap-3 items-start no-wrap overflow-auto'):
            for state in appointments.BOARD_ORDER:
                self.column(state)
        for item in self.visible(cards):
            self.place(item, now)
        for state in appointments.BOARD_ORDER:
            self.show_all_button(state)
        self.count()

    async def update(self) -> None:
        """Redraw only the cards that differ from what the database holds now."""
        if appointments.today() != self.day:
            self.day = appointments.today()
            self.day_label.set_text(format_day(self.day))
            cards = await perform(appointments.day, self.day, by=self.actor)
            self.draw(cards if cards is not FAILED else [])
            return
        try:
            cards = await SHARED_DAY.read(self.day, by=self.actor)
        except DomainError:
            return
        self.apply(cards)

    def column(self, state: str) -> None:
        colour = STATE_COLOURS[state]
        with (
            ui.column()
            .classes(f'min-w-[13rem] w-56 gap-2 q-pa-sm rounded-borders bg-{colour}-1')
            .mark(f'column-{state}') as column
        ):
            heading = ui.html(column_heading(state, 0), sanitize=False).classes('w-full')
        listen(column, {'move': self.move_pressed})
        self.columns[state] = (heading, column)

    def show_all_button(self, state: str) -> None:
        """A column's "Show all", after its cards (a card placed later goes to its index among them, above it)."""
        with self.columns[state][1]:
            self.more[state] = (
                ui.button(on_click=lambda: self.expand(state))
                .props('flat dense no-caps size=sm')
                .classes('w-full')
                .mark(f'more-{state}')
            )

    def visible(self, cards: list[appointments.Card]) -> list[appointments.Card]:
        """The cards drawn: the first COLUMN_CARDS of each column in time order, all of an expanded one (a busy
        day's board would otherwise build hundreds of cards on every page view, most of them below the fold)."""
        seen: dict[str, int] = {}
        drawn = []
        for item in cards:
            container = _container_of(item)
            seen[container] = seen.get(container, 0) + 1
            if container == CLOSED or container in self.expanded or seen[container] <= COLUMN_CARDS:
                drawn.append(item)
        self.totals = seen
        return drawn

    async def expand(self, state: str) -> None:
        """Draw every card of a column (its "Show all")."""
        self.expanded.add(state)
        cards = await perform(appointments.day, self.day, by=self.actor)  # its own read, as a page build's
        if cards is not FAILED:
            self.apply(cards)

    def place(self, item: appointments.Card, now: datetime, position: list[int] | None = None) -> None:
        """Draw a card in its column (or among the closed ones), at its place in time order."""
        if _container_of(item) == CLOSED:
            if self.closed is None:
                with self.area:
                    self.closed = ui.expansion().classes('w-full')
                    with self.closed:
                        self.closed_row = listen(ui.row().classes('gap-2'), {'move': self.move_pressed})
            container: ui.element = self.closed_row  # type: ignore[assignment]
        else:
            container = self.columns[item.state][1]
        with container:
            self.shown[item.id] = self.card(item, now)
        element = self.shown[item.id].element
        if position is not None:
            offset = 1 if container is not self.closed_row else 0  # a column's first child is its title row
            element.move(target_index=offset + position.index(item.id))

    def count(self) -> None:
        for state, (heading, _) in self.columns.items():
            total = self.totals.get(state, 0)
            heading.set_content(column_heading(state, total))
            hidden = total - sum(1 for s in self.shown.values() if s.card.state == state)
            self.more[state].set_text(tn('Show all ({count})', 'Show all ({count})', total))
            self.more[state].set_visibility(hidden > 0)
        closed = self.totals.get(CLOSED, 0)
        if self.closed is not None:
            self.closed.set_text(tn('Cancelled and no-show ({count})', 'Cancelled and no-show ({count})', closed))
            self.closed.set_visibility(closed > 0)

    def card(self, item: appointments.Card, now: datetime) -> Shown:
        """A card: its summary and its move buttons, one element (a busy board draws a hundred cards per page view)."""
        colour = STATE_COLOURS.get(item.state, 'grey')
        minutes = appointments.minutes_in_state(item, now)
        element = (
            ui.html(self.card_html(item, minutes), sanitize=False)
            .classes(f'q-card w-full q-pa-sm border-l-4 border-{colour}')
            .style(f'border-left: 5px solid var(--q-{"negative" if item.urgent else "primary"})')
            .mark(
                f'card-{item.accession_number} heading-{item.accession_number} state-{item.accession_number} '
                f'since-{item.accession_number}'
            )
        )
        return Shown(item, element, minutes)

    def card_html(self, item: appointments.Card, minutes: int) -> str:
        """The summary, then the moves this user may make, in a row that wraps below it."""
        buttons = ''.join(
            button_html(
                t((BACK_LABELS if appointments.is_step_back(item.state, target) else MOVE_LABELS).get(target, target)),
                'move',
                item.id,
                target,
                mark=f'move-{item.accession_number}-{target}',
            )
            for target in appointments.allowed_moves(item.state, self.actor)
        )
        moves = f'<div class="row gap-1 q-mt-xs">{buttons}</div>' if buttons else ''
        return card_summary(item, minutes) + moves

    async def move_pressed(self, appointment_id: str, state: str) -> None:
        """A move button of a card on this board (the service checks the move and who makes it)."""
        shown = self.shown.get(row_id(appointment_id) or 0)
        if shown is None:  # a card no longer drawn here (or not an id at all): nothing to move
            return
        await self.move(shown.card, state)

    async def move(self, item: appointments.Card, state: str) -> None:
        await perform(appointments.move, item.id, state, by=self.actor)
        cards = await perform(appointments.day, self.day, by=self.actor)  # this desk sees its own move at once
        if cards is not FAILED:
            self.apply(cards)

    def apply(self, cards: list[appointments.Card]) -> None:
        """Delete the cards that left, redraw the ones that changed, each at its place; the rest stay as they are."""
        now = clock.now()
        drawn = self.visible(cards)
        current = {item.id for item in drawn}
        for gone in [i for i in self.shown if i not in current]:
            self.shown.pop(gone).element.delete()
        for item in drawn:
            shown = self.shown.get(item.id)
            if shown is not None and shown.card == item:
                continue
            if shown is not None:
                shown.element.delete()
            self.place(item, now, position=[c.id for c in drawn if _container_of(c) == _container_of(item)])
        self.count()

    async def on_appointment(self, event: events.AppointmentChanged) -> None:
        SHARED_DAY.changed(event)
        await self.update_soon()

    async def on_patient(self, event: events.PatientChanged) -> None:
        SHARED_DAY.changed(event)
        if any(s.card.patient_id == event.patient_id for s in self.shown.values()):  # a name on this board
            await self.update_soon()

    async def tick(self) -> None:
        """Every half minute: the times in state move on; a new day draws the new day's board."""
        if appointments.today() != self.day:
            await self.update()
            return
        now = clock.now()
        for shown in self.shown.values():
            minutes = appointments.minutes_in_state(shown.card, now)
            if shown.minutes != minutes:
                shown.minutes = minutes
                shown.element.set_content(self.card_html(shown.card, minutes))


SHARED_DAY: SharedRead[list[appointments.Card]] = SharedRead(appointments.day)
CLOSED = 'closed'


def _container_of(item: appointments.Card) -> str:
    return CLOSED if item.state in (appointments.CANCELLED, appointments.NO_SHOW) else item.state


def column_heading(state: str, total: int) -> str:
    """A column's title and how many cards it holds (drawn or not)."""
    colour = STATE_COLOURS[state]
    return (
        f'<div class="row items-center no-wrap"><span class="text-subtitle1 text-{colour}-10">'
        f'{escape(t(COLUMN_TITLES[state]))}</span><span class="col"></span>'
        f'<span class="q-badge flex inline items-center no-wrap q-badge--single-line bg-{colour} text-white">'
        f'{total}</span></div>'
    )


def minutes_text(minutes: int) -> str:
    """A time spent as staff read it ('12 min', '2 h 5 min')."""
    if minutes < 60:
        return t('{n} min', n=minutes)
    return t('{h} h {m} min', h=minutes // 60, m=minutes % 60)


def card_heading(item: appointments.Card, *, with_caption: bool = False) -> None:
    """An appointment's first line on the day's schedule: time, patient (a link), urgency; one element."""
    ui.html(heading_html(item, with_caption=with_caption), sanitize=False).classes('w-full').mark(
        f'heading-{item.accession_number}'
    )


def card_summary(item: appointments.Card, minutes: int) -> str:
    """A board card's text: its heading, procedure and room, then its state and the time spent in it."""
    colour = STATE_COLOURS.get(item.state, 'grey')
    return (
        heading_html(item, with_caption=True)
        + '<div class="row items-center gap-2 q-mt-xs">'
        + f'<span class="q-badge flex inline items-center no-wrap q-badge--single-line bg-{colour} text-white">'
        + f'{escape(t(item.state))}</span>'
        + f'<span class="text-caption text-grey-8">{escape(minutes_text(minutes))}</span></div>'
    )


def short_id_html(code: str) -> str:
    """A short study ID as every screen shows it: fixed-width letters, easy to read out."""
    return f'<span class="short-id font-mono">{escape(code)}</span>'


def heading_html(item: appointments.Card, *, with_caption: bool) -> str:
    """Time, patient (a link) and urgency, with the procedure and room below if asked."""
    time = escape(format_time(item.scheduled_at, zone=appointments.local_zone()))
    urgent = (
        f' <span class="q-badge flex inline items-center no-wrap q-badge--single-line bg-negative text-white">'
        f'{escape(t("urgent"))}</span>'
        if item.urgent
        else ''
    )
    parts = [escape(item.procedure), escape(item.room)] + ([short_id_html(item.short_id)] if item.short_id else [])
    caption = f'<div class="text-caption">{" · ".join(parts)}</div>' if with_caption else ''
    return (
        f'<div class="row items-center gap-1"><span class="text-weight-bold">{time}</span> '
        f'<a class="nicegui-link text-body2" href="/patients/{item.patient_id}">{escape(item.patient_name)}</a>'
        f'{urgent}</div>{caption}'
    )
