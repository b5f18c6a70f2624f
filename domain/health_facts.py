"""What /health reports beyond "it answers": live job workers, work waiting too long, studies that stopped moving.

Each is one indexed query (job.state, study.state, process_heartbeat.seen_at), cheap enough for a monitor's poll.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from . import clock, db, heartbeats
from .backup_schedule import BACKUP_JOB, DRILL_JOB
from .models import Job, Study
from .retention import RUN_JOB as RETENTION_JOB

# A job waiting (queued, or running but for the long kinds below) longer than this: nobody does the work.
PENDING_LIMIT_S = 900
# A study still receiving this long after its last image: its "is the study complete?" decision was lost. The quiet
# period is the administrator's option study_quiet_seconds (domain/options.py, read by jobs/media.py and the sweeper),
# at most 120 s (domain/option_rules.py), so a fixed limit holds for any setting; what is left of it beyond the quiet
# period covers a backlog of the decisions behind a large push.
RECEIVING_LIMIT_S = 300
# A study still processing (metadata, thumbnails) this long after its last image: its jobs failed or were lost.
PROCESSING_LIMIT_S = 1800
# Jobs that run for an hour or more by design (a backup of a terabyte): running, they are not "waiting";
# a failed backup shows in /health's backup state.
LONG_JOBS = (BACKUP_JOB, DRILL_JOB, RETENTION_JOB)
RECEIVING, PROCESSING = 'receiving', 'processing'  # NOTE: the states of domain/studies.py


@dataclass(frozen=True)
class Facts:
    workers_alive: int  # processes running job workers that beat within heartbeats.ALIVE_SECONDS
    processes_alive: int  # every live serve, worker and scp process
    oldest_pending_seconds: float | None  # None: nothing waits
    stuck_receiving: int
    stuck_processing: int

    @property
    def stuck_studies(self) -> int:
        return self.stuck_receiving + self.stuck_processing


def limits() -> dict[str, int]:
    """The bounds /health judges by, named as they appear in its answer."""
    return {
        'heartbeat_seconds': int(heartbeats.ALIVE_SECONDS),
        'pending_seconds': PENDING_LIMIT_S,
        'receiving_seconds': RECEIVING_LIMIT_S,
        'processing_seconds': PROCESSING_LIMIT_S,
    }


def gather(now: datetime | None = None) -> Facts:
    """Read the facts in one short session."""
    now = now or clock.now()
    with db.reading() as session:
        return Facts(
            workers_alive=heartbeats.count_alive(session, now, jobs=True),
            processes_alive=heartbeats.count_alive(session, now),
            oldest_pending_seconds=_oldest_pending(session, now),
            stuck_receiving=_stuck(session, RECEIVING, now - timedelta(seconds=RECEIVING_LIMIT_S)),
            stuck_processing=_stuck(session, PROCESSING, now - timedelta(seconds=PROCESSING_LIMIT_S)),
        )


def _oldest_pending(session: Session, now: datetime) -> float | None:
    """Seconds since the longest-waiting job last moved: queued (or queued again for a retry), or its attempt began.

    Not since it was created: an administrator's retry of last month's failed job is not a month overdue.
    """
    # two queries, each on ix_job_state: one with OR reads the whole table on SQLite
    queued = session.exec(select(func.min(Job.updated_at)).where(Job.state == 'queued')).one()
    running = session.exec(
        select(func.min(Job.updated_at)).where(Job.state == 'running', col(Job.kind).not_in(LONG_JOBS))
    ).one()  # NOTE: the states of domain/work.py ACTIVE
    moments = [_aware(moment) for moment in (queued, running) if moment is not None]
    oldest = min(moments) if moments else None
    if oldest is None:
        return None
    return max(0.0, round((now - oldest).total_seconds(), 1))


def _stuck(session: Session, state: str, last_arrival_before: datetime) -> int:
    return session.exec(
        select(func.count()).where(Study.state == state, Study.last_arrival < last_arrival_before)
    ).one()


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite's MIN() of a datetime column comes back as its text
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
