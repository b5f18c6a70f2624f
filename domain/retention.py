"""Retention: rules that pick old studies, a preview of what a rule would remove, and runs an administrator confirmed.

A rule (domain/retention_rules.py) names a modality (or any), a description text (or any: contained in the study's
or one of its series' descriptions, in any case and script) and a minimum age (the study date, or for a study
without one the day it arrived, at least that many months ago). Nothing is removed from a rule alone: `preview`
lists the studies it picks and what they hold, leaving out (and counting, with the reason) studies under legal hold
or of a patient under legal hold; `confirm` records exactly the studies the administrator saw and queues one job
(RUN_JOB). The job (`run`, domain/retention_runs.py) moves each confirmed study that still matches and is not held
at that moment into the trash (domain/trash.py `trash_study`); every other one is skipped with its reason. Nothing
outside the confirmed list is ever touched. Rule changes, previews, confirmations, runs and legal holds are audited.
"""

import calendar
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import Session, col, select

from . import audit, clock, db, events, folding, options, work
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput, NotFound
from .models import Patient, RetentionRule, RetentionRun, RetentionRunStudy, Series, Study, display_person_name

log = logging.getLogger(__name__)

RUN_JOB = 'run_retention'
STUDY_HELD = N_('The study is under legal hold')
PATIENT_HELD = N_('The patient is under legal hold')
BATCH = 5000


@dataclass(frozen=True)
class PreviewStudy:
    """A study a rule picks (or holds back): what the administrator checks before confirming."""

    id: int
    study_date: date | None
    modalities: str
    description: str
    patient_id: str  # the clinic's Patient ID, or the one the modality sent for an unmatched study
    patient_name: str
    size_bytes: int
    instances: int
    held_because: str = ''  # '' when it would be removed; else STUDY_HELD or PATIENT_HELD


@dataclass(frozen=True)
class Preview:
    """What a rule would move to the trash now, and what a legal hold keeps back."""

    rule_id: int
    rule_name: str
    cutoff: date  # studies of this day or older
    studies: tuple[PreviewStudy, ...]
    held: tuple[PreviewStudy, ...]
    trash_days: int = 30  # how long the trash keeps what a run moves there (option trash_days)

    @property
    def size_bytes(self) -> int:
        return sum(study.size_bytes for study in self.studies)

    @property
    def study_ids(self) -> list[int]:
        return [study.id for study in self.studies]


@dataclass(frozen=True)
class Hold:
    """Whether a patient or study is under legal hold (for a study: also whether its patient is)."""

    held: bool
    patient_held: bool = False


# ---------------------------------------------------------------- preview and confirmation


def preview(rule_id: int, *, by: Actor) -> Preview:
    """The studies the rule would move to the trash now (oldest first), and those a legal hold keeps back."""
    require(by, Permission.MANAGE_RETENTION)
    with db.transaction() as session:
        rule = rule_of(session, rule_id)
        cutoff = cutoff_date(rule.min_age_months)
        rows = session.exec(
            select(Study, Patient)
            .outerjoin(Patient, col(Patient.id) == col(Study.patient_ref_id))
            .where(*picks(rule, cutoff))
            .order_by(col(Study.study_date), col(Study.id))
        ).all()
        shown = [_shown(study, patient) for study, patient in rows]
        result = Preview(
            rule.id or 0,
            rule.name,
            cutoff,
            tuple(study for study in shown if not study.held_because),
            tuple(study for study in shown if study.held_because),
            int(options.read(session, 'trash_days')),
        )
        detail = {'studies': len(result.studies), 'held': len(result.held), 'bytes': result.size_bytes}
        audit.record(session, by, 'retention.preview', rule, detail=detail)
    return result


def confirm(rule_id: int, study_ids: list[int], *, by: Actor) -> int:
    """Record the studies the administrator confirmed from the preview and queue the run; the run's id."""
    require(by, Permission.MANAGE_RETENTION)
    chosen = sorted({int(study_id) for study_id in study_ids})
    if not chosen:
        raise InvalidInput('The preview lists no study to move to the trash')
    with db.transaction() as session:
        rule = rule_of(session, rule_id)
        if not rule.enabled:
            raise Conflict('The rule {name} is disabled', name=rule.name)
        sizes = _sizes(session, chosen)
        run = RetentionRun(rule_id=rule.id, rule_name=rule.name, confirmed_by=by.username[:64])
        session.add(run)
        session.flush()
        for study_id in chosen:
            session.add(RetentionRunStudy(run_id=run.id or 0, study_id=study_id, size_bytes=sizes.get(study_id, 0)))
        detail = {'rule_id': rule.id, 'rule': rule.name, 'studies': len(chosen), 'bytes': sum(sizes.values())}
        audit.record(session, by, 'retention.confirm', run, detail=detail)
        work.enqueue(session, RUN_JOB, run.id or 0)
    log.info('retention run %s confirmed: rule %s, %d studies', run.id, rule_id, len(chosen))
    return run.id or 0


# ---------------------------------------------------------------- legal holds


