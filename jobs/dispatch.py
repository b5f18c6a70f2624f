"""Turns JobQueued events of this process into queue messages, and queues unfinished work at start-up."""

import logging
from collections.abc import Callable

from domain import events, work

from . import runner

log = logging.getLogger(__name__)


def start() -> Callable[[], None]:
    """Send a message for every job queued in this process from now on; returns the unsubscribe."""

    def on_event(event: events.Event) -> None:
        if isinstance(event, events.JobQueued):
            runner.send(event.job_id, event.kind)

    return events.subscribe(on_event, remote=False)


def requeue_unfinished() -> int:
    """Send a message for every job the database still holds as queued or running."""
    jobs = work.unfinished()
    for job in jobs:
        runner.send(job.id or 0, job.kind)
    if jobs:
        log.info('queued %d unfinished jobs again', len(jobs))
    return len(jobs)
