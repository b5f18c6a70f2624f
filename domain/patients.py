"""Patients: register with validation and a duplicate check, edit field by field, history, merge and undo a merge.

Search, the duplicate check while typing and the timeline live in domain.patient_search; this module
changes patient records. Every change is audited with the fields it touched (old and new value), so a
merge can be undone from the audit trail's own data.
"""

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import date
from typing import TypedDict

from sqlalchemy import update
from sqlmodel import Session, col, select

from . import audit, centres, clock, db, events, patient_search
from .access import Actor, Permission, require
from .errors import N_, Conflict, DuplicatePatient, InvalidInput, NotFound
from .models import Appointment, AuditEvent, Patient, PatientCreate, Study

log = logging.getLogger(__name__)

FIELDS = (
    'family_name',
    'given_name',
    'middle_name',
    'birth_date',
    'sex',
    'phone',
    'email',
    'national_id',
    'address',
    'notes',
)
SEXES = ('M', 'F', 'O', 'U')
EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')
PHONE = re.compile(r'^\+?[0-9 ()./-]{6,30}$')
OLDEST_BIRTH_YEAR = 1880


class PatientValues(TypedDict):
    """A patient's details once checked: what a Patient row is made or updated from."""

    family_name: str
    given_name: str
    middle_name: str
    birth_date: date | None
    sex: str
    phone: str
    email: str
    national_id: str | None
    address: str
    notes: str


class NationalIdTaken(DuplicatePatient):
    """Another patient already holds this national ID; the form shows it beside that field."""

    field = 'national_id'


def register(data: PatientCreate, *, by: Actor, confirmed_new: bool = False) -> Patient:
    """Register a patient; a likely duplicate is refused unless the receptionist confirmed it is someone else."""
    require(by, Permission.EDIT_PATIENTS)
    values = validate(data)
    with db.transaction() as session:
        if not confirmed_new:
            twins = patient_search.duplicates_in(session, values)
            if twins and twins[0].strong:
                raise DuplicatePatient(twins[0].id, 'A patient with these details is already registered')
        _check_national_id(session, values['national_id'], None)
        patient = Patient(patient_id=f'NEW-{uuid.uuid4().hex}', centre_id=_centre_of_new(data, by), **values)
        patient.name_key = patient_search.name_key(patient.family_name, patient.given_name, patient.middle_name)
        session.add(patient)
        session.flush()
        patient.patient_id = _clinic_patient_id(patient.id or 0)
        patient_search.index_tokens(session, patient)
        audit.record(
            session,
            by,
            'patient.create',
            patient,
            detail={'patient_id': patient.patient_id, 'confirmed_new': confirmed_new},
        )
        events.publish_after(session, events.PatientChanged(patient.id or 0))
    log.info('patient %s registered as %s', patient.id, patient.patient_id)
    return patient


def update_details(patient_id: int, data: PatientCreate, *, by: Actor) -> Patient:
    """Change a patient's details; the audit event lists every field that changed, old and new."""
    require(by, Permission.EDIT_PATIENTS)
    values = validate(data)
    with db.transaction() as session:
        patient = _live(session, patient_id)
        _check_national_id(session, values['national_id'], patient.id)
        changes = {
            name: [_plain(getattr(patient, name)), _plain(value)]
            for name, value in values.items()
            if getattr(patient, name) != value
        }
        if not changes:
            return patient
        for name, value in values.items():
            setattr(patient, name, value)
        patient.name_key = patient_search.name_key(patient.family_name, patient.given_name, patient.middle_name)
        patient.updated_at = clock.now()
        session.add(patient)
        patient_search.index_tokens(session, patient)
        audit.record(session, by, 'patient.update', patient, detail={'changes': changes})
        events.publish_after(session, events.PatientChanged(patient.id or 0))
    log.info('patient %s updated (%s)', patient_id, ', '.join(sorted(changes)))
    return patient


def get(patient_id: int, *, by: Actor) -> Patient:
    """One patient's record (opening it is audited)."""
    require(by, Permission.VIEW_PATIENTS)
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise NotFound('No such patient')
        audit.record(session, by, 'patient.view', patient)
    return patient


