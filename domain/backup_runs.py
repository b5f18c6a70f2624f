"""Backup runs as database jobs: what the scheduler and the administrator start, and what each run found.

A run is a BackupRun row and its job (run_backup or run_drill, object id = the run) made in one transaction, so a
failed backup is a failed job: shown with its error and Retry on the Jobs screen and the Backups screen. A scheduled
run carries its slot ('full:2026-12-01'); the slot is unique, so two processes asking at once start it only once.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from . import audit, backup, backup_schedule, clock, db, events, sealed, work
from .access import Actor, Permission, require
from .backup_archive import ArchiveInfo
from .backup_schedule import BACKUP_JOB, BACKUPS, DRILL_JOB, DRILLS, BackupState, Policy, RunView
from .errors import N_, Conflict, InvalidInput, NotFound
from .models import BackupRun, Job

log = logging.getLogger(__name__)

RECENT = 400  # runs due() and state() look at: more than a week of hourly backups


@dataclass(frozen=True)
class RunRow:
    """A run as the Backups screen lists it (state and error from its job)."""

    id: int
    kind: str
    state: str  # queued, running, done, failed
    job_id: int | None
    triggered_by: str
    created_at: datetime
    finished_at: datetime | None
    archive: str
    size_bytes: int
    files: int
    rows: int
    verified_at: datetime | None
    outcome: str
    error: str | None


@dataclass(frozen=True)
class Plan:
    """What a run's job is to do, read fresh when it starts."""

    run_id: int
    kind: str
    target: Path
    keep_full: int
    recipient: sealed.Recipient | None


def status(now: datetime | None = None) -> BackupState:
    """The backup state now, for /health and the admin home (no patient data: no permission needed)."""
    return backup_schedule.state(backup_schedule.policy(), _views(), now or clock.now())


def start_due(*, by: Actor, now: datetime | None = None) -> list[int]:
    """Start what the schedule asks for now (the scheduler's tick); returns the new runs' ids."""
    require(by, Permission.MANAGE_SETTINGS)
    current = backup_schedule.policy()
    started = []
    for due in backup_schedule.due(current, _views(), now or clock.now()):
        try:
            started.append(_start(due.kind, current, by=by, slot=due.slot))
        except IntegrityError:  # another process started this slot a moment ago
            log.info('backup slot %s already started elsewhere', due.slot)
    return started


def start_now(kind: str, *, by: Actor) -> int:
    """The administrator's "Back up now" (full or incremental) or "Drill now"; returns the run's id."""
    require(by, Permission.MANAGE_SETTINGS)
    current = backup_schedule.policy()
    if current.off_reason is not None:
        raise InvalidInput(current.off_reason)
    if kind not in (*BACKUPS, 'drill'):
        raise InvalidInput('Unknown kind of backup {kind}', kind=kind)
    if any(view.state in backup_schedule.ACTIVE for view in _views(limit=20)):
        raise Conflict('A backup or drill is already waiting or running')
    if kind == 'drill' and current.recipient_kind != 'passphrase':
        kind = 'check'
    return _start(kind, current, by=by)


def listing(*, by: Actor, limit: int = 50) -> list[RunRow]:
    """Runs newest first with their job's state and error (the Backups screen)."""
    require(by, Permission.MANAGE_SETTINGS)
    with db.reading() as session:
        found = session.exec(_joined().order_by(col(BackupRun.id).desc()).limit(limit)).all()
    return [_row(run, job) for run, job in found]


def last_drill(*, by: Actor) -> RunRow | None:
    """The newest finished drill or stored-archive check."""
    require(by, Permission.MANAGE_SETTINGS)
    with db.reading() as session:
        query = _joined().where(col(BackupRun.kind).in_(DRILLS), col(Job.state).in_(('done', 'failed')))
        found = session.exec(query.order_by(col(BackupRun.id).desc()).limit(1)).first()
    return _row(*found) if found else None


def archives(*, by: Actor) -> list[ArchiveInfo]:
    """The archives in the policy's folder, newest first, from their plain headers (no key needed)."""
    require(by, Permission.MANAGE_SETTINGS)
    target = backup_schedule.policy().target
    if not target or not Path(target).is_dir():
        return []
    return sorted(backup.archives(Path(target)), key=lambda info: (info.created_at, info.name), reverse=True)


def retry(run_id: int, *, by: Actor) -> None:
    """Queue a failed run's job again (audited by work.retry)."""
    require(by, Permission.MANAGE_JOBS)
    with db.reading() as session:
        run = session.get(BackupRun, run_id)
    if run is None or run.job_id is None:
        raise NotFound('No backup run {run_id}', run_id=run_id)
    work.retry(run.job_id, by=by)


