"""The clinic bench/uiload.py signs in to: the demo day plus a realistic volume of records, written in bulk.

On top of `main.py demo` (accounts, rooms, procedures, a dozen patients and today's appointments) it adds
`patients` patients (with their search tokens), `appointments` more appointments today spread over the board's
columns, past studies with final reports (about `studies_per_patient` a patient) and `unread` studies waiting
to be read; and the bench's own accounts (receptionists and radiologists sharing PASSWORD).

    .venv/bin/python bench/uiload_data.py DATA_DIR [--patients 2000] [--appointments 200]
"""

import argparse
import json
import random
import secrets
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bench.reception import FAMILY, GIVEN, patient_row  # noqa: E402
from domain import appointments, db, patient_search, templates, users  # noqa: E402
from domain.access import system  # noqa: E402
from domain.models import Appointment, Patient, PatientToken, Report, Study, UserCreate  # noqa: E402
from domain.settings import Settings  # noqa: E402

PASSWORD = 'bench user password 123'
RECEPTIONISTS = 8
RADIOLOGISTS = 4
FIRST_PATIENT = 1000  # Patient IDs P0001000… (the demo's are P0000001…)
FIRST_APPOINTMENT = 100_000  # accession numbers A00100000… (the demo's are A00000001…)
# Where today's extra appointments stand, in the order of the day (earliest first).
DAY_SHARES = (
    ('completed', 0.40),
    ('review', 0.05),
    ('in-scan', 0.03),
    ('in-room', 0.03),
    ('waiting', 0.07),
    ('cancelled', 0.02),
    ('no-show', 0.02),
    ('scheduled', 0.38),
)


def fill(data_dir: Path, *, patients: int, appointments_today: int, studies_per_patient: float, unread: int) -> dict:
    """Add the bench's accounts and records to a demo clinic; answers what the load generator needs to know."""
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    db.configure(settings)
    try:
        templates.seed_shipped()
        accounts = _accounts()
        rng = random.Random(15)
        first_id, last_id = _patients(patients, rng)
        _day(appointments_today, first_id, last_id, rng)
        patient_ids = _studies(first_id, last_id, studies_per_patient, unread, rng)
    finally:
        db.dispose()
    return {
        'password': PASSWORD,
        'accounts': accounts,
        'patients': [first_id, last_id],
        'patients_with_studies': patient_ids[:400],
        'search_terms': _search_terms(rng),
    }


def _accounts() -> dict[str, list[str]]:
    made: dict[str, list[str]] = {'receptionist': [], 'radiologist': []}
    for role, count in (('receptionist', RECEPTIONISTS), ('radiologist', RADIOLOGISTS)):
        for n in range(1, count + 1):
            name = f'bench-{role[:5]}-{n}'
            users.create(UserCreate(username=name, role=role, password=PASSWORD), by=system('bench'))
            made[role].append(name)
    return made


def _patients(count: int, rng: random.Random) -> tuple[int, int]:
    now = datetime.now(UTC)
    rows = []
    for n in range(FIRST_PATIENT, FIRST_PATIENT + count):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        rows.append(patient_row(f'P{n:07d}', family, given, rng, now, sex=rng.choice('FMU')))
    with db.engine().begin() as connection:
        connection.execute(insert(Patient), rows)
        found = connection.execute(
            text('SELECT id, name_key, phone FROM patient WHERE patient_id >= :first'),
            {'first': f'P{FIRST_PATIENT:07d}'},
        ).all()
        tokens = [
            {'patient_id': pid, 'token': token}
            for pid, key, phone in found
            for token in patient_search.tokens_of(Patient(name_key=key, phone=phone, patient_id='', family_name=''))
        ]
        connection.execute(insert(PatientToken), tokens)
    ids = [row[0] for row in found]
    return min(ids), max(ids)


