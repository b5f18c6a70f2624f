"""Demo data: a realistic clinic day in an empty database, so a new user can try every screen at once.

Staff accounts for each role, rooms and procedures, patients (some near-duplicates: transliterated and
misspelt names), and today's appointments in every board state, some urgent, with studies waiting to
be read. It refuses a database that already holds real data.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import select

from . import appointments, clock, db, modalities, patients, procedures, users
from .access import Actor
from .errors import Conflict
from .models import Appointment, AppointmentCreate, Patient, PatientCreate, Report, Study, User, UserCreate

log = logging.getLogger(__name__)

STAFF = (
    ('reception', 'receptionist', 'Rita Reception'),
    ('tech', 'technician', 'Tomas Tech'),
    ('doctor', 'radiologist', 'Dr. Diana Reader'),
    ('doctor2', 'radiologist', 'Dr. Omar Second'),
)
ROOMS = (
    ('CT_ROOM1', 'CT', 'CT 1'),
    ('MR_ROOM1', 'MR', 'MR 1'),
    ('US_ROOM1', 'US', 'Ultrasound'),
    ('DX_ROOM1', 'DX', 'X-ray'),
)
PROCEDURES = (
    ('CT-HEAD', 'CT head without contrast', 'CT', 15),
    ('CT-CHEST', 'CT chest', 'CT', 20),
    ('MR-KNEE', 'MR knee', 'MR', 30),
    ('MR-BRAIN', 'MR brain', 'MR', 40),
    ('US-ABD', 'Abdominal ultrasound', 'US', 20),
    ('DX-CHEST', 'Chest X-ray', 'DX', 10),
)
PEOPLE = (
    ('Doe', 'Jane', '1980-05-17', 'F', '+1 555 010 2030'),
    ('Müller', 'Jürgen', '1962-11-03', 'M', ''),
    ('Mueller', 'Juergen', '1962-11-03', 'M', ''),
    ('Иванов', 'Пётр', '1975-02-28', 'M', '+7 912 555 0101'),
    ('Ivanov', 'Petr', '1975-02-28', 'M', ''),
    ('García', 'Lucía', '1990-07-21', 'F', '+34 600 123 456'),
    ('Okafor', 'Chidi', '2001-01-09', 'M', ''),
    ('Nguyen', 'Thi Lan', '1958-09-30', 'F', ''),
    ('Dubois', 'Amélie', '1987-04-12', 'F', ''),
    ('Schmidt', 'Hanna', '1949-12-24', 'F', ''),
    ('Rossi', 'Marco', '1995-06-06', 'M', ''),
    ('Kowalski', 'Jan', '1970-03-15', 'M', ''),
)
# (patient index, room, procedure, hour, minute, state, urgent)
DAY = (
    (0, 0, 0, 8, 0, 'completed', False),
    (1, 1, 2, 8, 30, 'review', False),
    (3, 0, 1, 9, 0, 'review', True),
    (5, 2, 4, 9, 30, 'in-scan', False),
    (6, 3, 5, 10, 0, 'in-room', False),
    (7, 1, 3, 10, 30, 'waiting', True),
    (8, 2, 4, 11, 0, 'waiting', False),
    (9, 0, 0, 11, 30, 'scheduled', False),
    (10, 3, 5, 12, 0, 'scheduled', False),
    (11, 1, 2, 13, 0, 'no-show', False),
    (0, 2, 4, 14, 0, 'cancelled', False),
    (6, 0, 1, 15, 0, 'scheduled', True),
)


@dataclass(frozen=True)
class DemoSummary:
    password: str
    usernames: tuple[str, ...]
    patients: int
    appointments: int


def fill(*, by: Actor, password: str | None = None) -> DemoSummary:
    """Fill an empty clinic with a day of demo data; refuses when real data is already on file."""
    _refuse_real_data()
    password = password or secrets.token_urlsafe(9)
    made_users = [
        users.create(UserCreate(username=name, full_name=full, role=role, password=password), by=by)
        for name, role, full in STAFF
    ]
    rooms = [
        modalities.add(
            modalities.ModalityCreate(ae_title=ae, host='127.0.0.1', port=104, modality=kind, room=room), by=by
        )
        for ae, kind, room in ROOMS
    ]
    offered = [procedures.create(code, name, kind, minutes, by=by) for code, name, kind, minutes in PROCEDURES]
    people = [
        patients.register(
            PatientCreate(family_name=f, given_name=g, birth_date=b, sex=s, phone=p), by=by, confirmed_new=True
        )
        for f, g, b, s, p in PEOPLE
    ]
    today = appointments.today()
    booked = 0
    for who, room, what, hour, minute, state, urgent in DAY:
        when = datetime.combine(today, time(hour, minute), tzinfo=appointments.local_zone())
        made = appointments.book(
            AppointmentCreate(
                patient_id=people[who].id,
                procedure_id=offered[what].id,
                modality_id=rooms[room].id,
                scheduled_at=when,
                urgent=urgent,
            ),
            by=by,
        )
        _place(
            made,
            state,
            people[who],
            modality=offered[what].modality,
            description=offered[what].name,
            today=today,
            urgent=urgent,
        )
        booked += 1
    log.info('demo data: %d accounts, %d patients, %d appointments', len(made_users), len(people), booked)
    return DemoSummary(password, tuple(u.username for u in made_users), len(people), booked)


def _refuse_real_data() -> None:
    with db.reading() as session:
        held = sum(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Patient, Appointment, Study, Report)
        )
        staff = session.exec(select(func.count()).select_from(User).where(User.username != 'admin')).one()
    if held or staff:
        raise Conflict('This database already holds data; the demo fills only a new, empty one')


def _place(
    made: Appointment, state: str, patient: Patient, *, modality: str, description: str, today: date, urgent: bool
) -> None:
    """Put a booked appointment where the demo day has it, with a study where images would exist."""
    since = clock.now() - timedelta(minutes=5 + 7 * (made.id or 0) % 50)
    with db.transaction() as session:
        row = session.get(Appointment, made.id)
        if row is None:
            return
        row.state, row.state_changed_at = state, since
        session.add(row)
        if state in ('in-scan', 'review', 'completed'):
            arrived = since - timedelta(minutes=20 if state != 'review' else 90 + 60 * urgent)
            session.add(
                Study(
                    study_instance_uid=f'2.25.{secrets.randbits(96)}',
                    patient_ref_id=patient.id,
                    appointment_id=row.id,
                    patient_name=f'{patient.family_name}^{patient.given_name}',
                    dicom_patient_id=patient.patient_id,
                    accession_number=row.accession_number,
                    study_date=today,
                    description=description,
                    modalities=modality,
                    state='receiving' if state == 'in-scan' else 'ready',
                    urgent=urgent,
                    first_arrival=arrived,
                    last_arrival=arrived,
                    ready_at=since,
                )
            )
