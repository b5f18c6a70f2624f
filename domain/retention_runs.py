"""A confirmed retention run: the job that moves the confirmed studies into the trash, and its record on screen.

`run` is the body of the RUN_JOB job (jobs/retention.py). It goes through the studies the administrator confirmed
(retention_run_study rows, never anything else) and, for each one still pending, checks again, at that moment,
that the study is on file, still matches the rule and is under no legal hold; only then does it call
`trash.trash_study`, which refuses a held study itself, so a hold placed in between still wins. Each study's outcome
is recorded as it is decided, so a run that stops half-way (a crash, a retry) continues with the studies left.
Start and end are audited with their counts.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from . import audit, clock, db, retention, trash
from .access import Actor, Permission, require, system
from .errors import N_, DomainError, NotFound
from .models import Job, Patient, RetentionRule, RetentionRun, RetentionRunStudy, Study, TrashItem

log = logging.getLogger(__name__)

PENDING, REMOVED, SKIPPED = 'pending', 'removed', 'skipped'
RULE_GONE = N_('The rule was deleted after the confirmation')
RULE_DISABLED = N_('The rule was disabled after the confirmation')
NO_LONGER_MATCHES = N_('The study no longer matches the rule')
IN_TRASH = N_('The study is already in the trash')
GONE = N_('The study is no longer on file')


@dataclass(frozen=True)
class RunRow:
    """A confirmed run as the Retention screen lists it, with its job's state (failed runs wait under Jobs)."""

    id: int
    rule_id: int | None
    rule_name: str
    confirmed_by: str
    confirmed_at: datetime
    state: str  # queued, running, done
    studies: int
    removed: int
    skipped: int
    freed_bytes: int
    job_state: str  # the database job's: queued, running, done, failed ('' when none)
    job_error: str


@dataclass(frozen=True)
class RunStudy:
    """One confirmed study of a run and its outcome."""

    study_id: int
    outcome: str  # pending, removed, skipped
    reason: str
    size_bytes: int


def run(run_id: int) -> None:
    """Move every confirmed study that still matches and is not held into the trash; the others are skipped."""
    actor = system('retention')
    rule_name = _start(run_id, actor)
    if rule_name is None:
        return
    for item_id, study_id in _pending(run_id):
        reason = _why_not(run_id, study_id)
        if reason is None:
            try:
                trash.trash_study(study_id, by=actor, reason=f'retention rule "{rule_name}"')
            except DomainError as error:  # trash refuses what it must not take (a hold placed a moment ago)
                reason = str(error)
        _decided(item_id, reason)
    _finish(run_id, actor)


def runs(*, by: Actor, limit: int = 20) -> list[RunRow]:
    """The newest confirmed runs with their counts and their job's state."""
    require(by, Permission.MANAGE_RETENTION)
    with db.reading() as session:
        rows = session.exec(select(RetentionRun).order_by(col(RetentionRun.id).desc()).limit(limit)).all()
        ids = [row.id for row in rows]
        totals: dict[int, dict[str, tuple[int, int]]] = {}
        for run_id, outcome, count, size in session.exec(
            select(
                RetentionRunStudy.run_id,
                RetentionRunStudy.outcome,
                func.count(),
                func.coalesce(func.sum(RetentionRunStudy.size_bytes), 0),
            )
            .where(col(RetentionRunStudy.run_id).in_(ids))
            .group_by(col(RetentionRunStudy.run_id), col(RetentionRunStudy.outcome))
        ).all():
            totals.setdefault(run_id, {})[outcome] = (count, int(size))
        jobs = {
            job.object_id: job
            for job in session.exec(
                select(Job).where(Job.kind == retention.RUN_JOB, col(Job.object_id).in_(ids)).order_by(col(Job.id))
            ).all()
        }
    return [_run_row(row, totals.get(row.id or 0, {}), jobs.get(row.id or 0)) for row in rows]


def run_studies(run_id: int, *, by: Actor) -> list[RunStudy]:
    """The confirmed studies of a run with what became of each."""
    require(by, Permission.MANAGE_RETENTION)
    with db.reading() as session:
        if session.get(RetentionRun, run_id) is None:
            raise NotFound('No retention run {run_id}', run_id=run_id)
        rows = session.exec(
            select(RetentionRunStudy).where(RetentionRunStudy.run_id == run_id).order_by(col(RetentionRunStudy.id))
        ).all()
    return [RunStudy(row.study_id, row.outcome, row.reason, row.size_bytes) for row in rows]


