"""The radiologists' reading worklist: ready studies, urgent first then oldest, with the turnaround turning
amber and red past the admin's thresholds; claim, assign, mark urgent, open in the viewer or report."""

from html import escape

from nicegui import ui

from domain import access, appointments, events, reading
from domain.access import Actor, Permission

from . import live
from .i18n import format_datetime, t, tn
from .live_lists import Debounce
from .patients import parse_date
from .shell import FAILED, current_actor, nav, perform, screen

LEVEL_COLOURS = {'': 'text-grey-8', 'amber': 'text-amber-9 text-weight-bold', 'red': 'text-negative text-weight-bold'}
PAGE_SIZE = 30  # rows drawn at first; 'Show more' adds as many
MODALITIES = ['', 'CT', 'MR', 'US', 'CR', 'DX', 'MG', 'XA', 'NM', 'PT', 'OT']
# On a tablet (below 900 px) the modality and arrival columns give way, so the row's buttons stay on screen.
GRID_CSS = """
.reading-grid { grid-template-columns: 2rem 1.6fr 5rem 1.4fr 6rem 7rem 1.2fr auto; }
@media (max-width: 900px) {
  .reading-grid { grid-template-columns: 2rem 1.6fr 1.4fr 5rem 1fr auto; }
  .reading-grid .wide-only { display: none; }
}
"""


def register() -> None:
    nav('/reading', 'Reading worklist', 'assignment', order=30)

    @screen('/reading', title='Reading worklist')
    async def reading_page() -> None:
        await ReadingWorklist(current_actor()).build()


