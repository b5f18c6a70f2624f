from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from sqlmodel import select

from dicom import mpps
from domain import appointments, db
from domain.models import PerformedStep
from tests.conftest import Clinic
from tests.dicom.reception_scp import reception_scp
from tests.domain.reception_fixtures import at, booking, patient, procedure, room


def _step(accession: str, status: str = 'IN PROGRESS') -> Dataset:
    ds = Dataset()
    scheduled = Dataset()
    scheduled.AccessionNumber = accession
    scheduled.StudyInstanceUID = generate_uid()
    ds.ScheduledStepAttributesSequence = [scheduled]
    ds.PerformedProcedureStepStatus = status
    ds.PerformedStationAETitle = 'CT_ROOM1'
    ds.PerformedProcedureStepStartDate = '20240101'
    ds.PerformedProcedureStepStartTime = '090000'
    ds.Modality = 'CT'
    return ds


def _association(port: int):  # type: ignore[no-untyped-def]
    ae = AE('CT_ROOM1')
    ae.add_requested_context(mpps.SOP_CLASS)
    assoc = ae.associate('127.0.0.1', port)
    assert assoc.is_established
    return assoc


def _state(clinic: Clinic, appointment_id: int) -> str:
    return appointments.card(appointment_id, by=clinic.admin.actor).state


def test_n_create_moves_the_card_to_in_scan_and_n_set_completed_on_to_review(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    uid = generate_uid()
    with reception_scp(clinic) as port:
        assoc = _association(port)
        status, _ = assoc.send_n_create(_step(made.accession_number), mpps.SOP_CLASS, uid)
        assert status.Status == 0x0000
        assert _state(clinic, made.id) == 'in-scan'
        done = Dataset()
        done.PerformedProcedureStepStatus = 'COMPLETED'
        done.PerformedProcedureStepEndTime = '093000'
        status, _ = assoc.send_n_set(done, mpps.SOP_CLASS, uid)
        assoc.release()
    assert status.Status == 0x0000
    assert _state(clinic, made.id) == 'review'
    with db.reading() as session:
        step = session.exec(select(PerformedStep)).one()
    assert step.status == 'COMPLETED' and step.appointment_id == made.id


def test_discontinued_puts_the_patient_back_in_the_room(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    uid = generate_uid()
    with reception_scp(clinic) as port:
        assoc = _association(port)
        assoc.send_n_create(_step(made.accession_number), mpps.SOP_CLASS, uid)
        stop = Dataset()
        stop.PerformedProcedureStepStatus = 'DISCONTINUED'
        status, _ = assoc.send_n_set(stop, mpps.SOP_CLASS, uid)
        assoc.release()
    assert status.Status == 0x0000
    assert _state(clinic, made.id) == 'in-room'


def test_unknown_duplicate_final_and_malformed_steps_get_standard_statuses(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    uid = generate_uid()
    done = Dataset()
    done.PerformedProcedureStepStatus = 'COMPLETED'
    with reception_scp(clinic) as port:
        assoc = _association(port)
        unknown, _ = assoc.send_n_set(done, mpps.SOP_CLASS, generate_uid())
        wrong_status, _ = assoc.send_n_create(_step(made.accession_number, 'COMPLETED'), mpps.SOP_CLASS, uid)
        first, _ = assoc.send_n_create(_step(made.accession_number), mpps.SOP_CLASS, uid)
        duplicate, _ = assoc.send_n_create(_step(made.accession_number), mpps.SOP_CLASS, uid)
        assoc.send_n_set(done, mpps.SOP_CLASS, uid)
        after_final, _ = assoc.send_n_set(done, mpps.SOP_CLASS, uid)
        assoc.release()
    assert unknown.Status == 0x0112
    assert wrong_status.Status == 0x0106
    assert first.Status == 0x0000
    assert duplicate.Status == 0x0111
    assert after_final.Status == 0x0110


def test_a_step_for_an_unknown_accession_is_kept_but_moves_nothing(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    with reception_scp(clinic) as port:
        assoc = _association(port)
        status, _ = assoc.send_n_create(_step('NOT-BOOKED'), mpps.SOP_CLASS, generate_uid())
        assoc.release()
    assert status.Status == 0x0000
    assert _state(clinic, made.id) == 'scheduled'
