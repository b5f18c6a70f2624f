"""Background work as database rows: queued → running → done, or failed with its error.

The queue (Dramatiq) only carries a job id as a trigger. A job is queued inside the transaction that
makes it necessary and its JobQueued event goes out after the commit, so no job runs before its row
exists: the job table is the outbox. Each unfinished job has a due time: a queued job not started by
then is sent again by the sweeper (jobs/sweeper.py), and a running job holds a lease until then that
its process renews; a lapsed lease means the process died and the job is sent again. So neither a
lost message, a broker that was down, nor a dead worker loses work.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from . import audit, clock, db, events
from .access import Actor, Permission, require
from .errors import InvalidTransition, NotFound
from .models import Job

log = logging.getLogger(__name__)

ACTIVE = ('queued', 'running')
DISCARDED = 'discarded'  # a failed job an administrator chose not to retry: finished, kept for the record
FINISHED = ('done', 'failed', DISCARDED)
QUEUED_GRACE_S = 60.0  # a queued job not started within this is sent again (longer than a retry's backoff)
LEASE_S = 60.0  # a running job's lease; the process running it renews it at every sweep (every few seconds)
RESEND_MAX_S = 300.0  # a job waiting long (a deep queue) is sent again at most this often


def enqueue(session: Session, kind: str, object_id: int) -> Job:
    """Queue `kind` for an object unless the same job is already waiting or running."""
    job = session.exec(
        select(Job).where(Job.kind == kind, Job.object_id == object_id, col(Job.state).in_(ACTIVE))
    ).first()
    if job is None:
        job = Job(kind=kind, object_id=object_id, due_at=clock.now() + timedelta(seconds=QUEUED_GRACE_S))
        session.add(job)
        session.flush()
    events.publish_after(session, events.JobQueued(job.id or 0, kind))
    return job


def submit(kind: str, object_id: int) -> Job:
    """Queue a job in a transaction of its own."""
    with db.transaction() as session:
        return enqueue(session, kind, object_id)


@dataclass(frozen=True)
class Started:
    job_id: int
    kind: str
    object_id: int
    attempt: int


def start(job_id: int, *, take_over: bool = False) -> Started | None:
    """Mark a job running, take its lease and count the attempt; None when it is finished, gone, or running
    elsewhere under a lease (a repeated delivery). `take_over`: the caller knows the lease is its own, left by
    an attempt that stopped while the database was down."""
    now = clock.now()
    with db.transaction() as session:
        job = session.exec(select(Job).where(Job.id == job_id).with_for_update()).first()
        if job is None or job.state in FINISHED:
            return None
        if job.state == 'running' and not take_over and job.due_at is not None and _aware(job.due_at) > now:
            return None
        job.state, job.attempts, job.updated_at = 'running', job.attempts + 1, now
        job.due_at = now + timedelta(seconds=LEASE_S)
        session.add(job)
    return Started(job_id, job.kind, job.object_id, job.attempts)


def finish(job_id: int) -> None:
    """Mark a job done."""
    _set_state(job_id, 'done', None)


def interrupted(job_id: int, error: str) -> None:
    """An attempt stopped because the database or the broker was unreachable: queued again, the attempt not
    counted towards failing the job (the dependency, not the job, was at fault)."""
    now = clock.now()
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.state != 'running':
            return
        job.state, job.attempts, job.error, job.updated_at = 'queued', max(job.attempts - 1, 0), error[:4000], now
        job.due_at = now + timedelta(seconds=QUEUED_GRACE_S)
        session.add(job)
        events.publish_after(session, events.JobChanged(job_id, job.kind, 'queued'))


def fail(job_id: int, error: str) -> None:
    """Mark a job failed for good; an administrator can retry it."""
    log.warning('job %s failed: %s', job_id, error[:200])
    _set_state(job_id, 'failed', error)


def will_retry(job_id: int, error: str) -> None:
    """Keep the error of a failed attempt while the job waits for its retry."""
    _set_state(job_id, 'queued', error)


def retry(job_id: int, *, by: Actor) -> Job:
    """Queue a failed job again (the administrator's Retry)."""
    require(by, Permission.MANAGE_JOBS)
    with db.transaction() as session:
        job = _failed(session, job_id, InvalidTransition('Only a failed job can be retried'))
        job.state, job.attempts, job.updated_at, job.finished_at = 'queued', 0, clock.now(), None
        job.due_at = job.updated_at + timedelta(seconds=QUEUED_GRACE_S)
        session.add(job)
        audit.record(session, by, 'job.retry', job)
        events.publish_after(session, events.JobQueued(job_id, job.kind))
        events.publish_after(session, events.JobChanged(job_id, job.kind, 'queued'))
    return job


def discard(job_id: int, *, by: Actor) -> Job:
    """Give up a failed job for good (the administrator's Discard): never retried, kept and audited."""
    require(by, Permission.MANAGE_JOBS)
    with db.transaction() as session:
        job = _failed(session, job_id, InvalidTransition('Only a failed job can be discarded'))
        job.state, job.updated_at = DISCARDED, clock.now()
        session.add(job)
        audit.record(
            session,
            by,
            'job.discard',
            job,
            detail={'kind': job.kind, 'object_id': job.object_id, 'changes': {'state': ['failed', DISCARDED]}},
        )
        events.publish_after(session, events.JobChanged(job_id, job.kind, DISCARDED))
    log.info('job %s (%s of %s) discarded by %s', job_id, job.kind, job.object_id, by.username)
    return job


def _failed(session: Session, job_id: int, otherwise: InvalidTransition) -> Job:
    """The failed job an administrator acts on; NotFound, or `otherwise` when it is not failed."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound('No job {job_id}', job_id=job_id)
    if job.state != 'failed':
        raise otherwise
    return job


def unfinished() -> Sequence[Job]:
    """Every job queued or running (start-up queues them again)."""
    with db.reading() as session:
        return session.exec(select(Job).where(col(Job.state).in_(ACTIVE)).order_by(col(Job.id))).all()


def claim_overdue(limit: int = 200) -> list[tuple[int, str]]:
    """The unfinished jobs past their due time, as (id, kind), each given its next due time so that several
    sweepers send it once; a job waiting long is sent again less often (up to RESEND_MAX_S apart). A running
    job past its due time lost its lease (its process died) and is queued again."""
    now = clock.now()
    with db.transaction() as session:
        jobs = session.exec(
            select(Job)
            .where(col(Job.state).in_(ACTIVE), col(Job.due_at).is_(None) | (col(Job.due_at) <= now))
            .order_by(col(Job.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for job in jobs:
            waited = (now - _aware(job.updated_at)).total_seconds()
            job.due_at = now + timedelta(seconds=min(RESEND_MAX_S, max(QUEUED_GRACE_S, waited)))
            if job.state == 'running':  # its lease lapsed: its process died; queued again, for anyone to start
                job.state = 'queued'
                events.publish_after(session, events.JobChanged(job.id or 0, job.kind, 'queued'))
            session.add(job)
        return [(job.id or 0, job.kind) for job in jobs]


def release(job_ids: Sequence[int]) -> None:
    """Their messages could not be sent (the broker is down): due again at once, for the next sweep."""
    if not job_ids:
        return
    with db.transaction() as session:
        session.exec(update(Job).where(col(Job.id).in_(job_ids), col(Job.state).in_(ACTIVE)).values(due_at=clock.now()))


def renew(job_ids: Sequence[int]) -> None:
    """Extend the leases of the jobs this process is running (its sweeper, every few seconds)."""
    if not job_ids:
        return
    with db.transaction() as session:
        session.exec(
            update(Job)
            .where(col(Job.id).in_(job_ids), col(Job.state) == 'running')
            .values(due_at=clock.now() + timedelta(seconds=LEASE_S))
        )


@dataclass(frozen=True)
class Backlog:
    """Unfinished work at a glance (/health): how much, how old, and how much is overdue."""

    unfinished: int
    oldest_queued_at: datetime | None  # when the longest-waiting queued job was queued
    overdue: int  # unfinished jobs past their due time by more than a sweep or two: nobody is sending them


def backlog(*, overdue_after_s: float = 30.0) -> Backlog:
    """How much work is waiting, since when, and how much of it no sweeper picked up in time."""
    late = clock.now() - timedelta(seconds=overdue_after_s)
    with db.reading() as session:
        unfinished = session.exec(select(func.count()).where(col(Job.state).in_(ACTIVE))).one()
        oldest = session.exec(select(func.min(Job.created_at)).where(Job.state == 'queued')).one()
        overdue = session.exec(select(func.count()).where(col(Job.state).in_(ACTIVE), col(Job.due_at) < late)).one()
    return Backlog(unfinished, _aware(oldest) if oldest is not None else None, overdue)


def queue_depth() -> int:
    """How many jobs are waiting or running."""
    with db.reading() as session:
        return session.exec(select(func.count()).where(col(Job.state).in_(ACTIVE))).one()


def listing(*, by: Actor, state: str | None = None, limit: int = 200) -> Sequence[Job]:
    """Jobs newest first, optionally of one state (the administrator's Jobs screen)."""
    require(by, Permission.MANAGE_JOBS)
    query = select(Job)
    if state:
        query = query.where(Job.state == state)
    with db.reading() as session:
        return session.exec(query.order_by(col(Job.id).desc()).limit(limit)).all()


def counts(*, by: Actor) -> dict[str, int]:
    """Number of jobs in each state."""
    require(by, Permission.MANAGE_JOBS)
    with db.reading() as session:
        return dict(session.exec(select(Job.state, func.count()).group_by(Job.state)).all())


def _set_state(job_id: int, state: str, error: str | None) -> None:
    now = clock.now()
    with db.transaction() as session:
        values: dict[str, object] = {'state': state, 'updated_at': now}
        if error is not None:
            values['error'] = error[:4000]
        if state in ('done', 'failed'):
            values['finished_at'], values['due_at'] = now, None
        else:  # queued for a retry, which arrives within the backoff
            values['due_at'] = now + timedelta(seconds=QUEUED_GRACE_S)
        session.exec(update(Job).where(col(Job.id) == job_id).values(**values))
        job = session.get(Job, job_id)
        if job is not None:
            events.publish_after(session, events.JobChanged(job_id, job.kind, state))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite hands back naive UTC