def form_of(patient: Patient) -> PatientCreate:
    """The editable details of a patient, as a form to bind inputs to."""
    values = {name: getattr(patient, name) for name in FIELDS}
    values['birth_date'] = patient.birth_date.isoformat() if patient.birth_date else ''
    values['national_id'] = patient.national_id or ''
    return PatientCreate(**values)


def history(patient_id: int, *, by: Actor) -> Sequence[AuditEvent]:
    """Every recorded event about a patient (creation, edits, merges), oldest first."""
    return audit.history('patient', patient_id, by=by, permission=Permission.VIEW_PATIENTS)


def changes(patient_id: int, *, by: Actor) -> list[AuditEvent]:
    """What was done to a patient's record (registration, edits, merges), newest first; views are left out."""
    return [event for event in reversed(history(patient_id, by=by)) if event.action != 'patient.view']


def merge(source_id: int, target_id: int, *, by: Actor) -> Patient:
    """Move everything of a duplicate record (appointments, studies and their reports) onto the record to keep."""
    require(by, Permission.MERGE_PATIENTS)
    if source_id == target_id:
        raise InvalidInput('A record cannot be merged into itself')
    with db.transaction() as session:
        source, target = _live(session, source_id), _live(session, target_id)
        appointment_ids = list(session.exec(select(Appointment.id).where(Appointment.patient_id == source_id)).all())
        study_ids = list(session.exec(select(Study.id).where(Study.patient_ref_id == source_id)).all())
        session.exec(update(Appointment).where(col(Appointment.id).in_(appointment_ids)).values(patient_id=target_id))
        session.exec(update(Study).where(col(Study.id).in_(study_ids)).values(patient_ref_id=target_id))
        source.merged_into_id, source.updated_at = target_id, clock.now()
        session.add(source)
        detail = {
            'into': target_id,
            'into_patient_id': target.patient_id,
            'from_patient_id': source.patient_id,
            'appointments': appointment_ids,
            'studies': study_ids,
        }
        audit.record(session, by, 'patient.merge', source, detail=detail)
        audit.record(session, by, 'patient.merged-in', target, detail={'from': source_id, **detail})
        for changed in (source_id, target_id):
            events.publish_after(session, events.PatientChanged(changed))
    log.info(
        'patient %s merged into %s (%d appointments, %d studies)',
        source_id,
        target_id,
        len(appointment_ids),
        len(study_ids),
    )
    return target


def merge_into(source_id: int, kept_patient_id: str, *, by: Actor) -> Patient:
    """Merge a record into the one with this clinic Patient ID, typed as staff type it (case and spaces ignored)."""
    require(by, Permission.MERGE_PATIENTS)
    with db.transaction() as session:
        kept = session.exec(select(Patient.id).where(Patient.patient_id == kept_patient_id.strip().upper())).first()
    if kept is None:
        raise NotFound('No patient with this Patient ID')
    return merge(source_id, kept, by=by)


def undo_merge(source_id: int, *, by: Actor) -> Patient:
    """Bring back a merged record with exactly the appointments and studies the merge moved (from the audit data)."""
    require(by, Permission.MERGE_PATIENTS)
    with db.transaction() as session:
        source = session.get(Patient, source_id)
        if source is None:
            raise NotFound('No such patient')
        if source.merged_into_id is None:
            raise Conflict('This record is not merged into another')
        merge_event = session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.action == 'patient.merge',
                AuditEvent.object_type == 'patient',
                AuditEvent.object_id == str(source_id),
            )
            .order_by(col(AuditEvent.id).desc())
        ).first()
        if merge_event is None:
            raise Conflict('The audit trail holds no merge of this record to undo')
        target_id = merge_event.detail['into']
        appointment_ids = merge_event.detail.get('appointments', [])
        study_ids = merge_event.detail.get('studies', [])
        session.exec(
            update(Appointment)
            .where(
                col(Appointment.id).in_(appointment_ids),
                col(Appointment.patient_id) == target_id,
            )
            .values(patient_id=source_id)
        )
        session.exec(
            update(Study)
            .where(
                col(Study.id).in_(study_ids),
                col(Study.patient_ref_id) == target_id,
            )
            .values(patient_ref_id=source_id)
        )
        source.merged_into_id, source.updated_at = None, clock.now()
        session.add(source)
        detail = {
            'from': target_id,
            'merge_event': merge_event.id,
            'appointments': appointment_ids,
            'studies': study_ids,
        }
        audit.record(session, by, 'patient.unmerge', source, detail=detail)
        for changed in (source_id, target_id):
            events.publish_after(session, events.PatientChanged(changed))
    log.info('merge of patient %s into %s undone', source_id, target_id)
    return source


