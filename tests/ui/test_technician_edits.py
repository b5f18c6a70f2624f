"""A technician at the Studies screen: marks a study urgent, gives it to a radiologist, and enters the accession number
or the patient its images did not carry. Only the index changes, audited old -> new; the files stay as received."""

import hashlib

import pydicom
import pytest
from nicegui.testing import User
from pydicom.data import get_testdata_file
from sqlmodel import col, select

from dicom import ingest, storage
from domain import appointments, db, study_corrections
from domain.errors import Conflict
from domain.models import Appointment, AuditEvent, Instance, Series, Study
from tests.conftest import Clinic
from tests.domain.reception_fixtures import at, booking, patient, procedure, room

CT = 'CT_small.dcm'


@pytest.fixture(autouse=True)
def _storage(clinic: Clinic) -> None:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    ingest.share(ingest.Ingest())


def arrive(clinic: Clinic, **changes: object) -> int:
    """CT_small.dcm through the real ingest, with these header changes (an empty value: the images lack it)."""
    dataset = pydicom.dcmread(get_testdata_file(CT))
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    path = clinic.data_dir.parent / f'{CT}.in'
    dataset.save_as(path, enforce_file_format=True)
    outcome = ingest.shared().accept_file(path, by=clinic.technician.actor)
    assert outcome.study_id is not None
    return outcome.study_id


def stored_file(study_id: int) -> tuple[str, pydicom.Dataset]:
    """The study's one stored file: its SHA-256 and its header as it is on disk."""
    with db.reading() as session:
        relative = session.exec(
            select(Instance.file_path)
            .join(Series, col(Series.id) == col(Instance.series_id))
            .where(Series.study_id == study_id)
        ).one()
    path = storage.absolute(relative)
    return hashlib.sha256(path.read_bytes()).hexdigest(), pydicom.dcmread(path, stop_before_pixels=True)


def study(study_id: int) -> Study:
    with db.reading() as session:
        found = session.get(Study, study_id)
    assert found is not None
    return found


def audited(action: str, study_id: int) -> list[dict]:
    with db.reading() as session:
        return [
            event.detail
            for event in session.exec(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(study_id))
            ).all()
        ]


async def open_dialog(technician: User, study_id: int) -> None:
    await technician.open('/studies')
    await technician.should_see(marker=f'work-{study_id}')
    technician.find(marker=f'work-{study_id}').click()
    await technician.should_see(marker='study-work')


async def test_a_technician_marks_a_study_urgent(technician: User, clinic: Clinic) -> None:
    study_id = arrive(clinic)
    await open_dialog(technician, study_id)
    technician.find(marker='work-urgent').click()
    await technician.should_see('Marked urgent')
    assert study(study_id).urgent
    assert audited('study.urgent', study_id) == [{'urgent': True, 'changes': {'urgent': [False, True]}}]


async def test_a_technician_gives_a_study_to_a_radiologist(technician: User, clinic: Clinic) -> None:
    study_id = arrive(clinic)
    await open_dialog(technician, study_id)
    technician.find(marker='work-reader').click()
    technician.find('Test radiologist').click()
    await technician.should_see('Assigned')
    assert study(study_id).assigned_to_id == clinic.radiologist.user_id
    assert audited('study.assign', study_id) == [{'from': None, 'to': clinic.radiologist.user_id}]


async def test_an_accession_number_typed_in_goes_to_the_index_audited_and_the_file_stays_as_received(
    technician: User, clinic: Clinic
) -> None:
    study_id = arrive(clinic, AccessionNumber='')
    digest, header = stored_file(study_id)
    assert header.AccessionNumber == ''
    await open_dialog(technician, study_id)
    await technician.should_see('The images came without an accession number')
    technician.find(marker='work-accession').type('CT-2026-077')
    technician.find(marker='work-save-accession').click()
    await technician.should_see('Accession number saved')
    assert study(study_id).accession_number == 'CT-2026-077'
    assert audited('study.correct', study_id) == [{'changes': {'accession_number': ['', 'CT-2026-077']}}]
    assert stored_file(study_id)[0] == digest
    await technician.should_see('Accession CT-2026-077')  # the card, redrawn from the index