class ReadingWorklist:
    """Ready studies to read with their filters; claim, assign and flag urgent refresh the list."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.may_claim = access.may(actor, Permission.CLAIM_STUDIES)
        self.may_assign = access.may(actor, Permission.ASSIGN_STUDIES)
        self.doctors: dict[int, str] = {}
        self.limit = PAGE_SIZE

    async def build(self) -> None:
        ui.add_css(GRID_CSS)
        if self.may_assign:
            found = await perform(reading.radiologists, by=self.actor)
            self.doctors = {} if found is FAILED else dict(found)
        self.filters()
        with ui.card().classes('w-full'):
            await self.rows()
        refresh_soon = Debounce(self.rows.refresh)  # a burst of arrivals or draft saves is one redraw
        for kind in (events.StudyReady, events.StudyUpdated, events.ReportFinalised, events.ReportChanged):
            live.on(kind).subscribe(refresh_soon)
        ui.timer(60.0, self.rows.refresh, immediate=False)  # the list was just drawn: not a second time at once

    def filters(self) -> None:
        with ui.row().classes('items-end gap-4'):
            self.modality = (
                ui.select(MODALITIES, label=t('Modality'), value='', on_change=self.filtered)
                .classes('w-28')
                .mark('reading-modality')
            )
            self.on = (
                ui.input(t('Study date'), on_change=self.filtered).props('type=date clearable').mark('reading-date')
            )
            self.who = ui.toggle(
                {'': t('All'), reading.MINE: t('Mine'), reading.UNASSIGNED: t('Unassigned')},
                value='',
                on_change=self.filtered,
            ).mark('reading-who')

    async def filtered(self) -> None:
        """Another filter: its first page."""
        self.limit = PAGE_SIZE
        await self.rows.refresh()

    async def show_more(self) -> None:
        self.limit += PAGE_SIZE
        await self.rows.refresh()

    @ui.refreshable_method
    async def rows(self) -> None:
        found = await perform(
            reading.worklist,
            by=self.actor,
            modality=self.modality.value or '',
            on=parse_date(self.on.value),
            who=self.who.value or '',
            limit=self.limit + 1,
        )
        if found is FAILED:
            return
        if not found:
            ui.label(t('Nothing waits to be read')).classes('text-grey-7').mark('nothing-to-read')
            return
        with ui.grid().classes('reading-grid w-full items-center gap-x-3 gap-y-1'):
            headings = (
                ('', False),
                (t('Patient'), False),
                (t('Modality'), True),
                (t('Study'), False),
                (t('Arrived'), True),
                (t('Waiting'), False),
                (t('Reader'), False),
                ('', False),
            )
            ui.html(
                ''.join(
                    f'<div class="text-caption text-grey-7{" wide-only" if wide_only else ""}">{escape(heading)}</div>'
                    for heading, wide_only in headings
                ),
                sanitize=False,
            ).style('display: contents')
            for row in found[: self.limit]:
                self.row(row)
        if len(found) > self.limit:
            ui.button(t('Show more'), icon='expand_more', on_click=self.show_more).props('flat no-caps').mark(
                'reading-more'
            )

    def row(self, row: reading.ReadingRow) -> None:
        # The six cells that only show text are one element (its box does not count in the grid): a worklist draws
        # dozens of rows on every page view.
        urgent = ('priority_high', 'text-negative') if row.urgent else ('remove', 'text-grey-4')
        arrived = format_datetime(row.arrived_at, zone=appointments.local_zone())
        ui.html(
            f'<i class="q-icon notranslate material-icons {urgent[1]}" aria-hidden="true">{urgent[0]}</i>'
            f'<div><div class="text-weight-medium">{escape(row.patient_name)}</div>'
            f'<div class="text-caption">{escape(row.patient_id)} · {escape(row.accession_number)}</div></div>'
            f'<div class="wide-only">{escape(row.modalities)}</div>'
            f'<div>{escape(row.description or "—")}</div>'
            f'<div class="wide-only">{escape(arrived)}</div>'
            f'<div class="{LEVEL_COLOURS[row.level]}">{escape(_waited(row.waited_minutes))}</div>',
            sanitize=False,
        ).style('display: contents').mark(f'reading-row urgent-{row.study_id} waited-{row.level or "ok"}')
        if self.may_assign:
            ui.select(
                self.doctors, value=row.assigned_to_id, on_change=lambda e: self.assign(row.study_id, e.value)
            ).props('dense clearable').classes('w-full').mark(f'assign-{row.study_id}')
        else:
            ui.label(row.assigned_to or t('unassigned'))
        with ui.row().classes('gap-1 no-wrap'):
            if self.may_claim and row.assigned_to_id is None:
                ui.button(t('Claim'), on_click=lambda: self.claim(row.study_id)).props('dense no-caps').mark(
                    f'claim-{row.study_id}'
                )
            # Links, not round trips; the browser's own tooltip (a Quasar tooltip is one more element per button)
            _link_button('visibility', t('Open in viewer'), f'/viewer/{row.study_id}').mark(f'view-{row.study_id}')
            _link_button('edit_note', t('Report'), f'/studies/{row.study_id}/report').mark(f'report-{row.study_id}')
            flag = ui.button(icon='flag', on_click=lambda: self.urgent(row.study_id, not row.urgent))
            flag.props('flat dense').mark(f'flag-{row.study_id}')
            flag.props['title'] = flag.props['aria-label'] = t('Urgent')

    async def claim(self, study_id: int) -> None:
        await perform(reading.claim, study_id, by=self.actor, success=t('Claimed'))
        await self.rows.refresh()

    async def assign(self, study_id: int, user_id: int | None) -> None:
        if user_id is None:
            await perform(reading.release, study_id, by=self.actor)
        else:
            await perform(reading.assign, study_id, user_id, by=self.actor, success=t('Assigned'))
        await self.rows.refresh()

    async def urgent(self, study_id: int, value: bool) -> None:
        await perform(reading.set_urgent, study_id, value, by=self.actor)
        await self.rows.refresh()


def _link_button(icon: str, label: str, href: str) -> ui.button:
    button = ui.button(icon=icon).props(f'flat dense href={href}')
    button.props['title'] = button.props['aria-label'] = label
    return button


def _waited(minutes: int) -> str:
    if minutes < 60:
        return t('{n} min', n=minutes)
    if minutes < 48 * 60:
        return t('{h} h {m} min', h=minutes // 60, m=minutes % 60)
    return tn('{count} day', '{count} days', minutes // (24 * 60))