def validate(data: PatientCreate) -> PatientValues:
    """The cleaned values of a form, or InvalidInput naming each field that is wrong."""
    problems: dict[str, str] = {}
    family, given = data.family_name.strip(), data.given_name.strip()
    if not family:
        problems['family_name'] = N_('The family name is required')
    if not given:
        problems['given_name'] = N_('The given name is required')
    birth = _birth_date(data.birth_date, problems)
    sex = (data.sex or 'U').strip().upper()[:1] or 'U'
    if sex not in SEXES:
        problems['sex'] = N_('Sex is M, F, O or U')
    phone = data.phone.strip()
    if phone and (not PHONE.match(phone) or sum(ch.isdigit() for ch in phone) < 6):
        problems['phone'] = N_('A phone number has at least 6 digits and only + ( ) - . and spaces')
    email = data.email.strip()
    if email and not EMAIL.match(email):
        problems['email'] = N_('This is not an email address')
    national_id = data.national_id.strip()
    if len(national_id) > 64:
        problems['national_id'] = N_('The ID is at most 64 characters')
    for name, limit in (('family_name', 100), ('given_name', 100), ('middle_name', 100), ('address', 300)):
        if len(str(getattr(data, name)).strip()) > limit:
            problems.setdefault(name, N_('At most {count} characters', count=limit))
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return {
        'family_name': family,
        'given_name': given,
        'middle_name': data.middle_name.strip(),
        'birth_date': birth,
        'sex': sex,
        'phone': phone,
        'email': email,
        'national_id': national_id or None,
        'address': data.address.strip(),
        'notes': data.notes.strip(),
    }


def _birth_date(value: date | str | None, problems: dict[str, str]) -> date | None:
    if value is None or value == '':
        problems['birth_date'] = N_('The birth date is required')
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            problems['birth_date'] = N_('Write the birth date as YYYY-MM-DD')
            return None
    if value > clock.now().date():
        problems['birth_date'] = N_('The birth date cannot be in the future')
    elif value.year < OLDEST_BIRTH_YEAR:
        problems['birth_date'] = N_('The birth date is too far in the past')
    return value


def _centre_of_new(data: PatientCreate, by: Actor) -> int | None:
    """The centre a new patient belongs to: the one chosen (which the caller must serve), else the caller's own;
    staff of several centres must choose once there are several."""
    if data.centre_id is not None:
        if not centres.visible(data.centre_id, by.centres):
            raise InvalidInput('Choose a centre from the list', {'centre': 'unknown'})
        return data.centre_id
    if by.centres is not None and len(by.centres) == 1:
        return next(iter(by.centres))
    if centres.several():
        raise InvalidInput('Choose the centre this patient is registered at', {'centre': 'required'})
    return None


def _check_national_id(session: Session, national_id: str | None, own_id: int | None) -> None:
    if not national_id:
        return
    with centres.unscoped():  # unique across centres: another centre's holder is named by id only, never shown
        holder = session.exec(select(Patient.id).where(Patient.national_id == national_id)).first()
    if holder is not None and holder != own_id:
        raise NationalIdTaken(holder, 'Another patient already has this national ID')


def _live(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound('No such patient')
    if patient.merged_into_id is not None:
        raise Conflict('This record was merged into another one; open that record instead')
    return patient


def _clinic_patient_id(row_id: int) -> str:
    # NOTE: DICOM Patient ID (LO, at most 64 characters); the scanner receives it through the worklist.
    return f'P{row_id:07d}'


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