async def test_a_bad_accession_number_is_refused_and_what_was_typed_stays(technician: User, clinic: Clinic) -> None:
    study_id = arrive(clinic, AccessionNumber='')
    await open_dialog(technician, study_id)
    technician.find(marker='work-accession').type('CT\\77')
    technician.find(marker='work-save-accession').click()
    await technician.should_see('Check the accession number')
    assert technician.find(marker='work-accession').elements.pop().value == 'CT\\77'
    assert study(study_id).accession_number == ''
    assert audited('study.correct', study_id) == []


async def test_a_study_without_patient_data_is_filed_under_a_patient_found_by_search(
    technician: User, clinic: Clinic
) -> None:
    okafor = patient(clinic, family='Okafor', given='Ada')
    study_id = arrive(clinic, PatientID='', PatientName='', AccessionNumber='')
    digest = stored_file(study_id)[0]
    assert study(study_id).patient_ref_id is None
    await open_dialog(technician, study_id)
    await technician.should_see('Not filed under a patient yet; the images name: (no name)')
    technician.find(marker='assign-search').type('Okafor')
    await technician.should_see(marker='patient-choice')
    technician.find(marker='patient-choice').click()
    await technician.should_see('Study assigned')
    assert study(study_id).patient_ref_id == okafor.id
    assert audited('study.assign', study_id) == [{'from_patient': None, 'to_patient': okafor.id}]
    after, header_after = stored_file(study_id)
    assert after == digest and header_after.PatientID == '' and str(header_after.PatientName) == ''


def test_the_accession_number_of_a_booking_files_the_study_under_its_patient_and_moves_the_card(
    clinic: Clinic,
) -> None:
    jane = patient(clinic)
    booked = booking(clinic, jane, room(), procedure(clinic), at(9))
    study_id = arrive(clinic, PatientID='', PatientName='', AccessionNumber='')
    study_corrections.correct_accession(study_id, f' {booked.accession_number} ', by=clinic.technician.actor)
    corrected = study(study_id)
    assert (corrected.accession_number, corrected.appointment_id, corrected.patient_ref_id) == (
        booked.accession_number,
        booked.id,
        jane.id,
    )
    changes = audited('study.correct', study_id)[0]['changes']
    assert changes['appointment_id'] == [None, booked.id] and changes['patient_ref_id'] == [None, jane.id]
    with db.reading() as session:
        assert session.get(Appointment, booked.id).state == appointments.IN_SCAN  # the board: images arriving


def test_the_accession_number_of_another_patients_booking_is_refused(clinic: Clinic) -> None:
    jane, ada = patient(clinic), patient(clinic, family='Okafor', given='Ada')
    booked = booking(clinic, ada, room(), procedure(clinic), at(9))
    study_id = arrive(clinic, PatientID=jane.patient_id, AccessionNumber='')
    assert study(study_id).patient_ref_id == jane.id
    with pytest.raises(Conflict):
        study_corrections.correct_accession(study_id, booked.accession_number, by=clinic.technician.actor)
    assert study(study_id).accession_number == '' and audited('study.correct', study_id) == []


async def test_the_dialog_shows_the_patient_a_bookings_accession_number_filed_the_study_under(
    technician: User, clinic: Clinic
) -> None:
    jane = patient(clinic)
    booked = booking(clinic, jane, room(), procedure(clinic), at(9))
    study_id = arrive(clinic, PatientID='', PatientName='', AccessionNumber='')
    await open_dialog(technician, study_id)
    technician.find(marker='work-accession').type(booked.accession_number)
    technician.find(marker='work-save-accession').click()
    await technician.should_see(f'Patient: Doe, Jane · {jane.patient_id}')
    await technician.should_see('From its appointment')
    assert not technician.find(marker='work-accession').elements.pop().enabled
