"""Turns JobQueued events of this process into queue messages, and queues unfinished work at start-up.

A message that cannot be sent (Redis is down) is not an error of whoever queued the job: its row is already
committed, so the job is marked due at once and the sweeper sends it when the broker is back.
"""

import logging
import threading
from collections.abc import Callable

from domain import events, work

from . import runner

log = logging.getLogger(__name__)

_broker_down = threading.Event()  # one warning per outage, not per job


def start() -> Callable[[], None]:
    """Send a message for every job queued in this process from now on; returns the unsubscribe."""

    def on_event(event: events.Event) -> None:
        if isinstance(event, events.JobQueued):
            send_or_leave(event.job_id, event.kind)

    return events.subscribe(on_event, remote=False)


def send_or_leave(job_id: int, kind: str) -> bool:
    """Send the job's message; when the broker cannot take it, leave the job to the sweeper (False)."""
    try:
        runner.send(job_id, kind)
    except Exception as error:
        if not _broker_down.is_set():
            _broker_down.set()
            log.warning('job %s (%s) not sent, the sweeper will send it: %s', job_id, kind, type(error).__name__)
        try:
            work.release([job_id])
        except Exception:  # the database is down too: the job's due time passes all the same
            log.debug('job %s: due time not moved', job_id, exc_info=True)
        return False
    _broker_down.clear()
    return True


def requeue_unfinished() -> int:
    """Send a message for every job the database still holds as queued or running."""
    jobs = work.unfinished()
    sent = sum(send_or_leave(job.id or 0, job.kind) for job in jobs)
    if jobs:
        log.info('queued %d unfinished jobs again (%d left to the sweeper)', sent, len(jobs) - sent)
    return len(jobs)
