"""The dashboards (issue 18): a radiologist's own queue and turnaround; a diagnostic centre's studies by where they
stand, their turnaround and the amounts due; for the administrator everyone's turnaround, each radiologist's
workload, the studies per day by modality and by centre and the revenue per currency, as NiceGUI's own ECharts.

Figures are read once per visit, each with one call off the event loop; the window is the last 30 days.
"""

from decimal import Decimal
from typing import Any

from babel import dates, numbers
from nicegui import ui

from domain import billing, dashboards
from domain.access import Actor
from domain.errors import N_
from domain.models import Role

from .board import minutes_text
from .i18n import current_language, t
from .shell import FAILED, current_actor, nav, perform, screen

STATE_LABELS = {
    'arriving': N_('Images arriving'),
    'to read': N_('Waiting to be read'),
    'reporting': N_('Report being written'),
    'reported': N_('Reported'),
}


def register() -> None:
    nav('/dashboard', 'Dashboard', 'insights', order=35)

    @screen('/dashboard', title='Dashboard')
    async def dashboard_page() -> None:
        await Dashboard(current_actor()).build()


class Dashboard:
    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.admin = actor.role == Role.ADMIN.value
        self.centre = actor.role == Role.CENTRE.value

    async def build(self) -> None:
        ui.label(t('Last {days} days', days=dashboards.DAYS)).classes('text-caption text-grey-7')
        with ui.row().classes('gap-4 flex-wrap items-stretch'):
            if self.centre:
                await self.centre_cards()
            elif not self.admin:
                mine = await perform(dashboards.my_workload, by=self.actor)
                if mine is not FAILED:
                    self.queue_card(mine)
            turnaround = await perform(dashboards.turnaround, by=self.actor)
            if turnaround is not FAILED:
                self.turnaround_card(turnaround)
            if self.admin:
                revenue = await perform(billing.revenue, self.actor, dashboards.DAYS)
                if revenue is not FAILED:
                    _money_card(t('Revenue'), revenue, 'revenue')
        if self.admin:
            await self.admin_charts()

    async def centre_cards(self) -> None:
        states = await perform(dashboards.studies_by_state, by=self.actor)
        if states is not FAILED:
            with ui.card().classes('w-72').mark('study-states'):
                ui.label(t('Your studies')).classes('text-subtitle1')
                for state, count in states.items():
                    _figure(t(STATE_LABELS[state]), count, f'state-{state.replace(" ", "-")}')
        due = await perform(billing.amounts_due, self.actor)
        if due is not FAILED:
            _money_card(t('Amounts due'), due, 'amounts-due')

    async def admin_charts(self) -> None:
        workload = await perform(dashboards.workload, by=self.actor)
        if workload is not FAILED:
            self.workload_chart(workload)
        days = await perform(dashboards.studies_by_modality, by=self.actor)
        if days is not FAILED:
            self.days_chart(days, t('Studies per day by modality'), 'modality-chart')
        by_centre = await perform(dashboards.studies_by_centre, by=self.actor)
        if by_centre is not FAILED and len(by_centre.counts) > 1:  # one centre: the chart above says it all
            self.days_chart(by_centre, t('Studies per day by centre'), 'centre-chart')

    def queue_card(self, mine: dashboards.Workload) -> None:
        with ui.card().classes('w-72').mark('my-queue'):
            ui.label(t('Your queue')).classes('text-subtitle1')
            _figure(t('Given to you, not yet read'), mine.waiting, 'queue-waiting')
            _figure(t('Drafts open'), mine.drafts, 'queue-drafts')
            _figure(t('Reports signed'), mine.signed, 'queue-signed')

    def turnaround_card(self, shown: dashboards.Turnaround) -> None:
        title = (
            t('Turnaround, all radiologists')
            if self.admin
            else t('Turnaround of your studies')
            if self.centre
            else t('Your turnaround')
        )
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

    def days_chart(self, shown: dashboards.ModalityDays, title: str, mark: str) -> None:
        language = current_language()
        days = [dates.format_skeleton('MMMd', day, locale=language) for day in shown.days]
        with ui.card().classes('w-full max-w-screen-lg'):
            ui.label(title).classes('text-subtitle1')
            series = [(name, list(counts)) for name, counts in shown.counts.items()]
            chart = _bars(days, series, stacked=True, horizontal=False)
            ui.echart(chart).classes('w-full h-64').mark(mark)


def _money_card(title: str, amounts: dict[str, Decimal], mark: str) -> None:
    """Amounts per currency, never added across currencies (the consolidated view is on the billing screen)."""
    with ui.card().classes('w-72').mark(mark):
        ui.label(title).classes('text-subtitle1')
        if not amounts:
            ui.label('—').classes('text-h6')
        for code, amount in amounts.items():
            _figure(code, numbers.format_currency(amount, code, locale=current_language()), f'{mark}-{code}')


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
