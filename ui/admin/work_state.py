"""The admin home's Jobs card: whether background work is getting done, from the same facts as /health."""

from datetime import timedelta

from babel import dates
from nicegui import ui

from domain import health_facts, work

from ..i18n import current_language, t, tn

EDGE_COLOURS = {'positive': 'var(--q-positive)', 'negative': 'var(--q-negative)'}


def glance() -> tuple[health_facts.Facts, int]:
    """The facts and how many jobs are queued or running (called off the event loop)."""
    return health_facts.gather(), work.queue_depth()


def work_card(facts: health_facts.Facts, waiting: int) -> None:
    """Live job workers, waiting jobs and stuck studies in one card, red when work is not getting done."""
    trouble = _trouble(facts, waiting)
    colour = 'negative' if trouble else 'positive'
    with (
        ui.card()
        .classes('w-72 cursor-pointer')
        .style(f'border-left: 4px solid {EDGE_COLOURS[colour]}')
        .on('click', lambda: ui.navigate.to('/admin/jobs'))
        .mark(f'work-state-{"attention" if trouble else "ok"}')
    ):
        with ui.row().classes('items-center gap-2'):
            ui.icon('pending_actions', size='md', color=colour)
            ui.label(t('Jobs')).classes('text-subtitle1')
            ui.badge(t('needs attention') if trouble else t('up to date'), color=colour)
        ui.label(tn('{count} job worker running', '{count} job workers running', facts.workers_alive)).classes(
            'text-body2'
        )
        waited = ''
        if facts.oldest_pending_seconds is not None:
            age = dates.format_timedelta(timedelta(seconds=facts.oldest_pending_seconds), locale=current_language())
            waited = ' · ' + t('the oldest for {age}', age=age)
        ui.label(tn('{count} job waiting', '{count} jobs waiting', waiting) + waited).classes('text-body2')
        if facts.stuck_studies:
            ui.label(tn('{count} study stuck', '{count} studies stuck', facts.stuck_studies)).classes(
                'text-body2 text-negative'
            ).mark('stuck-studies')


def _trouble(facts: health_facts.Facts, waiting: int) -> bool:
    """What makes /health degraded about the work (the scaled mode's idle check aside: the home does not know it)."""
    overdue = (facts.oldest_pending_seconds or 0) > health_facts.PENDING_LIMIT_S
    return bool(facts.stuck_studies or overdue or (waiting and not facts.workers_alive))
