"""The radiologists' reading worklist: studies ready to read, urgent first, then oldest.

A study is waiting to be read while it is ready and has no final report. A radiologist claims one; a
technician or an admin assigns one to a radiologist. The turnaround (time since the first image arrived) turns amber and
red past thresholds the administrator sets (options turnaround_amber_minutes / turnaround_red_minutes).
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, false, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from . import appointments, audit, centres, clock, db, events, options
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotFound
from .models import Centre, Patient, Report, Study, User, display_name, display_person_name

log = logging.getLogger(__name__)

READY = 'ready'
DONE_REPORTS = ('final', 'addended')
MINE, UNASSIGNED = 'mine', 'unassigned'
# Ready and not reported (domain.reporting.finalise marks a study in the signing transaction; index ix_study_unread).
UNREAD = (col(Study.state) == READY, col(Study.reported) == false())
WORKLIST_ORDER = (col(Study.urgent).desc(), col(Study.first_arrival), col(Study.id))  # urgent first, then oldest


@dataclass(frozen=True)
class ReadingRow:
    study_id: int
    urgent: bool
    patient_name: str
    patient_id: str
    modalities: str
    description: str
    accession_number: str
    short_id: str
    study_date: date | None
    arrived_at: datetime
    waited_minutes: int
    level: str  # '', 'amber', 'red'
    assigned_to_id: int | None
    assigned_to: str
    report_state: str
    centre: str = ''  # the diagnostic centre's name, once the reading group serves several (domain.centres)


def worklist(
    *, by: Actor, modality: str = '', on: date | None = None, who: str = '', limit: int = 200
) -> list[ReadingRow]:
    """Studies ready to read (no final report yet): urgent first, then oldest; optional filters."""
    require(by, Permission.READ_IMAGES)
    query = (
        select_columns(*_ROW_COLUMNS)
        .where(*_waiting(by=by, modality=modality, on=on, who=who))
        .join(Patient, col(Patient.id) == Study.patient_ref_id, isouter=True)
        .join(User, col(User.id) == Study.assigned_to_id, isouter=True)
        .order_by(*WORKLIST_ORDER)
    )
    levels = thresholds()
    with db.reading() as session:
        rows = session.execute(query.limit(limit)).all()
        drafts = dict(
            session.exec(
                select(Report.study_id, Report.state).where(col(Report.study_id).in_([row[0] for row in rows]))
            ).all()
        )
        with centres.unscoped():
            names = dict(session.exec(select(Centre.id, Centre.name)).all())
    if len(names) < 2:  # one centre: nothing to tell apart
        names = {}
    now = clock.now()
    return [_row(row, now, levels, drafts, names) for row in rows]


# The worklist's columns only (in _row's order): whole studies, patients and users were most of a view's CPU.
_ROW_COLUMNS: tuple[Any, ...] = (
    col(Study.id),
    col(Study.urgent),
    col(Study.patient_name),
    col(Study.dicom_patient_id),
    col(Study.modalities),
    col(Study.description),
    col(Study.accession_number),
    col(Study.short_id),
    col(Study.study_date),
    col(Study.first_arrival),
    col(Study.assigned_to_id),
    col(Study.centre_id),
    col(Patient.id).label('patient_ref'),
    col(Patient.family_name),
    col(Patient.given_name),
    col(Patient.middle_name),
    col(Patient.patient_id),
    col(User.full_name),
    col(User.username),
)


def _row(row: Any, now: datetime, levels: tuple[int, int], drafts: dict[int, str], names: dict[Any, str]) -> ReadingRow:
    (
        study_id,
        urgent,
        dicom_name,
        dicom_patient_id,
        modalities,
        description,
        accession_number,
        short_id,
        study_date,
        first_arrival,
        assigned_to_id,
        centre_id,
        patient_ref,
        family_name,
        given_name,
        middle_name,
        patient_id,
        full_name,
        username,
    ) = row
    amber, red = levels
    arrived = clock.as_utc(first_arrival)
    waited = max(0, int((now - arrived).total_seconds() // 60))
    level = 'red' if waited >= red else 'amber' if waited >= amber else ''
    known = patient_ref is not None
    return ReadingRow(
        study_id or 0,
        urgent,
        display_name(family_name, given_name, middle_name) if known else display_person_name(dicom_name),
        patient_id if known else dicom_patient_id,
        modalities,
        description,
        accession_number,
        short_id or '',
        study_date,
        arrived,
        waited,
        level,
        assigned_to_id,
        (full_name or username) if username is not None else '',
        drafts.get(study_id or 0, ''),
        names.get(centre_id or 0, ''),
    )


def next_unread(current_study_id: int, *, by: Actor) -> int | None:
    """The study the viewer's "Next unread" opens: the one after this in the worklist's default list (same order,
    no filters), else the first before it; None when no other study waits to be read."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        waiting = list(session.exec(select(Study.id).where(*_waiting(by=by)).order_by(*WORKLIST_ORDER)).all())
    if current_study_id in waiting:
        at = waiting.index(current_study_id)
        waiting = waiting[at + 1 :] + waiting[:at]
    return waiting[0] if waiting else None


