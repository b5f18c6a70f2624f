"""The admin home's Jobs card: whether background work is getting done, from the same facts as /health, and how many
jobs failed and wait for the administrator's Retry or Discard."""

from dataclasses import dataclass
from datetime import timedelta

from babel import dates

from domain import health_facts, work
from domain.access import Actor

from ..i18n import current_language, t, tn
from .ops_cards import line, status_card


@dataclass(frozen=True)
class WorkSeen:
    facts: health_facts.Facts
    counts: dict[str, int]  # jobs by state

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(state, 0) for state in work.ACTIVE)

    @property
    def failed(self) -> int:
        return self.counts.get('failed', 0)


def glance(*, by: Actor) -> WorkSeen:
    """The facts and the jobs in each state (called off the event loop)."""
    return WorkSeen(health_facts.gather(), work.counts(by=by))


def work_card(seen: WorkSeen) -> None:
    """Live job workers, waiting and failed jobs, stuck studies in one card, red when work is not getting done."""
    facts = seen.facts
    trouble = _trouble(seen)
    colour = 'negative' if trouble else 'positive'
    badge = t('needs attention') if trouble else t('up to date')
    with status_card(
        t('Jobs'),
        'pending_actions',
        colour,
        badge,
        mark=f'work-state-{"attention" if trouble else "ok"}',
        link='/admin/jobs',
    ):
        line(tn('{count} job worker running', '{count} job workers running', facts.workers_alive))
        waited = ''
        if facts.oldest_pending_seconds is not None:
            age = dates.format_timedelta(timedelta(seconds=facts.oldest_pending_seconds), locale=current_language())
            waited = ' · ' + t('the oldest for {age}', age=age)
        line(tn('{count} job waiting', '{count} jobs waiting', seen.waiting) + waited)
        if seen.failed:
            line(tn('{count} job failed', '{count} jobs failed', seen.failed), mark='failed-jobs', warn=True)
        if facts.stuck_studies:
            line(
                tn('{count} study stuck', '{count} studies stuck', facts.stuck_studies), mark='stuck-studies', warn=True
            )


def _trouble(seen: WorkSeen) -> bool:
    """What makes /health degraded about the work (the scaled mode's idle check aside: the home does not know it), and
    failed jobs, which wait for the administrator."""
    facts = seen.facts
    overdue = (facts.oldest_pending_seconds or 0) > health_facts.PENDING_LIMIT_S
    return bool(facts.stuck_studies or overdue or (seen.waiting and not facts.workers_alive) or seen.failed)
