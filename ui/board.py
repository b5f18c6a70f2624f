"""The clinic's live status board: every appointment of the day in its column, colour-coded, with the time in
its current state; staff move cards as their role allows, and every open browser sees each change at once."""

from dataclasses import dataclass
from functools import lru_cache
from html import escape

from nicegui import ui

from domain import appointments, clock, events
from domain.access import Actor
from domain.errors import N_, DomainError

from . import live
from .html_actions import Handler, button_html, listen, row_id
from .i18n import current_language, format_day, format_time, t, tn
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
CARD_MARKUPS = 4096  # cards' HTML kept for every board to reuse: a busy day's cards in each state, language, role


def register() -> None:
    nav('/board', 'Status board', 'view_kanban', order=15)

    @screen('/board', title='Status board')
    async def board_page() -> None:
        await StatusBoard(current_actor()).build()


@dataclass
class Shown:
    """A card on this board: what it showed when drawn and its minutes in state."""

    card: appointments.Card
    minutes: int


class StatusBoard:
    """Today's appointments in one column per state; a change redraws only the columns it touched.

    A column (its heading, cards and "Show all") is one element, its buttons HTML in it (ui/html_actions.py): one
    listener per column sends the button clicked. A busy day's board draws some 80 cards on every page view, and
    NiceGUI elements are what a page view costs the server, in CPU and in what the garbage collector walks while the
    page is open (a card an element was 40 % of the web process's elements with 100 staff, bench/uiload.py).
    """

    def __init__(self, actor: Actor) -> None:
        self.actor, self.day = actor, appointments.today()
        self.shown: dict[int, Shown] = {}
        self.order: dict[str, list[int]] = {}  # the cards drawn in each container (column or closed), in time order
        self.bodies: dict[str, ui.html] = {}  # each container, one element
        self.drawn: dict[str, str] = {}  # the HTML each container shows
        self.expanded: set[str] = set()  # columns whose every card is drawn
        self.totals: dict[str, int] = {}  # cards per container, drawn or not
        self.closed: ui.expansion | None = None
        self.moves: dict[str, tuple[str, ...]] = {}  # the moves this user may make from each state
        self.language = current_language()
        self.update_soon = Debounce(self.update)

    async def build(self) -> None:
        self.heading = ui.html(self.heading_html(), sanitize=False).classes('w-full').mark('board-day')
        self.area = ui.column().classes('w-full gap-3')
        cards = await perform(appointments.day, self.day, by=self.actor)
        self.draw(cards if cards is not FAILED else [])
        live.on(events.AppointmentChanged).subscribe(self.on_appointment)
        live.on(events.PatientChanged).subscribe(self.on_patient)
        ui.timer(TICK_S, self.tick, immediate=False)

    def heading_html(self) -> str:
        """The day shown, and the way to the waiting-room kiosk."""
        return (
            f'<div class="row items-center no-wrap"><div class="text-h6">{escape(format_day(self.day))}</div>'
            '<div class="col"></div>'
            f'<a class="nicegui-link text-caption" href="/kiosk">{escape(t("Open the waiting-room kiosk"))}</a></div>'
        )

    def draw(self, cards: list[appointments.Card]) -> None:
        """The whole board, from nothing (first build, and a new day)."""
        self.area.clear()
        self.shown, self.order, self.bodies, self.drawn, self.closed = {}, {}, {}, {}, None
        handlers: dict[str, Handler] = {'move': self.move_pressed, 'expand': self.expand_pressed}
        with self.area:
            with ui.row().classes('w-full gap-3 items-start no-wrap overflow-auto'):
                for state in appointments.BOARD_ORDER:
                    colour = STATE_COLOURS[state]
                    self.bodies[state] = listen(
                        ui.html('', sanitize=False).classes(
                            f'column no-wrap min-w-[13rem] w-56 gap-2 q-pa-sm rounded-borders bg-{colour}-1'
                        ),
                        handlers,
                    )
            self.closed = ui.expansion().classes('w-full')
            with self.closed:
                self.bodies[CLOSED] = listen(ui.html('', sanitize=False).classes('row gap-2 w-full'), handlers)
        self.apply(cards)

    async def update(self) -> None:
        """Redraw only the columns whose cards differ from what the database holds now."""
        if appointments.today() != self.day:
            self.day = appointments.today()
            self.heading.set_content(self.heading_html())
            cards = await perform(appointments.day, self.day, by=self.actor)
            self.draw(cards if cards is not FAILED else [])
            return
        try:
            cards = await SHARED_DAY.read(self.day, by=self.actor)
        except DomainError:
            return
        self.apply(cards)

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

    async def expand_pressed(self, state: str, _: str) -> None:
        """A column's "Show all": draw every card of it."""
        if state in COLUMN_TITLES:
            self.expanded.add(state)
            cards = await perform(appointments.day, self.day, by=self.actor)  # its own read, as a page build's
            if cards is not FAILED:
                self.apply(cards)

    def apply(self, cards: list[appointments.Card]) -> None:
        """Redraw the containers whose cards (their order, their count) changed; the others stay as they are."""
        now = clock.now()
        order: dict[str, list[int]] = {container: [] for container in self.bodies}
        shown: dict[int, Shown] = {}
        for item in self.visible(cards):
            order[_container_of(item)].append(item.id)
            drawn = self.shown.get(item.id)
            if drawn is None or drawn.card != item:  # new or changed: its minutes in state anew
                drawn = Shown(item, appointments.minutes_in_state(item, now))
            shown[item.id] = drawn
        self.shown, self.order = shown, order
        for container in order:
            self.render(container)
        closed = self.totals.get(CLOSED, 0)
        if self.closed is not None:
            self.closed.set_text(tn('Cancelled and no-show ({count})', 'Cancelled and no-show ({count})', closed))
            self.closed.set_visibility(closed > 0)

    def render(self, container: str) -> None:
        """Draw a container anew if what it shows changed, one element; its markers name the column and each card it
        holds (tests find them)."""
        cards = [self.shown[i] for i in self.order.get(container, [])]
        content = ''.join(self.card(shown) for shown in cards)
        marks = [f'card-{a} heading-{a} state-{a} since-{a}' for a in (shown.card.accession_number for shown in cards)]
        if container != CLOSED:
            total = self.totals.get(container, 0)
            more = ''
            if total > len(cards):
                label = tn('Show all ({count})', 'Show all ({count})', total)
                button = button_html(label, 'expand', container, mark=f'more-{container}')
                more = f'<div class="row justify-center">{button}</div>'
            content = column_heading(container, total) + content + more
            marks.insert(0, f'column-{container}')
        if self.drawn.get(container) == content:
            return
        self.drawn[container] = content
        self.bodies[container].set_content(content)
        self.bodies[container].mark(' '.join(marks))

    def card(self, shown: Shown) -> str:
        """A card's HTML, the same for every board showing it to a user with the same moves in the same language:
        drawn once and reused (every page view of the board draws some 80 cards, mostly unchanged since the last)."""
        state = shown.card.state
        if state not in self.moves:
            self.moves[state] = tuple(appointments.allowed_moves(state, self.actor))
        return card_markup(shown.card, shown.minutes, self.moves[state], self.language)

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
        moved_on: set[str] = set()
        for shown in self.shown.values():
            minutes = appointments.minutes_in_state(shown.card, now)
            if shown.minutes != minutes:
                shown.minutes = minutes
                moved_on.add(_container_of(shown.card))
        for container in moved_on:
            self.render(container)


