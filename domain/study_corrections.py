"""A technician's corrections to a study's entry in the index, for images that arrived without what links them.

A modality (or a CD from elsewhere) may send images with no accession number or a wrong one. The technician types the
right one in; only the index changes (the Study row), never the files, which stay exactly as received. Each correction
is audited as 'study.correct' with its old and new values ({'changes': {field: [old, new]}}). An accession number that
names a booked appointment links the study to it, and to its patient, as if the images had carried it (domain.studies
matches arrivals the same way). A study that matches nobody is put under its patient by the reconcile flow
(domain.study_lists.assign), which the same dialog offers.
"""

import logging
from dataclasses import dataclass

from sqlmodel import Session, select

from . import appointments, audit, db, events
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput, InvalidTransition, NotFound
from .models import Appointment, Patient, Study, User

log = logging.getLogger(__name__)

ACCESSION_LENGTH = 16  # DICOM SH (PS3.5 6.2): at most 16 characters, no backslash, no control characters
READY = 'ready'  # NOTE: domain/studies.py READY


@dataclass(frozen=True)
class StudyWork:
    """What the technician's dialog shows about one study: urgency, its reader and what links it."""

    study_id: int
    urgent: bool
    assigned_to_id: int | None
    assigned_to: str
    accession_number: str
    appointment_id: int | None
    patient_ref_id: int | None
    patient_name: str  # the clinic's record when linked, else as the images named the patient ('' when they did not)
    patient_id: str  # likewise: the clinic's patient ID, else the one in the images

    @property
    def matched(self) -> bool:
        return self.patient_ref_id is not None


def work(study_id: int, *, by: Actor) -> StudyWork:
    """One study as the technician's dialog shows it."""
    require(by, Permission.RECONCILE_STUDIES)
    with db.reading() as session:
        study = _get(session, study_id)
        patient = session.get(Patient, study.patient_ref_id) if study.patient_ref_id is not None else None
        reader = session.get(User, study.assigned_to_id) if study.assigned_to_id is not None else None
    return StudyWork(
        study_id=study_id,
        urgent=study.urgent,
        assigned_to_id=study.assigned_to_id,
        assigned_to=(reader.full_name or reader.username) if reader else '',
        accession_number=study.accession_number,
        appointment_id=study.appointment_id,
        patient_ref_id=study.patient_ref_id,
        patient_name=patient.name if patient else study.patient_name,
        patient_id=patient.patient_id if patient else study.dicom_patient_id,
    )


def correct_accession(study_id: int, accession_number: str, *, by: Actor) -> Study:
    """Enter or correct a study's accession number in the index (audited old -> new; the files stay as received).

    When a booked appointment carries that number the study joins it (and its patient, if it had none), and the
    appointment's card moves on the board as if the images had carried the number.
    """
    require(by, Permission.RECONCILE_STUDIES)
    value = _valid_accession(accession_number)
    with db.transaction() as session:
        study = _get(session, study_id)
        if value == study.accession_number:
            return study
        if study.appointment_id is not None:
            raise InvalidTransition('This study belongs to a booked appointment; its accession number comes from there')
        values: dict[str, object] = {'accession_number': value}
        appointment = session.exec(select(Appointment).where(Appointment.accession_number == value)).first()
        if appointment is not None:
            values.update(_joining(session, study, appointment))
        matched_before = study.patient_ref_id
        changes = audit.apply_changes(study, values)
        session.add(study)
        audit.record(session, by, 'study.correct', study, detail={'changes': changes})
        if appointment is not None:
            if study.state == READY:
                appointments.study_ready(session, appointment.id or 0)
            else:
                appointments.images_arriving(session, appointment.id or 0)
        if study.patient_ref_id is not None and matched_before is None:
            events.publish_after(session, events.StudyMatched(study_id, study.patient_ref_id))
        events.publish_after(session, events.StudyUpdated(study_id, study.state))
    log.info('study %s corrected by %s (%s)', study_id, by.username, ', '.join(sorted(changes)))
    return study


def _joining(session: Session, study: Study, appointment: Appointment) -> dict[str, object]:
    """What joining a booked appointment changes: its id, its patient when the study had none, its urgency."""
    patient = session.get(Patient, appointment.patient_id)
    patient_id = (patient.merged_into_id or patient.id) if patient is not None else appointment.patient_id
    if study.patient_ref_id not in (None, patient_id):
        raise Conflict("This accession number belongs to another patient's appointment")
    return {
        'appointment_id': appointment.id,
        'patient_ref_id': patient_id,
        'urgent': study.urgent or appointment.urgent,
    }


def _valid_accession(text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidInput('Check the accession number', {'accession_number': N_('Type the accession number')})
    if len(value) > ACCESSION_LENGTH:
        problem = N_('At most {count} characters', count=ACCESSION_LENGTH)
        raise InvalidInput('Check the accession number', {'accession_number': problem})
    if '\\' in value or not value.isprintable():
        problem = N_('Letters, digits and punctuation only (no backslash)')
        raise InvalidInput('Check the accession number', {'accession_number': problem})
    return value


def _get(session: Session, study_id: int) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise NotFound('No study {study_id}', study_id=study_id)
    return study