def mark_reported(session: Session) -> int:
    """Mark every study with a signed report that is not marked (rows restored from an archive made before the mark
    existed, migration 0016); returns how many were marked."""
    signed = exists().where(col(Report.study_id) == Study.id, col(Report.state).in_(DONE_REPORTS))
    with centres.unscoped():
        marked = session.execute(
            update(Study).where(col(Study.reported) == false(), signed).values(reported=True).returning(col(Study.id))
        )
    return len(marked.all())


def _waiting(*, by: Actor, modality: str = '', on: date | None = None, who: str = '') -> list[Any]:
    """The worklist's conditions on Study: ready, not reported, and the optional filters."""
    conditions: list[Any] = list(UNREAD)
    if modality:
        conditions.append(col(Study.modalities).contains(modality.strip().upper()))
    if on is not None:
        conditions.append(Study.study_date == on)
    if who == MINE:
        conditions.append(Study.assigned_to_id == by.user_id)
    elif who == UNASSIGNED:
        conditions.append(col(Study.assigned_to_id).is_(None))
    return conditions


def thresholds() -> tuple[int, int]:
    """The amber and red turnaround thresholds in minutes."""
    return int(options.get('turnaround_amber_minutes')), int(options.get('turnaround_red_minutes'))


def claim(study_id: int, *, by: Actor) -> Study:
    """A radiologist takes a study to read (unless a colleague already has it)."""
    require(by, Permission.CLAIM_STUDIES)
    with db.transaction() as session:
        study = _get(session, study_id)
        if study.assigned_to_id not in (None, by.user_id):
            raise Conflict('A colleague is already reading this study')
        study.assigned_to_id, study.assigned_at = by.user_id, clock.now()
        session.add(study)
        audit.record(session, by, 'study.claim', study)
        events.publish_after(session, events.StudyUpdated(study_id, study.state))
    return study


def release(study_id: int, *, by: Actor) -> Study:
    """Give back a claimed study (the one who holds it, or an admin)."""
    require(by, Permission.READ_IMAGES)
    with db.transaction() as session:
        study = _get(session, study_id)
        if study.assigned_to_id != by.user_id:
            require(by, Permission.ASSIGN_STUDIES)
        previous = study.assigned_to_id
        study.assigned_to_id, study.assigned_at = None, None
        session.add(study)
        audit.record(session, by, 'study.release', study, detail={'from': previous})
        events.publish_after(session, events.StudyUpdated(study_id, study.state))
    return study


def assign(study_id: int, user_id: int, *, by: Actor) -> Study:
    """A technician or an admin gives a study to a radiologist."""
    require(by, Permission.ASSIGN_READERS)
    with db.transaction() as session:
        study = _get(session, study_id)
        doctor = session.get(User, user_id)
        if doctor is None or not doctor.active or doctor.role != 'radiologist':
            raise InvalidInput('Studies are assigned to active radiologists')
        previous = study.assigned_to_id
        study.assigned_to_id, study.assigned_at = user_id, clock.now()
        session.add(study)
        audit.record(session, by, 'study.assign', study, detail={'from': previous, 'to': user_id})
        events.publish_after(session, events.StudyUpdated(study_id, study.state))
    return study


def set_urgent(study_id: int, urgent: bool, *, by: Actor) -> Study:
    """Mark a study urgent (or not) after booking; its appointment follows."""
    require(by, Permission.READ_IMAGES)
    with db.transaction() as session:
        study = _get(session, study_id)
        previous, study.urgent = study.urgent, urgent
        session.add(study)
        audit.record(
            session, by, 'study.urgent', study, detail={'urgent': urgent, 'changes': {'urgent': [previous, urgent]}}
        )
        events.publish_after(session, events.StudyUpdated(study_id, study.state))
    if study.appointment_id is not None:
        appointments.set_urgent(study.appointment_id, urgent, by=_as_system(by))
    return study


def radiologists(*, by: Actor) -> list[tuple[int, str]]:
    """The active radiologists a study can be assigned to."""
    require(by, Permission.ASSIGN_READERS)
    with db.reading() as session:
        rows = session.exec(
            select(User).where(User.role == 'radiologist', col(User.active).is_(True)).order_by(col(User.username))
        ).all()
    return [(u.id or 0, u.full_name or u.username) for u in rows]


def _get(session: Session, study_id: int) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise NotFound('No such study')
    return study


def _as_system(by: Actor) -> Actor:
    from .access import system

    return system(f'reading:{by.username}')
