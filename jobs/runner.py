"""Actors as database jobs: `@job_actor` wraps a function of an object id into an idempotent actor.

The wrapper marks the job running, counts attempts, records the error of a failed attempt, lets
Dramatiq retry with backoff, and marks it failed (visible to the admin) when a retry cannot help:
an exception listed in `throws`, or the last attempt.

An attempt that stops because PostgreSQL or Redis is unreachable is not the job's fault: it is not
counted, the job stays queued, and the message is retried with backoff up to `outage_retries` times
(PACS_JOB_OUTAGE_RETRIES); after that the sweeper sends the job again from the database once it is
overdue, so an outage of any length ends with the work done, never failed.
"""

import logging
import sqlite3
import threading
from collections.abc import Callable

import dramatiq
import psycopg
import redis.exceptions
from sqlalchemy import exc as sa_exc

from domain import centres, work

log = logging.getLogger(__name__)

JobActor = dramatiq.Actor[[int], None]  # an actor whose message is a job id
KINDS: dict[str, JobActor] = {}
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # psycopg's OperationalError and SQLite's "database is locked" arrive wrapped in it
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no connection free in the pool
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    dramatiq.errors.BrokerConnectionError,
    psycopg.OperationalError,  # raised bare by code that talks to psycopg itself
    psycopg.InterfaceError,
)
SQLITE_OUTAGE_WORDS = ('locked', 'busy', 'unable to open', 'disk i/o')
_policy = {'outage_retries': 30}
_running: set[int] = set()  # ids of the jobs running in this process (the sweeper renews their leases)
_stranded: set[int] = set()  # jobs stopped here by an outage that could not be recorded: their retry takes over
_running_lock = threading.Lock()
_outage = threading.Event()  # set while attempts here meet an outage: one warning per outage, not per attempt


class DependencyDown(dramatiq.Retry):
    """The attempt met an unreachable database or broker: retried quietly (no traceback per attempt)."""


def configure(*, outage_retries: int) -> None:
    """How many times a message is retried while a dependency is down before the sweeper takes over."""
    _policy['outage_retries'] = outage_retries


def dependency_down(error: BaseException | None) -> bool:
    """True when `error`, or an error it was raised from, says PostgreSQL or Redis could not be reached."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, sqlite3.OperationalError):  # also a missing table: only a busy file is an outage
            return any(word in str(error).lower() for word in SQLITE_OUTAGE_WORDS)
        if isinstance(error, OUTAGE_ERRORS) and not isinstance(getattr(error, 'orig', None), sqlite3.Error):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def retry_when(max_retries: int) -> Callable[[int, BaseException], bool]:
    """Dramatiq's retry rule: up to `max_retries` for a genuine error, up to `outage_retries` for an outage."""

    def should_retry(retries: int, error: BaseException) -> bool:
        return retries < (_policy['outage_retries'] if dependency_down(error) else max_retries)

    return should_retry


def outage_met(what: str, error: BaseException) -> DependencyDown:
    """Log an outage once (until `outage_over`) and return the quiet retry to raise from `error`."""
    if not _outage.is_set():
        _outage.set()
        log.warning('%s waits: %s (%s); retried with backoff', what, type(error).__name__, _first_line(error))
    return DependencyDown(f'{type(error).__name__}: {_first_line(error)}')


def outage_over() -> None:
    """An attempt got through: the next outage is logged again."""
    if _outage.is_set():
        _outage.clear()
        log.info('jobs reach the database and the broker again')


def running_here() -> list[int]:
    """The jobs this process is running now."""
    with _running_lock:
        return sorted(_running)


def job_actor(
    kind: str, *, queue: str = 'default', max_retries: int = 5, throws: tuple[type[Exception], ...] = ()
) -> Callable[[Callable[[int], None]], JobActor]:
    """Declare the actor that does jobs of `kind`; the wrapped function takes the object id."""

    def decorate(function: Callable[[int], None]) -> JobActor:
        def run(job_id: int) -> None:
            centres.set_scope(None)  # a job sees every centre, whatever this worker thread did before
            try:
                attempt(job_id)
            except DependencyDown:
                raise
            except Exception as error:
                if dependency_down(error):  # starting, finishing or recording the job met the outage
                    raise outage_met(f'job {job_id} ({kind})', error) from error
                raise
            outage_over()

        def attempt(job_id: int) -> None:
            with _running_lock:
                take_over = job_id in _stranded
            job = work.start(job_id, take_over=take_over)
            with _running_lock:
                _stranded.discard(job_id)
            if job is None:
                return
            with _running_lock:
                _running.add(job_id)
            try:
                function(job.object_id)
            except throws as error:
                work.fail(job_id, f'{type(error).__name__}: {error}')
                return
            except Exception as error:
                message = f'{type(error).__name__}: {error}'
                if dependency_down(error):
                    _interrupted(job_id, message)
                    raise outage_met(f'job {job_id} ({kind})', error) from error
                if job.attempt > max_retries:
                    log.exception('job %s (%s) gave up after %d attempts', job_id, kind, job.attempt)
                    work.fail(job_id, message)
                    return
                work.will_retry(job_id, message)
                raise
            finally:
                with _running_lock:
                    _running.discard(job_id)
            work.finish(job_id)

        run.__name__ = kind
        actor = dramatiq.actor(
            actor_name=kind,
            queue_name=queue,
            max_retries=max_retries,
            min_backoff=200,
            max_backoff=30_000,
            retry_when=retry_when(max_retries),
        )(run)
        KINDS[kind] = actor
        return actor

    return decorate


def send(job_id: int, kind: str) -> None:
    """Put a trigger for the job on the queue of its actor (raises when the broker cannot take it)."""
    actor = KINDS.get(kind)
    if actor is None:
        log.error('no actor for job kind %s (job %s)', kind, job_id)
        return
    actor.send(job_id)


def _interrupted(job_id: int, message: str) -> None:
    """Queue the job again without counting the attempt; with the database down, its retry here takes it over
    (elsewhere its lease lapses and the sweeper sends it again)."""
    try:
        work.interrupted(job_id, message)
    except Exception:
        with _running_lock:
            _stranded.add(job_id)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [''])[0][:200]
