"""The reading dashboard (issue 18): a radiologist's own queue and turnaround; for the administrator everyone's
turnaround, each radiologist's workload and the studies per day by modality, as NiceGUI's own ECharts (no CDN).

Figures are read once per visit, each with one call off the event loop; the window is the last 30 days.
"""

from typing import Any

from babel import dates
from nicegui import ui

from domain import dashboards
from domain.access import Actor
from domain.models import Role

from .board import minutes_text
from .i18n import current_language, t
from .shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/dashboard', 'Dashboard', 'insights', order=35)

    @screen('/dashboard', title='Dashboard')
    async def dashboard_page() -> None:
        await Dashboard(current_actor()).build()


class Dashboard:
    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.admin = actor.role == Role.ADMIN.value

    async def build(self) -> None:
        ui.label(t('Last {days} days', days=dashboards.DAYS)).classes('text-caption text-grey-7')
        with ui.row().classes('gap-4 flex-wrap items-stretch'):
            if not self.admin:
                mine = await perform(dashboards.my_workload, by=self.actor)
                if mine is not FAILED:
                    self.queue_card(mine)
            turnaround = await perform(dashboards.turnaround, by=self.actor)
            if turnaround is not FAILED:
                self.turnaround_card(turnaround)
        if self.admin:
            workload = await perform(dashboards.workload, by=self.actor)
            if workload is not FAILED:
                self.workload_chart(workload)
            days = await perform(dashboards.studies_by_modality, by=self.actor)
            if days is not FAILED:
                self.modality_chart(days)

    def queue_card(self, mine: dashboards.Workload) -> None:
        with ui.card().classes('w-72').mark('my-queue'):
            ui.label(t('Your queue')).classes('text-subtitle1')
            _figure(t('Given to you, not yet read'), mine.waiting, 'queue-waiting')
            _figure(t('Drafts open'), mine.drafts, 'queue-drafts')
            _figure(t('Reports signed'), mine.signed, 'queue-signed')

    def turnaround_card(self, shown: dashboards.Turnaround) -> None:
        title = t('Turnaround, all radiologists') if self.admin else t('Your turnaround')
        with ui.card().classes('w-72').mark('turnaround'):
            ui.label(title).classes('text-subtitle1')
            ui.label(t('From the first image to the signed report')).classes('text-caption text-grey-7')
            _figure(t('Median (p50)'), _duration(shown.p50_minutes), 'turnaround-p50')
            _figure(t('90 % within (p90)'), _duration(shown.p90_minutes), 'turnaround-p90')
            _figure(t('Reports signed'), shown.reports, 'turnaround-reports')

    def workload_chart(self, rows: list[dashboards.Workload]) -> None:
        names = [row.name for row in rows]
        series = [
            (t('Reports signed'), [row.signed for row in rows]),
            (t('Drafts open'), [row.drafts for row in rows]),
            (t('Given, not yet read'), [row.waiting for row in rows]),
        ]
        with ui.card().classes('w-full max-w-screen-lg'):
            ui.label(t('Workload per radiologist')).classes('text-subtitle1')
            ui.echart(_bars(names, series, stacked=False, horizontal=True)).classes('w-full h-64').mark(
                'workload-chart'
            )

    def modality_chart(self, shown: dashboards.ModalityDays) -> None:
        language = current_language()
        days = [dates.format_skeleton('MMMd', day, locale=language) for day in shown.days]
        with ui.card().classes('w-full max-w-screen-lg'):
            ui.label(t('Studies per day by modality')).classes('text-subtitle1')
            series = [(modality, list(counts)) for modality, counts in shown.counts.items()]
            chart = _bars(days, series, stacked=True, horizontal=False)
            ui.echart(chart).classes('w-full h-64').mark('modality-chart')


def _figure(label: str, value: object, mark: str) -> None:
    with ui.row().classes('items-baseline justify-between w-full no-wrap'):
        ui.label(label).classes('text-body2')
        ui.label(str(value)).classes('text-h6').mark(mark)


def _duration(minutes: int | None) -> str:
    return '—' if minutes is None else minutes_text(minutes)


def _bars(categories: list[str], series: list[tuple[str, list[int]]], *, stacked: bool, horizontal: bool) -> dict:
    """ECharts options: one bar series per (name, values), beside or on top of each other."""
    category_axis: dict[str, Any] = {'type': 'category', 'data': categories}
    value_axis: dict[str, Any] = {'type': 'value', 'minInterval': 1}
    return {
        'animation': False,
        'tooltip': {'trigger': 'axis'},
        'legend': {'data': [name for name, _ in series], 'top': 0},
        'grid': {'left': 120 if horizontal else 48, 'right': 24, 'top': 40, 'bottom': 28},
        'xAxis': value_axis if horizontal else category_axis,
        'yAxis': category_axis if horizontal else value_axis,
        'series': [
            {'name': name, 'type': 'bar', 'data': values, **({'stack': 'all'} if stacked else {})}
            for name, values in series
        ],
    }
