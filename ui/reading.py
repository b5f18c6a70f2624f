"""The radiologists' reading worklist: ready studies, urgent first then oldest, with the turnaround turning
amber and red past the admin's thresholds; claim, assign, mark urgent, open in the viewer or report."""

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from html import escape

from nicegui import ui

from domain import access, appointments, events, reading
from domain.access import Actor, Permission

from . import live
from .board import short_id_html
from .html_actions import Handler, action_attributes, action_html, row_id
from .i18n import current_language, format_datetime, t, tn
from .live_lists import Debounce
from .patients import parse_date
from .shell import FAILED, add_css_once, current_actor, nav, perform, screen

LEVEL_COLOURS = {'': 'text-grey-8', 'amber': 'text-amber-9 text-weight-bold', 'red': 'text-negative text-weight-bold'}
PAGE_SIZE = 30  # rows drawn at first; 'Show more' adds as many
MODALITIES = ['', 'CT', 'MR', 'US', 'CR', 'DX', 'MG', 'XA', 'NM', 'PT', 'OT']
# On a tablet (below 900 px) the modality and arrival columns give way, so the row's buttons stay on screen. The
# rows' buttons and links look like dense Quasar buttons (flat; Claim filled, Assign… outlined) from
# these few classes: Quasar's own class lists would double the HTML of every row.
GRID_CSS = """
.reading-grid { grid-template-columns: 2rem 1.6fr 5rem 1.4fr 6rem 7rem 1.2fr auto; }
.reading-grid .rw-row { display: contents; }
@media (max-width: 900px) {
  .reading-grid { grid-template-columns: 2rem 1.6fr 1.4fr 5rem 1fr auto; }
  .reading-grid .wide-only { display: none; }
}
.reading-grid .rw-btn {
  display: inline-flex; align-items: center; justify-content: center; min-height: 2em; padding: 0.285em;
  border: 0; border-radius: 4px; background: none; color: var(--q-primary); font: inherit; font-size: 14px;
  font-weight: 500; line-height: 1.715em; text-decoration: none; cursor: pointer; user-select: none;
}
.reading-grid .rw-btn:hover { background: rgba(0, 0, 0, 0.08); }
.reading-grid .rw-btn:focus-visible { outline: 2px solid var(--q-primary); outline-offset: 1px; }
.reading-grid .rw-btn > i { font-size: 1.715em; line-height: 1; }
.reading-grid .rw-btn[aria-pressed='true'] { color: var(--q-negative); }
.reading-grid .rw-claim {
  padding: 0.285em 0.6em; background: var(--q-primary); color: #fff;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.2), 0 2px 2px rgba(0, 0, 0, 0.14), 0 3px 1px -2px rgba(0, 0, 0, 0.12);
}
.reading-grid .rw-claim:hover { background: var(--q-primary); filter: brightness(1.1); }
.reading-grid .rw-assign { padding: 0 0.5em; border: 1px solid currentColor; font-size: 0.75rem; }
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
        self.readers: dict[int, int | None] = {}  # study id -> who reads it, as the list shows it
        self.limit = PAGE_SIZE
        self.dialog: ui.dialog | None = None  # the one assign dialog, built when first needed
        self.study_id = 0  # the study the assign dialog is for

    async def build(self) -> None:
        add_css_once(GRID_CSS)
        self.filters()
        with ui.card().classes('w-full') as self.card:
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
        shown = found[: self.limit]
        self.readers = {row.study_id: row.assigned_to_id for row in shown}
        # The whole list, buttons and links included, is one element: a worklist draws dozens of rows on every page
        # view, and each NiceGUI element costs the server far more than its HTML (ui/html_actions.py). The buttons
        # are short HTML styled by GRID_CSS: the list's HTML is escaped once more and sent on every view.
        language = current_language()
        headings = ''.join(
            f'<div class="text-caption text-grey-7{" wide-only" if wide_only else ""}">{escape(heading)}</div>'
            for heading, wide_only in (
                ('', False),
                (t('Patient', language), False),
                (t('Modality', language), True),
                (t('Study', language), False),
                (t('Arrived', language), True),
                (t('Waiting', language), False),
                (t('Reader', language), False),
                ('', False),
            )
        )
        texts = _RowTexts(
            unassigned=escape(t('unassigned', language)),
            assign=escape(t('Assign…', language)),
            claim=escape(t('Claim', language)),
            viewer=escape(t('Open in viewer', language)),
            report=escape(t('Report', language)),
            urgent=escape(t('Urgent', language)),
            language=language,
            zone=appointments.local_zone(),
        )
        handlers: dict[str, Handler] = {'claim': self.on_claim, 'assign': self.on_assign, 'flag': self.on_flag}
        action_html(headings + ''.join(self.row(row, texts) for row in shown), handlers).classes(
            'reading-grid w-full items-center gap-x-3 gap-y-1'
        ).style('display: grid').mark('reading-list')
        if len(found) > self.limit:
            ui.button(t('Show more'), icon='expand_more', on_click=self.show_more).props('flat no-caps').mark(
                'reading-more'
            )

    def row(self, row: reading.ReadingRow, texts: '_RowTexts') -> str:
        """One study's eight grid cells as HTML, every value escaped."""
        sid = row.study_id
        urgent = ('priority_high', 'text-negative') if row.urgent else ('remove', 'text-grey-4')
        reader = f'<span>{escape(row.assigned_to) if row.assigned_to else texts.unassigned}</span>'
        if self.may_assign:
            press = action_attributes('assign', sid, mark=f'assign-{sid}')
            reader += f'<button type="button" class="rw-btn rw-assign" {press}>{texts.assign}</button>'
        claim = ''
        if self.may_claim and row.assigned_to_id is None:
            press = action_attributes('claim', sid, mark=f'claim-{sid}')
            claim = f'<button type="button" class="rw-btn rw-claim" {press}>{texts.claim}</button>'
        # Links, not round trips; the browser's own tooltip (a Quasar tooltip is one more element per button)
        pressed = 'true' if row.urgent else 'false'
        flag = action_attributes('flag', sid, '0' if row.urgent else '1', mark=f'flag-{sid}')
        return (
            '<div class="rw-row" data-mark="reading-row">'
            f'<i class="q-icon material-icons {urgent[1]}" aria-hidden="true" data-mark="urgent-{sid}">{urgent[0]}</i>'
            f'<div><div class="text-weight-medium">{escape(row.patient_name)}</div>'
            f'<div class="text-caption">{_ids(row)}</div></div>'
            f'<div class="wide-only">{escape(row.modalities)}</div>'
            f'<div>{escape(row.description or "—")}</div>'
            f'<div class="wide-only">{_arrived(row.arrived_at, texts.zone, texts.language)}</div>'
            f'<div class="{LEVEL_COLOURS[row.level]}" data-mark="waited-{row.level or "ok"}">'
            f'{escape(_waited(row.waited_minutes, texts.language))}</div>'
            f'<div class="row items-center gap-x-2">{reader}</div>'
            f'<div class="row items-center no-wrap gap-1">{claim}'
            f'<a class="rw-btn" href="/viewer/{sid}" title="{texts.viewer}" aria-label="{texts.viewer}" '
            f'data-mark="view-{sid}"><i class="material-icons">visibility</i></a>'
            f'<a class="rw-btn" href="/studies/{sid}/report" title="{texts.report}" aria-label="{texts.report}" '
            f'data-mark="report-{sid}"><i class="material-icons">edit_note</i></a>'
            f'<button type="button" class="rw-btn" title="{texts.urgent}" aria-label="{texts.urgent}" '
            f'aria-pressed="{pressed}" {flag}><i class="material-icons">flag</i></button>'
            '</div></div>'
        )

    async def on_claim(self, id: str, value: str) -> None:
        if (study_id := row_id(id)) is not None:
            await perform(reading.claim, study_id, by=self.actor, success=t('Claimed'))
            await self.rows.refresh()

    async def on_flag(self, id: str, value: str) -> None:
        if (study_id := row_id(id)) is not None and value in ('0', '1'):
            await perform(reading.set_urgent, study_id, value == '1', by=self.actor)
            await self.rows.refresh()

    async def on_assign(self, id: str, value: str) -> None:
        """Open the one assign dialog for this study with the active radiologists (asked for now, so the list is
        current; the service refuses whoever may not assign)."""
        if (study_id := row_id(id)) is None:
            return
        found = await perform(reading.radiologists, by=self.actor)
        if found is FAILED:
            return
        doctors = dict(found)
        if self.dialog is None:
            self.dialog = self.assign_dialog()
        self.study_id = study_id
        reader = self.readers.get(study_id)
        self.doctor.set_options(doctors, value=reader if reader in doctors else None)
        self.dialog.open()

    def assign_dialog(self) -> ui.dialog:
        """Built once, outside the list, so a live redraw of the list leaves it open."""
        with self.card, ui.dialog() as dialog, ui.card().classes('w-80'):
            self.doctor = (
                ui.select({}, label=t('Radiologist to read it'), value=None)
                .props('clearable')
                .classes('w-full')
                .mark('assign-reader')
            )
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat no-caps').mark('assign-cancel')
                ui.button(t('Save'), on_click=self.save_assignment).props('no-caps').mark('assign-save')
        return dialog

    async def save_assignment(self) -> None:
        assert self.dialog is not None
        self.dialog.close()
        await self.assign(self.study_id, self.doctor.value)

    async def assign(self, study_id: int, user_id: int | None) -> None:
        if study_id in self.readers and self.readers[study_id] == user_id:
            return  # nothing changed
        if user_id is None:
            await perform(reading.release, study_id, by=self.actor)
        else:
            await perform(reading.assign, study_id, user_id, by=self.actor, success=t('Assigned'))
        await self.rows.refresh()