# ---------------------------------------------------------------- helpers


def _start(run_id: int, actor: Actor) -> str | None:
    """Mark the run running (audited once); its rule's name, or None when it is done or gone."""
    with db.transaction() as session:
        row = session.get(RetentionRun, run_id)
        if row is None or row.state == 'done':
            return None
        if row.started_at is None:
            row.state, row.started_at = 'running', clock.now()
            session.add(row)
            studies = session.exec(select(func.count()).where(RetentionRunStudy.run_id == run_id)).one()
            detail = {'rule_id': row.rule_id, 'rule': row.rule_name, 'studies': studies}
            audit.record(session, actor, 'retention.run.start', row, detail=detail)
        return row.rule_name


def _pending(run_id: int) -> list[tuple[int, int]]:
    with db.reading() as session:
        rows = session.exec(
            select(RetentionRunStudy.id, RetentionRunStudy.study_id)
            .where(RetentionRunStudy.run_id == run_id, RetentionRunStudy.outcome == PENDING)
            .order_by(col(RetentionRunStudy.id))
        ).all()
    return [(item_id or 0, study_id) for item_id, study_id in rows]


def _why_not(run_id: int, study_id: int) -> str | None:
    """Why the study must stay now (None: it goes): the rule, the study's match and legal holds checked afresh."""
    with db.reading() as session:
        row = session.get(RetentionRun, run_id)
        rule = session.get(RetentionRule, row.rule_id) if row is not None and row.rule_id is not None else None
        if rule is None:
            return RULE_GONE
        if not rule.enabled:
            return RULE_DISABLED
        study = session.get(Study, study_id)
        if study is None:
            trashed = session.exec(
                select(TrashItem.id).where(TrashItem.kind == 'study', TrashItem.study_id == study_id)
            )
            return IN_TRASH if trashed.first() is not None else GONE
        cutoff = retention.cutoff_date(rule.min_age_months)
        if (
            session.exec(select(Study.id).where(col(Study.id) == study_id, *retention.picks(rule, cutoff))).first()
            is None
        ):
            return NO_LONGER_MATCHES
        patient = session.get(Patient, study.patient_ref_id) if study.patient_ref_id else None
        return retention.held_because(study, patient) or None


def _decided(item_id: int, reason: str | None) -> None:
    with db.transaction() as session:
        item = session.get(RetentionRunStudy, item_id)
        if item is None or item.outcome != PENDING:
            return
        item.outcome, item.reason = (REMOVED, '') if reason is None else (SKIPPED, reason[:200])
        item.done_at = clock.now()
        session.add(item)


def _finish(run_id: int, actor: Actor) -> None:
    with db.transaction() as session:
        row = session.get(RetentionRun, run_id)
        if row is None or row.state == 'done':
            return
        items = session.exec(select(RetentionRunStudy).where(RetentionRunStudy.run_id == run_id)).all()
        removed = [item for item in items if item.outcome == REMOVED]
        row.removed, row.skipped = len(removed), sum(item.outcome == SKIPPED for item in items)
        row.freed_bytes = sum(item.size_bytes for item in removed)
        row.state, row.finished_at = 'done', clock.now()
        session.add(row)
        detail = {
            'rule_id': row.rule_id,
            'rule': row.rule_name,
            'removed': row.removed,
            'skipped': row.skipped,
            'bytes': row.freed_bytes,
        }
        audit.record(session, actor, 'retention.run.end', row, detail=detail)
    log.info('retention run %s done: %d removed, %d skipped', run_id, row.removed, row.skipped)


def _run_row(row: RetentionRun, outcomes: dict[str, tuple[int, int]], job: Job | None) -> RunRow:
    return RunRow(
        id=row.id or 0,
        rule_id=row.rule_id,
        rule_name=row.rule_name,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
        state=row.state,
        studies=sum(count for count, _size in outcomes.values()),
        removed=outcomes.get(REMOVED, (0, 0))[0],
        skipped=outcomes.get(SKIPPED, (0, 0))[0],
        freed_bytes=outcomes.get(REMOVED, (0, 0))[1],
        job_state=job.state if job is not None else '',
        job_error=(job.error or '') if job is not None else '',
    )
