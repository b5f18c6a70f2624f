"""A technician's corrections to a study's index entry (domain.study_corrections) and an administrator's Discard of a
failed job (domain.work.discard), on SQLite and PostgreSQL."""

import itertools

import pytest
from sqlmodel import select

from domain import db, study_corrections, work
from domain.errors import InvalidInput, InvalidTransition
from domain.models import Appointment, AuditEvent, Job, Study
from tests.conftest import Clinic
from tests.domain.reception_fixtures import at, booking, patient, procedure, room

_uids = itertools.count(1)


def _study(**values: object) -> int:
    with db.transaction() as session:
        study = Study(study_instance_uid=f'1.2.826.0.1.7.{next(_uids)}', **values)
        session.add(study)
        session.flush()
        return study.id or 0


def _get(study_id: int) -> Study:
    with db.reading() as session:
        found = session.get(Study, study_id)
    assert found is not None
    return found


def _details(action: str) -> list[dict]:
    with db.reading() as session:
        return [event.detail for event in session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()]


def test_an_accession_number_is_corrected_old_to_new_and_the_same_number_again_changes_nothing(clinic: Clinic) -> None:
    study_id = _study(accession_number='TYPO1')
    study_corrections.correct_accession(study_id, 'CT-0042', by=clinic.technician.actor)
    study_corrections.correct_accession(study_id, 'CT-0042 ', by=clinic.technician.actor)
    assert _get(study_id).accession_number == 'CT-0042'
    assert _details('study.correct') == [{'changes': {'accession_number': ['TYPO1', 'CT-0042']}}]


@pytest.mark.parametrize('typed', ['', '   ', 'A' * 17, 'CT\\1', 'CT\n1'])
def test_an_accession_number_dicom_cannot_carry_is_refused(clinic: Clinic, typed: str) -> None:
    study_id = _study()
    with pytest.raises(InvalidInput) as refused:
        study_corrections.correct_accession(study_id, typed, by=clinic.technician.actor)
    assert set(refused.value.fields) == {'accession_number'}
    assert _get(study_id).accession_number == '' and _details('study.correct') == []


def test_a_booked_appointments_number_files_an_unmatched_study_and_its_urgency_follows(clinic: Clinic) -> None:
    jane = patient(clinic)
    booked = booking(clinic, jane, room(), procedure(clinic), at(10), urgent=True)
    study_id = _study(state='ready')
    study_corrections.correct_accession(study_id, booked.accession_number, by=clinic.technician.actor)
    corrected = _get(study_id)
    assert (corrected.appointment_id, corrected.patient_ref_id, corrected.urgent) == (booked.id, jane.id, True)
    with db.reading() as session:
        assert session.get(Appointment, booked.id).state == 'review'  # type: ignore[union-attr]  # images ready
    shown = study_corrections.work(study_id, by=clinic.technician.actor)
    assert shown.matched and shown.patient_name == 'Doe, Jane' and shown.urgent


def test_the_number_of_a_study_that_came_with_its_appointment_is_not_changed_here(clinic: Clinic) -> None:
    jane = patient(clinic)
    booked = booking(clinic, jane, room(), procedure(clinic), at(10))
    study_id = _study(accession_number=booked.accession_number, appointment_id=booked.id, patient_ref_id=jane.id)
    with pytest.raises(InvalidTransition):
        study_corrections.correct_accession(study_id, 'OTHER-1', by=clinic.technician.actor)
    assert _get(study_id).accession_number == booked.accession_number


def test_only_a_failed_job_is_discarded_and_a_discarded_one_is_never_started(clinic: Clinic) -> None:
    with db.transaction() as session:
        failed, queued = Job(kind='k', object_id=1, state='failed'), Job(kind='k', object_id=2, state='queued')
        session.add_all([failed, queued])
        session.flush()
        failed_id, queued_id = failed.id or 0, queued.id or 0
    with pytest.raises(InvalidTransition):
        work.discard(queued_id, by=clinic.admin.actor)
    assert work.discard(failed_id, by=clinic.admin.actor).state == work.DISCARDED
    assert work.start(failed_id) is None
    with pytest.raises(InvalidTransition):
        work.retry(failed_id, by=clinic.admin.actor)
    with db.transaction() as session:
        again = work.enqueue(session, 'k', 1)  # the same work can be queued afresh later
    assert again.id not in (failed_id, queued_id)