@dataclass(frozen=True)
class _RowTexts:
    """What every row says the same, translated and escaped once per drawing of the list."""

    unassigned: str
    assign: str
    claim: str
    viewer: str
    report: str
    urgent: str
    language: str
    zone: tzinfo


@lru_cache(maxsize=1024)
def _arrived(moment: datetime, zone: tzinfo, language: str) -> str:
    """When a study arrived, as HTML text: the same studies wait on every view of the list, and Babel's formatting
    was a tenth of a millisecond a row."""
    return escape(format_datetime(moment, zone=zone, language=language))


def _waited(minutes: int, language: str) -> str:
    if minutes < 60:
        return t('{n} min', language, n=minutes)
    if minutes < 48 * 60:
        return t('{h} h {m} min', language, h=minutes // 60, m=minutes % 60)
    return tn('{count} day', '{count} days', minutes // (24 * 60), language)


def _ids(row: reading.ReadingRow) -> str:
    """The centre (with several), patient ID, short study ID and accession number, those the study has."""
    centre = f'<span class="text-weight-medium" data-mark="centre">{escape(row.centre)}</span>' if row.centre else ''
    parts = [
        centre,
        escape(row.patient_id),
        short_id_html(row.short_id) if row.short_id else '',
        escape(row.accession_number),
    ]
    return ' · '.join(part for part in parts if part)