SHARED_DAY: SharedRead[list[appointments.Card]] = SharedRead(appointments.day)
CLOSED = 'closed'


@lru_cache(maxsize=CARD_MARKUPS)
def card_markup(item: appointments.Card, minutes: int, moves: tuple[str, ...], language: str) -> str:
    """A card's HTML: its summary and its move buttons (`moves`, the states this user may move it to) in a frame
    coloured by its state and urgency."""
    colour = STATE_COLOURS.get(item.state, 'grey')
    edge = 'negative' if item.urgent else 'primary'
    buttons = ''.join(
        button_html(
            t(
                (BACK_LABELS if appointments.is_step_back(item.state, target) else MOVE_LABELS).get(target, target),
                language=language,
            ),
            'move',
            item.id,
            target,
            mark=f'move-{item.accession_number}-{target}',
        )
        for target in moves
    )
    moves_row = f'<div class="row gap-1 q-mt-xs">{buttons}</div>' if buttons else ''
    return (
        f'<div class="q-card w-full q-pa-sm border-l-4 border-{colour}" '
        f'style="border-left: 5px solid var(--q-{edge})" data-card="{escape(item.accession_number)}">'
        f'{card_summary(item, minutes, language=language)}{moves_row}</div>'
    )


def _container_of(item: appointments.Card) -> str:
    return CLOSED if item.state in (appointments.CANCELLED, appointments.NO_SHOW) else item.state


