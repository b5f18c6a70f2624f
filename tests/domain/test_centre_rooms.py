"""Issue 18: a centre's rooms take its own patients; a centre's desk books into its rooms and the shared ones, and a
shared room is busy whichever centre booked it."""

from datetime import date

import pytest

from domain import appointments, centre_admin, centres, patients, users
from domain.access import Actor
from domain.centre_admin import CentreData
from domain.errors import Conflict, InvalidInput
from domain.models import AppointmentCreate, PatientCreate, UserCreate
from tests.conftest import PASSWORD, Clinic
from tests.domain.reception_fixtures import at, procedure, room


def _desk(clinic: Clinic, centre_id: int) -> Actor:
    staff = users.create(
        UserCreate(username=f'desk{centre_id}', role='centre', password=PASSWORD, centre_id=centre_id),
        by=clinic.admin.actor,
    )
    return Actor(role='centre', username=staff.username, user_id=staff.id, centres=frozenset({centre_id}))


def test_a_centres_desk_books_into_its_own_and_shared_rooms_only(clinic: Clinic) -> None:
    admin = clinic.admin.actor
    a_id, b_id = centres.default_id(), centre_admin.create(CentreData(name='Centre B'), by=admin).id or 0
    a_room, b_room, shared = room('CT_A', 'CT', 'CT A'), room('CT_B', 'CT', 'CT B'), room('CT_S', 'CT', 'Shared')
    centre_admin.set_modality_centre(a_room.id or 0, a_id, by=admin)
    centre_admin.set_modality_centre(b_room.id or 0, b_id, by=admin)
    b_desk, a_desk = _desk(clinic, b_id), _desk(clinic, a_id)
    assert {r.ae_title for r in appointments.rooms(by=b_desk)} == {'CT_B', 'CT_S'}
    head = procedure(clinic, 'CT-HEAD', 'CT')
    born = date(1975, 3, 4)
    b_patient = patients.register(
        PatientCreate(family_name='Rao', given_name='Meera', birth_date=born, sex='F'), by=b_desk, confirmed_new=True
    )
    a_patient = patients.register(
        PatientCreate(family_name='Diaz', given_name='Ana', birth_date=born, sex='F'), by=a_desk, confirmed_new=True
    )
    with pytest.raises(InvalidInput, match='another centre'):
        appointments.book(
            AppointmentCreate(patient_id=b_patient.id, procedure_id=head.id, modality_id=a_room.id, scheduled_at=at(9)),
            by=b_desk,
        )
    appointments.book(
        AppointmentCreate(patient_id=a_patient.id, procedure_id=head.id, modality_id=shared.id, scheduled_at=at(10)),
        by=a_desk,
    )
    with pytest.raises(Conflict, match='The room is booked'):
        appointments.book(
            AppointmentCreate(
                patient_id=b_patient.id, procedure_id=head.id, modality_id=shared.id, scheduled_at=at(10, 5)
            ),
            by=b_desk,
        )
    booked = appointments.book(
        AppointmentCreate(patient_id=b_patient.id, procedure_id=head.id, modality_id=b_room.id, scheduled_at=at(10)),
        by=b_desk,
    )
    assert booked.centre_id == b_id