def begin(run_id: int) -> Plan | None:
    """A run's job starts: None when it is finished or gone (a repeated delivery), else what to do."""
    current = backup_schedule.policy()
    with db.transaction() as session:
        run = session.get(BackupRun, run_id)
        if run is None or run.finished_at is not None:
            return None
        run.started_at, run.error = clock.now(), None
        session.add(run)
    recipient = _recipient(current)
    if recipient is None and run.kind in BACKUPS:
        raise InvalidInput(current.off_reason or N_('No backup recipient'))
    problem = backup_schedule.check_folder(run.target).problem
    if problem is not None:  # an unplugged disk: say so, and never write somewhere else instead
        raise InvalidInput(problem)
    return Plan(run_id, run.kind, Path(run.target), current.keep_full, recipient)


def backed_up(
    run_id: int,
    *,
    kind: str,
    archive: str,
    parent: str,
    size_bytes: int,
    files: int,
    rows: int,
    sha256: str,
    verified_at: datetime | None,
) -> None:
    """Record a written, read-back archive on its run (an incremental into a folder without a full became one)."""
    _finish(
        run_id,
        kind=kind,
        archive=archive,
        parent=parent,
        size_bytes=size_bytes,
        files=files,
        rows=rows,
        sha256=sha256,
        verified_at=verified_at or clock.now(),
    )


def drilled(run_id: int, *, by: Actor, archive: str, outcome: str, verified: bool) -> None:
    """Record what a drill or check found (audited); a failed one is raised by the job as well."""
    now = clock.now()
    with db.transaction() as session:
        run = _run(session, run_id)
        run.archive, run.outcome = archive, outcome
        if verified:
            run.verified_at, run.finished_at = now, now
        session.add(run)
        action = 'backup.drill' if run.kind == 'drill' else 'backup.check'
        audit.record(
            session,
            by,
            action,
            run,
            outcome='success' if verified else 'failure',
            detail={'archive': archive, 'outcome': outcome[:500]},
        )


def attempt_failed(run_id: int, error: str) -> None:
    """Keep a failed attempt's error on the run (its job holds it too, and says whether it is retried)."""
    with db.transaction() as session:
        run = session.get(BackupRun, run_id)
        if run is not None:
            run.error = error[:4000]
            session.add(run)


def recorded_sha256(archives: Sequence[str]) -> dict[str, str]:
    """The SHA-256 each named archive had when it was written and read back, by name."""
    with db.reading() as session:
        found = session.exec(
            select(BackupRun.archive, BackupRun.sha256).where(
                col(BackupRun.archive).in_(list(archives)), BackupRun.sha256 != ''
            )
        ).all()
    return {name: digest for name, digest in found}


def _start(kind: str, current: Policy, *, by: Actor, slot: str | None = None) -> int:
    with db.transaction() as session:
        run = BackupRun(kind=kind, slot=slot, target=current.target, triggered_by=by.username[:64])
        session.add(run)
        session.flush()
        job = work.enqueue(session, BACKUP_JOB if kind in BACKUPS else DRILL_JOB, run.id or 0)
        run.job_id = job.id
        session.add(run)
        audit.record(session, by, 'backup.start', run, detail={'kind': kind, 'slot': slot or ''})
        events.publish_after(session, events.JobChanged(job.id or 0, job.kind, 'queued'))
    log.info('backup run %s (%s) queued%s', run.id, kind, f' for {slot}' if slot else '')
    return run.id or 0


def _finish(run_id: int, **values: Any) -> None:
    with db.transaction() as session:
        run = _run(session, run_id)
        audit.apply_changes(run, {**values, 'finished_at': clock.now(), 'error': None})
        session.add(run)


def _run(session: Session, run_id: int) -> BackupRun:
    run = session.get(BackupRun, run_id)
    if run is None:
        raise NotFound('No backup run {run_id}', run_id=run_id)
    return run


def _recipient(current: Policy) -> sealed.Recipient | None:
    if current.public_key:
        return sealed.PublicKey(current.public_key)
    return backup_schedule.passphrase()


def _joined() -> Any:
    return select(BackupRun, Job).join(Job, col(Job.id) == col(BackupRun.job_id), isouter=True)


def _views(limit: int = RECENT) -> list[RunView]:
    with db.reading() as session:
        found = session.exec(_joined().order_by(col(BackupRun.id).desc()).limit(limit)).all()
    return [
        RunView(
            kind=run.kind,
            state=job.state if job else 'queued',
            created_at=run.created_at,
            slot=run.slot,
            target=run.target,
            verified_at=run.verified_at,
            error=_error(run, job),
        )
        for run, job in found
    ]


def _row(run: BackupRun, job: Job | None) -> RunRow:
    return RunRow(
        id=run.id or 0,
        kind=run.kind,
        state=job.state if job else 'queued',
        job_id=run.job_id,
        triggered_by=run.triggered_by,
        created_at=run.created_at,
        finished_at=run.finished_at,
        archive=run.archive,
        size_bytes=run.size_bytes,
        files=run.files,
        rows=run.rows,
        verified_at=run.verified_at,
        outcome=run.outcome,
        error=_error(run, job),
    )


def _error(run: BackupRun, job: Job | None) -> str | None:
    """The error of the last failed attempt, while the run is not done (a job keeps it after a good retry)."""
    if job is not None and job.state == 'done':
        return None
    return (job.error if job else None) or run.error