def column_heading(state: str, total: int) -> str:
    """A column's title and how many cards it holds (drawn or not)."""
    colour = STATE_COLOURS[state]
    return (
        f'<div class="row items-center no-wrap"><span class="text-subtitle1 text-{colour}-10">'
        f'{escape(t(COLUMN_TITLES[state]))}</span><span class="col"></span>'
        f'{badge_html(str(total), colour)}</div>'
    )


def minutes_text(minutes: int, *, language: str | None = None) -> str:
    """A time spent as staff read it ('12 min', '2 h 5 min')."""
    if minutes < 60:
        return t('{n} min', language=language, n=minutes)
    return t('{h} h {m} min', language=language, h=minutes // 60, m=minutes % 60)


def card_heading(item: appointments.Card, *, with_caption: bool = False) -> None:
    """An appointment's first line on the day's schedule: time, patient (a link), urgency; one element."""
    ui.html(heading_html(item, with_caption=with_caption), sanitize=False).classes('w-full').mark(
        f'heading-{item.accession_number}'
    )


def card_summary(item: appointments.Card, minutes: int, *, language: str | None = None) -> str:
    """A board card's text: its heading, procedure and room, then its state and the time spent in it."""
    colour = STATE_COLOURS.get(item.state, 'grey')
    return (
        heading_html(item, with_caption=True, language=language)
        + '<div class="row items-center gap-2 q-mt-xs">'
        + badge_html(t(item.state, language=language), colour)
        + f'<span class="text-caption text-grey-8">{escape(minutes_text(minutes, language=language))}</span></div>'
    )


def badge_html(text: str, colour: str, *, outline: bool = False) -> str:
    """Quasar's badge as markup (a q-badge's look without an element of its own): filled, or outlined."""
    look = f'q-badge--outline text-{colour}' if outline else f'bg-{colour} text-white'
    return f'<span class="q-badge flex inline items-center no-wrap q-badge--single-line {look}">{escape(text)}</span>'


def short_id_html(code: str) -> str:
    """A short study ID as every screen shows it: fixed-width letters, easy to read out."""
    return f'<span class="short-id font-mono">{escape(code)}</span>'


def heading_html(item: appointments.Card, *, with_caption: bool, language: str | None = None) -> str:
    """Time, patient (a link) and urgency, with the procedure and room below if asked."""
    time = escape(format_time(item.scheduled_at, zone=appointments.local_zone(), language=language))
    urgent = ' ' + badge_html(t('urgent', language=language), 'negative') if item.urgent else ''
    parts = [escape(item.procedure), escape(item.room)] + ([short_id_html(item.short_id)] if item.short_id else [])
    caption = f'<div class="text-caption">{" · ".join(parts)}</div>' if with_caption else ''
    return (
        f'<div class="row items-center gap-1"><span class="text-weight-bold">{time}</span> '
        f'<a class="nicegui-link text-body2" href="/patients/{item.patient_id}">{escape(item.patient_name)}</a>'
        f'{urgent}</div>{caption}'
    )
