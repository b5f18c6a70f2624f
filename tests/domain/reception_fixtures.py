"""Shared set-up for reception tests: rooms, procedures and registered patients."""

from datetime import date, datetime, time, timedelta

from domain import appointments, db, patients, procedures
from domain.models import Appointment, AppointmentCreate, Modality, Patient, PatientCreate, Procedure
from tests.conftest import Clinic


def room(ae_title: str = 'CT_ROOM1', modality: str = 'CT', name: str = 'CT 1') -> Modality:
    """A scanner in a room (the ingest issue's console command makes these in production)."""
    with db.transaction() as session:
        row = Modality(ae_title=ae_title, host='127.0.0.1', port=104, modality=modality, room=name)
        session.add(row)
    return row


def procedure(clinic: Clinic, code: str = 'CT-HEAD', modality: str = 'CT', minutes: int = 20) -> Procedure:
    return procedures.create(code, f'{modality} examination {code}', modality, minutes, by=clinic.admin.actor)


def patient(
    clinic: Clinic, family: str = 'Doe', given: str = 'Jane', born: date = date(1980, 5, 17), **extra: str
) -> Patient:
    return patients.register(
        PatientCreate(family_name=family, given_name=given, birth_date=born, sex='F', **extra),
        by=clinic.receptionist.actor,
        confirmed_new=True,
    )


def at(hour: int, minute: int = 0, day: date | None = None) -> datetime:
    """A local time of the clinic's day (today unless given)."""
    return datetime.combine(day or appointments.today(), time(hour, minute), tzinfo=appointments.local_zone())


def booking(
    clinic: Clinic, who: Patient, where: Modality, what: Procedure, when: datetime, *, urgent: bool = False
) -> Appointment:
    return appointments.book(
        AppointmentCreate(
            patient_id=who.id, procedure_id=what.id, modality_id=where.id, scheduled_at=when, urgent=urgent
        ),
        by=clinic.receptionist.actor,
    )


def later(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
