"""Background work as database rows: queued → running → done, or failed with its error.

The queue (Dramatiq) only carries a job id as a trigger. A job is queued inside the transaction that
makes it necessary and its JobQueued event goes out after the commit, so no job runs before its row
exists; at start-up everything not finished is queued again, so a crash loses no work.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from . import audit, clock, db, events
from .access import Actor, Permission, require
from .errors import InvalidTransition, NotFound
from .models import Job

log = logging.getLogger(__name__)

ACTIVE = ('queued', 'running')


def enqueue(session: Session, kind: str, object_id: int) -> Job:
    """Queue `kind` for an object unless the same job is already waiting or running."""
    job = session.exec(
        select(Job).where(Job.kind == kind, Job.object_id == object_id, col(Job.state).in_(ACTIVE))
    ).first()
    if job is None:
        job = Job(kind=kind, object_id=object_id)
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


def start(job_id: int) -> Started | None:
    """Mark a job running and count the attempt; None when it is finished or gone (a repeated delivery)."""
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.state in ('done', 'failed'):
            return None
        job.state, job.attempts, job.updated_at = 'running', job.attempts + 1, clock.now()
        session.add(job)
    return Started(job_id, job.kind, job.object_id, job.attempts)


def finish(job_id: int) -> None:
    """Mark a job done."""
    _set_state(job_id, 'done', None)


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
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound('No job {job_id}', job_id=job_id)
        if job.state != 'failed':
            raise InvalidTransition('Only a failed job can be retried')
        job.state, job.attempts, job.updated_at, job.finished_at = 'queued', 0, clock.now(), None
        session.add(job)
        audit.record(session, by, 'job.retry', job)
        events.publish_after(session, events.JobQueued(job_id, job.kind))
        events.publish_after(session, events.JobChanged(job_id, job.kind, 'queued'))
    return job


def unfinished() -> Sequence[Job]:
    """Every job queued or running (start-up queues them again)."""
    with db.reading() as session:
        return session.exec(select(Job).where(col(Job.state).in_(ACTIVE)).order_by(col(Job.id))).all()


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
            values['finished_at'] = now
        session.exec(update(Job).where(col(Job.id) == job_id).values(**values))
        job = session.get(Job, job_id)
        if job is not None:
            events.publish_after(session, events.JobChanged(job_id, job.kind, state))