def _day(count: int, first_id: int, last_id: int, rng: random.Random) -> None:
    """Today's board: `count` appointments from 07:00 on, the earlier ones further along."""
    with db.engine().begin() as connection:
        rooms = [row[0] for row in connection.execute(text('SELECT id FROM modality ORDER BY id'))]
        offered = [row[0] for row in connection.execute(text('SELECT id FROM procedure ORDER BY id'))]
    start = datetime.combine(appointments.today(), time(7, 0), tzinfo=appointments.local_zone())
    states = [state for state, share in DAY_SHARES for _ in range(round(share * count))][:count]
    states += ['scheduled'] * (count - len(states))
    now = datetime.now(UTC)
    rows = []
    for n, state in enumerate(states):
        rows.append(
            {
                'patient_id': rng.randint(first_id, last_id),
                'procedure_id': rng.choice(offered),
                'modality_id': rooms[n % len(rooms)],
                'accession_number': appointments.accession_for(FIRST_APPOINTMENT + n),
                'scheduled_at': start + timedelta(minutes=12 * n // len(rooms)),
                'duration_minutes': 15,
                'state': state,
                'state_changed_at': now - timedelta(minutes=rng.randint(1, 90)),
                'urgent': rng.random() < 0.05,
                'referring_physician': '',
                'notes': '',
                'created_at': now - timedelta(days=3),
                'created_by': 'bench',
            }
        )
    with db.engine().begin() as connection:
        connection.execute(insert(Appointment), rows)


def _studies(first_id: int, last_id: int, per_patient: float, unread: int, rng: random.Random) -> list[int]:
    """Past studies with a final report each, and `unread` recent ones on the reading worklist."""
    with db.engine().begin() as connection:
        template = connection.execute(text('SELECT id FROM report_template ORDER BY id LIMIT 1')).scalar_one()
        author = connection.execute(text('SELECT id FROM "user" WHERE role = \'radiologist\' LIMIT 1')).scalar_one()
    count = round((last_id - first_id + 1) * per_patient)
    now = datetime.now(UTC)
    kinds = (('CT', 'CT chest'), ('MR', 'MR knee'), ('US', 'Abdominal ultrasound'), ('DX', 'Chest X-ray'))
    studies, owners = [], []
    marked = 'reported' in Study.__table__.c  # code before migration 0016 (a same-run reference) has no such mark
    for n in range(count + unread):
        owner = rng.randint(first_id, last_id)
        arrived = now - (timedelta(minutes=rng.randint(5, 600)) if n >= count else timedelta(days=rng.randint(1, 900)))
        modality, description = rng.choice(kinds)
        studies.append(
            {
                'study_instance_uid': f'2.25.{secrets.randbits(96)}',
                'patient_ref_id': owner,
                'patient_name': '',
                'dicom_patient_id': f'P{FIRST_PATIENT + owner - first_id:07d}',
                'accession_number': f'B{n:08d}',
                'study_date': arrived.date(),
                'description': description,
                'modalities': modality,
                'state': 'ready',
                'urgent': n >= count and rng.random() < 0.1,
                'num_series': 2,
                'num_instances': 60,
                'first_arrival': arrived,
                'last_arrival': arrived,
                'ready_at': arrived + timedelta(minutes=2),
                **({'reported': n < count} if marked else {}),
            }
        )
        owners.append(owner)
    with db.engine().begin() as connection:
        connection.execute(insert(Study), studies)
        ids = [row[0] for row in connection.execute(text('SELECT id FROM study ORDER BY id'))][-len(studies) :]
        reports = [
            {
                'study_id': study_id,
                'template_id': template,
                'kind': 'report',
                'state': 'final',
                'language': 'en',
                'values': {},
                'findings': '',
                'impression': '',
                'author_id': author,
                'last_saved_at': studies[n]['ready_at'] + timedelta(hours=4),
                'signed_by_id': author,
                'signed_at': studies[n]['ready_at'] + timedelta(hours=4),
                'created_at': studies[n]['ready_at'] + timedelta(hours=1),
            }
            for n, study_id in enumerate(ids[:count])
        ]
        connection.execute(insert(Report), reports)
    return sorted(set(owners[:count]))


def _search_terms(rng: random.Random) -> list[str]:
    """What reception types: a family name (whole or its start), a name in either order, a Patient ID."""
    terms = []
    for _ in range(60):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        terms += [family, family[:4], f'{given} {family}', f'{family} {given[:3]}']
    terms += [f'P{FIRST_PATIENT + rng.randint(0, 999):07d}' for _ in range(20)]
    return terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_dir', type=Path)
    parser.add_argument('--patients', type=int, default=2000)
    parser.add_argument('--appointments', type=int, default=200)
    parser.add_argument('--studies-per-patient', type=float, default=1.5)
    parser.add_argument('--unread', type=int, default=40)
    args = parser.parse_args()
    plan = fill(
        args.data_dir,
        patients=args.patients,
        appointments_today=args.appointments,
        studies_per_patient=args.studies_per_patient,
        unread=args.unread,
    )
    sys.stdout.write(json.dumps(plan) + '\n')


if __name__ == '__main__':
    main()
