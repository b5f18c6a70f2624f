from datetime import timedelta

import pytest

from domain import appointments, audit, db
from domain.errors import Conflict, InvalidInput, InvalidTransition
from domain.models import Appointment, AppointmentCreate
from tests.conftest import Clinic
from tests.domain.reception_fixtures import at, booking, patient, procedure, room


def test_booking_generates_a_dicom_safe_accession_number(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    assert made.accession_number == f'A{made.id:08d}' and len(made.accession_number) <= 16
    assert made.state == appointments.SCHEDULED


def test_booking_without_a_procedure_or_time_names_the_missing_fields(clinic: Clinic) -> None:
    with pytest.raises(InvalidInput) as refused:
        appointments.book(AppointmentCreate(patient_id=patient(clinic).id), by=clinic.receptionist.actor)
    assert set(refused.value.fields) == {'procedure_id', 'modality_id', 'scheduled_at'}


def test_an_overlapping_booking_in_the_same_room_is_refused_unless_urgent(clinic: Clinic) -> None:
    ct, head, jane = room(), procedure(clinic, minutes=30), patient(clinic)
    booking(clinic, jane, ct, head, at(9))
    with pytest.raises(Conflict, match='booked'):
        booking(clinic, patient(clinic, 'Roe', 'Rick'), ct, head, at(9, 15))
    assert booking(clinic, patient(clinic, 'Poe', 'Ed'), ct, head, at(9, 15), urgent=True).urgent


def test_reception_checks_in_and_the_technician_scans(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    desk, tech = clinic.receptionist.actor, clinic.technician.actor
    assert appointments.move(made.id, appointments.WAITING, by=desk).state == 'waiting'
    assert appointments.move(made.id, appointments.IN_ROOM, by=tech).state == 'in-room'
    with pytest.raises(InvalidTransition, match='may not'):
        appointments.move(made.id, appointments.IN_SCAN, by=desk)
    assert appointments.move(made.id, appointments.IN_SCAN, by=tech).state == 'in-scan'
    assert appointments.move(made.id, appointments.REVIEW, by=tech).state == 'review'


def test_an_invalid_move_is_refused_and_audited(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    with db.transaction() as session:
        row = session.get(Appointment, made.id)
        appointments.report_finalised(session, row.id)
    with pytest.raises(InvalidTransition, match='cannot move'):
        appointments.move(made.id, appointments.WAITING, by=clinic.receptionist.actor)
    refused = audit.search(by=clinic.admin.actor, action='appointment.move').rows[0]
    assert refused.outcome == 'denied' and refused.detail == {'from': 'completed', 'to': 'waiting'}
    assert appointments.card(made.id, by=clinic.admin.actor).state == 'completed'


def test_reschedule_cancel_and_no_show(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    desk = clinic.receptionist.actor
    moved = appointments.reschedule(made.id, at(11), by=desk)
    assert appointments.card(moved.id, by=desk).scheduled_at == at(11)
    assert appointments.no_show(made.id, by=desk).state == 'no-show'
    assert appointments.cancel(made.id, by=desk, reason='called').state == 'cancelled'
    assert appointments.reschedule(made.id, at(12), by=desk).state == 'scheduled'


def test_an_examination_under_way_cannot_be_cancelled(clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    with db.transaction() as session:
        appointments.images_arriving(session, made.id)
    with pytest.raises(InvalidTransition):
        appointments.cancel(made.id, by=clinic.receptionist.actor)


def test_the_day_lists_each_rooms_appointments_in_time_order(clinic: Clinic) -> None:
    ct, mr = room(), room('MR_ROOM1', 'MR', 'MR 1')
    head, knee = procedure(clinic), procedure(clinic, 'MR-KNEE', 'MR')
    jane, rick = patient(clinic), patient(clinic, 'Roe', 'Rick')
    booking(clinic, rick, ct, head, at(11))
    booking(clinic, jane, ct, head, at(9))
    booking(clinic, jane, mr, knee, at(10))
    booking(clinic, jane, mr, knee, at(10) + timedelta(days=1))
    cards = appointments.day(appointments.today(), by=clinic.technician.actor)
    assert [(c.room, c.scheduled_at) for c in cards] == [('CT 1', at(9)), ('MR 1', at(10)), ('CT 1', at(11))]
    assert cards[0].patient_initials == 'J.D.'
    only_ct = appointments.day(appointments.today(), by=clinic.technician.actor, modality_id=ct.id)
    assert len(only_ct) == 2


def test_the_moves_offered_depend_on_the_role(clinic: Clinic) -> None:
    assert appointments.allowed_moves('scheduled', clinic.receptionist.actor) == ['waiting', 'no-show']
    assert appointments.allowed_moves('scheduled', clinic.technician.actor) == []
    assert appointments.allowed_moves('in-room', clinic.technician.actor) == ['in-scan']
