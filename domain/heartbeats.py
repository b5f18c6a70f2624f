"""Process heartbeats: every serve, worker and scp process writes its row every few seconds.

A process is alive while its row was seen within ALIVE_SECONDS (three missed beats). /health counts the live
processes that run jobs: without one, queued work waits for nobody. A process that stops cleanly removes its row;
one that was killed leaves a row that stops being seen, and rows unseen for PRUNE_AFTER are deleted.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from . import clock, db
from .models import ProcessHeartbeat

log = logging.getLogger(__name__)

BEAT_SECONDS = 10.0  # NOTE: jobs/heartbeat.py beats this often
ALIVE_SECONDS = 30.0
PRUNE_AFTER = timedelta(days=1)
ROLES = ('serve', 'worker', 'scp')


def beat(process_id: str, *, role: str, host: str, pid: int, jobs: bool) -> None:
    """Record that this process is alive now (its row is written again if it was pruned or the database restored)."""
    now = clock.now()
    with db.transaction() as session:
        seen = session.exec(
            update(ProcessHeartbeat).where(col(ProcessHeartbeat.id) == process_id).values(seen_at=now, jobs=jobs)
        )
        if not seen.rowcount:
            session.add(
                ProcessHeartbeat(
                    id=process_id, role=role, host=host[:255], pid=pid, jobs=jobs, started_at=now, seen_at=now
                )
            )


def leave(process_id: str) -> None:
    """Remove this process's row: it stops cleanly and is no longer counted."""
    with db.transaction() as session:
        session.exec(delete(ProcessHeartbeat).where(col(ProcessHeartbeat.id) == process_id))


def alive(*, jobs: bool | None = None) -> int:
    """How many processes beat within ALIVE_SECONDS; `jobs=True` counts only those that run job workers."""
    with db.reading() as session:
        return count_alive(session, clock.now(), jobs=jobs)


def count_alive(session: Session, now: datetime, *, jobs: bool | None = None) -> int:
    """`alive()` inside a caller's session (/health reads its facts in one)."""
    query = select(func.count()).where(ProcessHeartbeat.seen_at >= now - timedelta(seconds=ALIVE_SECONDS))
    if jobs is not None:
        query = query.where(ProcessHeartbeat.jobs == jobs)
    return session.exec(query).one()


def listing() -> list[ProcessHeartbeat]:
    """Every known process, the most recently seen first (dead ones included until pruned)."""
    with db.reading() as session:
        return list(session.exec(select(ProcessHeartbeat).order_by(col(ProcessHeartbeat.seen_at).desc())).all())


def prune() -> int:
    """Delete the rows of processes unseen for PRUNE_AFTER; returns how many."""
    with db.transaction() as session:
        gone = session.exec(delete(ProcessHeartbeat).where(col(ProcessHeartbeat.seen_at) < clock.now() - PRUNE_AFTER))
    if gone.rowcount:
        log.info('forgot %d processes unseen for a day', gone.rowcount)
    return gone.rowcount
