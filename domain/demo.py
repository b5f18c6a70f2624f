"""Demo data: a realistic clinic day in an empty database, so a new user can try every screen at once.

Staff accounts for each role, rooms and procedures, patients (some near-duplicates: transliterated and
misspelt names; Latin with accents, Cyrillic, Greek), and today's appointments in every board state, some
urgent. The examinations already done have real images, made by the demo's scanner (`Imaging`, wired in
main.py) and received through the normal pipeline; some are read (final reports with measurements, key images
and PDFs, an addendum after comparing with last year's prior, a draft in progress), one urgent study waits to be
read and one walk-in study waits to be matched. It refuses a database that already holds real data.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import select

from . import (
    appointments,
    billing,
    centres,
    clock,
    db,
    demo_reading,
    demo_studies,
    modalities,
    patients,
    procedures,
    templates,
    users,
)
from .access import Actor
from .demo_studies import Imaging, Order
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
    ('US-OB', 'Obstetric ultrasound', 'US', 30),
)
PRICES = {'CT': '120.00', 'MR': '250.00', 'US': '60.00', 'DX': '35.00'}  # USD per study of the modality: the
# clinic's price list, so that the reports signed today show as charges on Billing and as revenue on the Dashboard
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
    ('Παπαδοπούλου', 'Ελένη', '1983-08-14', 'F', ''),
)
# (patient index, room, procedure, hour, minute, state, urgent, what the doctors did): scanned appointments
# ('review', 'completed') get images; the reading is one of demo_reading's ('' = waiting to be read)
DAY = (
    (0, 0, 0, 7, 30, 'completed', False, 'ct-head'),
    (9, 3, 5, 8, 0, 'completed', False, 'dx-chest'),
    (1, 1, 2, 8, 30, 'review', False, 'draft'),
    (3, 0, 1, 9, 0, 'review', True, ''),
    (8, 2, 6, 9, 30, 'completed', False, 'obstetric'),
    (12, 2, 4, 10, 15, 'review', False, ''),
    (6, 3, 5, 10, 30, 'in-room', False, ''),
    (5, 2, 4, 11, 0, 'in-scan', False, ''),
    (7, 1, 3, 11, 0, 'waiting', True, ''),
    (10, 3, 5, 12, 0, 'scheduled', False, ''),
    (11, 1, 2, 13, 0, 'no-show', False, ''),
    (0, 2, 4, 14, 0, 'cancelled', False, ''),
    (4, 3, 5, 14, 30, 'scheduled', False, ''),
    (6, 0, 1, 15, 0, 'scheduled', True, ''),
)
SCANNED = ('review', 'completed')
PRIOR_KEY, UNMATCHED_KEY = 101, 102  # study numbers of last year's prior and of the walk-in


@dataclass(frozen=True)
class DemoSummary:
    """What the demo made, for the console to print."""

    password: str
    usernames: tuple[str, ...]
    patients: int
    appointments: int
    studies: int = 0
    reports: int = 0


def fill(*, by: Actor, imaging: Imaging, password: str | None = None) -> DemoSummary:
    """Fill an empty clinic with a day of demo data, images and reports; refuses when real data is already on file."""
    _refuse_real_data()
    templates.seed_shipped()
    password = password or secrets.token_urlsafe(9)
    made_users = [
        users.create(UserCreate(username=name, full_name=full, role=role, password=password), by=by)
        for name, role, full in STAFF
    ]
    doctors = [
        Actor(role=u.role, username=u.username, user_id=u.id, address='127.0.0.1')
        for u in made_users
        if u.role == 'radiologist'
    ]
    rooms = [
        modalities.add(
            modalities.ModalityCreate(ae_title=ae, host='127.0.0.1', port=104, modality=kind, room=room), by=by
        )
        for ae, kind, room in ROOMS
    ]
    offered = [procedures.create(code, name, kind, minutes, by=by) for code, name, kind, minutes in PROCEDURES]
    for kind, amount in PRICES.items():
        billing.add_price(
            billing.PriceForm(centre_id=centres.default_id(), modality=kind, currency='USD', amount=amount), by=by
        )
    people = [
        patients.register(
            PatientCreate(family_name=f, given_name=g, birth_date=b, sex=s, phone=p), by=by, confirmed_new=True
        )
        for f, g, b, s, p in PEOPLE
    ]
    today = appointments.today()
    day = Day(imaging, doctors, today)
    day.scan(demo_studies.unmatched(UNMATCHED_KEY, today, ROOMS[3][0]), '')  # the walk-in came first, at 7:10
    for key, (who, room, what, hour, minute, state, urgent, reading) in enumerate(DAY, start=1):
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
        day.booked.append((made, state))
        if state in SCANNED:
            order = demo_studies.order_for(
                key, made, people[who], procedure=offered[what].code, station=rooms[room].ae_title, when=when
            )
            day.scan(order, reading)
            if reading == 'dx-chest':  # last year's radiograph of the same patient, to compare with
                day.scan(demo_studies.prior_for(PRIOR_KEY, people[who], today, order.station), 'prior')
    imaging.settle()  # metadata and thumbnails: the studies are ready, their cards in Review
    day.read()
    imaging.settle()  # the PDFs of what was signed
    for made, state in day.booked:
        _place(made, state)
    log.info(
        'demo data: %d accounts, %d patients, %d appointments, %d studies, %d reports',
        len(made_users),
        len(people),
        len(day.booked),
        len(day.studies),
        len(day.reports),
    )
    names = tuple(u.username for u in made_users)
    return DemoSummary(password, names, len(people), len(day.booked), len(day.studies), len(day.reports))


class Day:
    """The demo day's imaging: the studies the scanners made, and what the doctors did with them."""

    def __init__(self, imaging: Imaging, doctors: list[Actor], today: date) -> None:
        self.imaging, self.today = imaging, today
        self.doctor, self.colleague = doctors
        self.booked: list[tuple[Appointment, str]] = []
        self.studies: dict[int, tuple[Order, str]] = {}
        self.reports: list[int] = []

    def scan(self, order: Order, reading: str) -> None:
        """The scanner makes the order's images; they arrive through the receiving pipeline."""
        self.studies[self.imaging.acquire(order)] = (order, reading)

    def read(self) -> None:
        """What the doctors did today, study by study."""
        for study_id, (order, reading) in self.studies.items():
            if reading == 'ct-head':
                self.reports.append(demo_reading.ct_head(study_id, by=self.doctor))
            elif reading == 'obstetric':
                self.reports.append(demo_reading.obstetric(study_id, order, by=self.doctor))
            elif reading == 'draft':
                self.reports.append(demo_reading.mr_knee_draft(study_id, by=self.colleague))
            elif reading == 'prior':
                self.reports.append(demo_reading.prior_chest(study_id, by=self.colleague))
            elif reading == 'dx-chest':
                report_id = demo_reading.dx_chest(study_id, order, by=self.doctor)
                prior_date = self.today - timedelta(days=demo_studies.PRIOR_DAYS)
                demo_reading.compare_with_prior(report_id, prior_date, by=self.doctor)
                self.reports.append(report_id)


def _refuse_real_data() -> None:
    with db.reading() as session:
        held = sum(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Patient, Appointment, Study, Report)
        )
        staff = session.exec(select(func.count()).select_from(User).where(User.username != 'admin')).one()
    if held or staff:
        raise Conflict('This database already holds data; the demo fills only a new, empty one')


def _place(made: Appointment, state: str) -> None:
    """Put a booked appointment where the demo day has it, a while ago (scanned ones got there through their
    images and reports: their state stays as the pipeline left it, only its times move back, so the board and the
    reading worklist show how long each has waited)."""
    since = clock.now() - timedelta(minutes=5 + 7 * (made.id or 0) % 50)
    with db.transaction() as session:
        row = session.get(Appointment, made.id)
        if row is None:
            return
        if state not in SCANNED:
            row.state = state
        row.state_changed_at = since
        session.add(row)
        for study in session.exec(select(Study).where(Study.appointment_id == row.id)).all():
            arrived = since - timedelta(minutes=20 if state != 'review' else 90 + 60 * row.urgent)
            study.first_arrival, study.last_arrival, study.ready_at = arrived, arrived + timedelta(minutes=2), since
            session.add(study)