def set_legal_hold(
    *, patient_id: int | None = None, study_id: int | None = None, held: bool, by: Actor, reason: str
) -> None:
    """Put a patient or a study under legal hold (never removed, by a rule or by hand) or release it; audited."""
    require(by, Permission.MANAGE_RETENTION)
    if (patient_id is None) == (study_id is None):
        raise InvalidInput('Name either a patient or a study')
    reason = (reason or '').strip()
    if not reason or len(reason) > 500:
        message = N_('Say why (a case, a request) in at most 500 characters')
        raise InvalidInput(message, {'reason': message})
    with db.transaction() as session:
        row = _held_object(session, patient_id, study_id)
        kind = 'patient' if isinstance(row, Patient) else 'study'
        before, row.legal_hold = row.legal_hold, held
        session.add(row)
        action = f'{kind}.legal_hold' if held else f'{kind}.legal_hold_release'
        audit.record(session, by, action, row, detail={'legal_hold': [before, held], 'reason': reason})
        if isinstance(row, Patient):
            events.publish_after(session, events.PatientChanged(row.id or 0))
        else:
            events.publish_after(session, events.StudyUpdated(row.id or 0, row.state))
    log.info('%s %s: legal hold %s', kind, row.id, 'on' if held else 'off')


def hold_of(*, patient_id: int | None = None, study_id: int | None = None, by: Actor) -> Hold:
    """Whether the patient, or the study (and its patient), is under legal hold."""
    require(by, Permission.VIEW_PATIENTS if patient_id is not None else Permission.VIEW_STUDIES)
    with db.reading() as session:
        if patient_id is not None:
            patient = _held_object(session, patient_id, None)
            return Hold(patient.legal_hold, patient.legal_hold)
        study = _held_object(session, None, study_id)
        assert isinstance(study, Study)
        owner = session.get(Patient, study.patient_ref_id) if study.patient_ref_id else None
        return Hold(study.legal_hold, bool(owner and owner.legal_hold))


# ---------------------------------------------------------------- rules and matching (also the run's check)


def rule_of(session: Session, rule_id: int) -> RetentionRule:
    """The rule, or NotFound."""
    rule = session.get(RetentionRule, rule_id)
    if rule is None:
        raise NotFound('No retention rule {rule_id}', rule_id=rule_id)
    return rule


def cutoff_date(min_age_months: int, today: date | None = None) -> date:
    """The newest study date old enough for a rule: today less that many months (the day clamped to the month)."""
    today = today or clock.now().date()
    year, month = divmod(today.year * 12 + today.month - 1 - min_age_months, 12)
    return date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def picks(rule: RetentionRule, cutoff: date) -> list[ColumnElement[bool]]:
    """The conditions a study meets when the rule picks it (legal holds not yet considered)."""
    arrived_before = datetime.combine(cutoff + timedelta(days=1), time(), UTC)
    conditions = [
        or_(
            col(Study.study_date) <= cutoff,
            and_(col(Study.study_date).is_(None), col(Study.first_arrival) < arrived_before),
        )
    ]
    if rule.modality:
        conditions.append(
            exists().where(col(Series.study_id) == col(Study.id), func.upper(Series.modality) == rule.modality.upper())
        )
    if rule.description:
        text = folding.fold(rule.description)
        conditions.append(
            or_(
                col(Study.description_folded).contains(text, autoescape=True),
                exists().where(
                    col(Series.study_id) == col(Study.id),
                    col(Series.description_folded).contains(text, autoescape=True),
                ),
            )
        )
    return conditions


def held_because(study: Study, patient: Patient | None) -> str:
    """Why a legal hold keeps the study ('' when none does)."""
    if study.legal_hold:
        return STUDY_HELD
    return PATIENT_HELD if patient is not None and patient.legal_hold else ''


# ---------------------------------------------------------------- helpers


def _held_object(session: Session, patient_id: int | None, study_id: int | None) -> Patient | Study:
    if patient_id is not None:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise NotFound('No patient {patient_id}', patient_id=patient_id)
        return patient
    study = session.get(Study, study_id)
    if study is None:
        raise NotFound('No study {study_id}', study_id=study_id)
    return study


def _sizes(session: Session, study_ids: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for start in range(0, len(study_ids), BATCH):  # a bounded IN list: PostgreSQL takes at most 65,535 parameters
        chunk = study_ids[start : start + BATCH]
        rows = session.exec(select(Study.id, Study.size_bytes).where(col(Study.id).in_(chunk))).all()
        sizes.update((study_id or 0, size) for study_id, size in rows)
    return sizes


def _shown(study: Study, patient: Patient | None) -> PreviewStudy:
    return PreviewStudy(
        id=study.id or 0,
        study_date=study.study_date,
        modalities=study.modalities,
        description=study.description,
        patient_id=patient.patient_id if patient is not None else study.dicom_patient_id,
        patient_name=patient.name if patient is not None else display_person_name(study.patient_name),
        size_bytes=study.size_bytes,
        instances=study.num_instances,
        held_because=held_because(study, patient),
    )
