"""Actors as database jobs: `@job_actor` wraps a function of an object id into an idempotent actor.

The wrapper marks the job running, counts attempts, records the error of a failed attempt, lets
Dramatiq retry with backoff, and marks it failed (visible to the admin) when a retry cannot help:
an exception listed in `throws`, or the last attempt.
"""

import logging
from collections.abc import Callable

import dramatiq

from domain import work

log = logging.getLogger(__name__)

JobActor = dramatiq.Actor[[int], None]  # an actor whose message is a job id
KINDS: dict[str, JobActor] = {}


def job_actor(
    kind: str, *, queue: str = 'default', max_retries: int = 5, throws: tuple[type[Exception], ...] = ()
) -> Callable[[Callable[[int], None]], JobActor]:
    """Declare the actor that does jobs of `kind`; the wrapped function takes the object id."""

    def decorate(function: Callable[[int], None]) -> JobActor:
        def run(job_id: int) -> None:
            job = work.start(job_id)
            if job is None:
                return
            try:
                function(job.object_id)
            except throws as error:
                work.fail(job_id, f'{type(error).__name__}: {error}')
                return
            except Exception as error:
                message = f'{type(error).__name__}: {error}'
                if job.attempt > max_retries:
                    log.exception('job %s (%s) gave up after %d attempts', job_id, kind, job.attempt)
                    work.fail(job_id, message)
                    return
                work.will_retry(job_id, message)
                raise
            work.finish(job_id)

        run.__name__ = kind
        actor = dramatiq.actor(
            actor_name=kind, queue_name=queue, max_retries=max_retries, min_backoff=200, max_backoff=30_000
        )(run)
        KINDS[kind] = actor
        return actor

    return decorate


def send(job_id: int, kind: str) -> None:
    """Put a trigger for the job on the queue of its actor."""
    actor = KINDS.get(kind)
    if actor is None:
        log.error('no actor for job kind %s (job %s)', kind, job_id)
        return
    actor.send(job_id)
