"""Studies and images per day over the last 30 days, drawn by NiceGUI's own ECharts element (served by the app, no
CDN): studies as bars on the left axis, images as a line on the right one."""

from typing import Any

from babel import dates
from nicegui import ui

from domain.ops_figures import Daily

from ..i18n import current_language, t


def daily_chart(daily: Daily) -> ui.echart:
    """The chart in a card of its own."""
    with ui.card().classes('w-full max-w-screen-lg'):
        ui.label(t('Studies and images per day, last {count} days', count=len(daily.days))).classes('text-subtitle1')
        return ui.echart(chart_options(daily)).classes('w-full h-64').mark('daily-chart')


def chart_options(daily: Daily) -> dict[str, Any]:
    """The ECharts options: one category per day (oldest first), a bar series of studies and a line of images."""
    studies, images = t('Studies'), t('Images')
    language = current_language()
    return {
        'animation': False,
        'tooltip': {'trigger': 'axis'},
        'legend': {'data': [studies, images], 'top': 0},
        'grid': {'left': 48, 'right': 56, 'top': 48, 'bottom': 28},
        'xAxis': {
            'type': 'category',
            'data': [dates.format_skeleton('MMMd', d.day, locale=language) for d in daily.days],
        },
        'yAxis': [
            {'type': 'value', 'name': studies, 'minInterval': 1},
            {'type': 'value', 'name': images, 'minInterval': 1, 'splitLine': {'show': False}},
        ],
        'series': [
            {'name': studies, 'type': 'bar', 'data': [d.studies for d in daily.days]},
            {'name': images, 'type': 'line', 'yAxisIndex': 1, 'data': [d.images for d in daily.days]},
        ],
    }
