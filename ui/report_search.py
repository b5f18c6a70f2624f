"""Reports: find reports by their text and state (draft, final, addended) and open them."""

from nicegui import ui

from domain import events, reporting
from domain.access import Actor

from . import live
from .i18n import format_date, format_datetime, t
from .report_view import STATE_COLOURS
from .shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/reports', 'Reports', 'description', order=40)

    @screen('/reports', title='Reports')
    async def reports_page() -> None:
        await ReportSearch(current_actor()).build()


class ReportSearch:
    """Reports found by their text and state; the list is redrawn in one go when a search answers."""

    def __init__(self, actor: Actor) -> None:
        self.actor, self.text, self.state = actor, '', ''
        self.rows: list[reporting.ReportRow] | None = None  # None until the first search answered

    async def build(self) -> None:
        with ui.row().classes('items-end gap-4'):
            ui.input(t('Search report text'), on_change=self.reload).bind_value(self, 'text').props(
                'clearable debounce=400'
            ).classes('w-80').mark('report-search')
            ui.select(
                {'': t('all'), 'draft': t('draft'), 'final': t('final'), 'addended': t('addended')},
                label=t('State'),
                on_change=self.reload,
            ).bind_value(self, 'state').classes('w-40').mark('report-state-filter')
        self.results()
        await self.reload()
        live.on(events.ReportChanged).subscribe(self.reload)

    async def reload(self) -> None:
        rows = await perform(reporting.search, self.text, self.state, by=self.actor)
        if rows is not FAILED and rows is not None:
            self.rows = rows
            self.results.refresh()  # drawn in one go, so overlapping reloads cannot interleave rows

    @ui.refreshable_method
    def results(self) -> None:
        if self.rows is None:
            return
        if not self.rows:
            ui.label(t('No reports found')).classes('text-grey-7').mark('no-reports')
        for row in self.rows:
            with (
                ui.card()
                .classes('w-full q-pa-sm cursor-pointer')
                .on('click', lambda r=row: ui.navigate.to(f'/reports/{r.id}'))
                .mark('report-row')
            ):
                with ui.row().classes('items-center gap-3 w-full'):
                    ui.badge(t(row.state), color=STATE_COLOURS.get(row.state, 'grey'))
                    ui.label(row.patient_name).classes('text-weight-medium')
                    ui.label(row.patient_id).classes('text-grey-7')
                    when = format_date(row.study_date) if row.study_date else ''
                    ui.label(f'{when} · {row.description}').classes('text-grey-7')
                    ui.space()
                    ui.label(row.template)
                    ui.label(format_datetime(row.signed_at or row.saved_at)).classes('text-caption text-grey-7')
