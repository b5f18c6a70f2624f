"""Reception figures over 100,000 generated patients: search, duplicate check, worklist C-FIND, board fan-out.

    .venv/bin/python bench/reception.py [--patients 100000] [--centres 1] [--database-url postgresql+psycopg://...]

Each figure is printed with a reference measured in the same run, interleaved round by round:
search and duplicate check against a primary-key read of one patient; the worklist C-FIND (findscu, a
day of 200 appointments) against DCMTK's own worklist SCP serving the same day, with a C-ECHO to our
listener and to storescp as the floor; the board fan-out (a move until 20 sessions have re-read the
day's board) against one session re-reading it. Each figure says whether it meets its target.

`--centres N` (N > 1) deals the patients round-robin to N diagnostic centres (domain.centres). Each centre has
its own CT room (AE title CT_C01, CT_C02, …) with a day of 200 bookings of its own patients, and every patient
has one completed appointment 2 to 730 days ago, so that a centre's bookings are more than today's. Search and
the duplicate check are then timed in the same rounds as a centre account of centre 2 (scoped) and as a
receptionist of no centre (unscoped), in turn, with the scoped / unscoped ratio; the worklist C-FIND comes from
centre 2's room (its 200 bookings; wlmscpfs serves the same 200) and the board fan-out is centre 2's board.
Before any timing, a patient registered in centre 1 must be found by the receptionist and by neither name,
fuzzy name, Patient ID nor duplicate check by centre 2's account, which must see exactly its own centre's
patients of a common name; the run stops otherwise.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from domain import (
    appointments,
    auth,
    centre_admin,
    centres,
    db,
    events,
    modalities,
    patient_search,
    patients,
    procedures,
    users,
)
from domain.access import Actor, modality, system
from domain.appointments import COMPLETED
from domain.models import Appointment, Modality, Patient, PatientCreate, PatientToken, UserCreate
from domain.settings import Settings

FAMILY = [
    'Smith',
    'Müller',
    'García',
    'Иванов',
    'Nguyen',
    'Kowalski',
    'Rossi',
    'Dubois',
    'Schmidt',
    'Okafor',
    'Johnson',
    'Петров',
    'López',
    'Martin',
    'Bernard',
    'Novák',
    'Jensen',
    'Silva',
    'Yilmaz',
    'Kim',
    'Brown',
    'Wagner',
    'Fernández',
    'Сидоров',
    'Andersson',
    'Nowak',
    'Costa',
    'Moreau',
    'Weber',
    'Tanaka',
]
GIVEN = [
    'Jane',
    'John',
    'Jürgen',
    'Lucía',
    'Пётр',
    'Anna',
    'Marco',
    'Amélie',
    'Chidi',
    'Thi Lan',
    'Hanna',
    'Olga',
    'Omar',
    'Sofia',
    'Lukas',
    'Eva',
    'Ivan',
    'Maria',
    'Pierre',
    'Yuki',
    'Mehmet',
    'Zoe',
]
ROUNDS = 200
WORKLIST_ROUNDS = 30
WORKLIST_TARGET_MS = 50
DAY = 200  # bookings of the day (of each centre's day with --centres)


def patient_row(
    patient_id: str,
    family: str,
    given: str,
    rng: random.Random,
    now: datetime,
    *,
    sex: str = 'U',
    centre_id: int | None = None,
) -> dict:
    """A synthetic patient as a row for a bulk insert (the benchmarks' clinics)."""
    return {
        'patient_id': patient_id,
        'family_name': family,
        'given_name': given,
        'middle_name': '',
        'birth_date': date(1930, 1, 1) + timedelta(days=rng.randint(0, 33000)),
        'sex': sex,
        'phone': f'+1 555 {rng.randint(1000, 9999)} {rng.randint(100, 999)}',
        'email': '',
        'address': '',
        'notes': '',
        'name_key': patient_search.name_key(family, given),
        'created_at': now,
        'updated_at': now,
        'centre_id': centre_id,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--patients', type=int, default=100_000)
    parser.add_argument('--centres', type=int, default=1, help='diagnostic centres the patients are dealt to')
    parser.add_argument('--database-url', default='')
    args = parser.parse_args()
    if args.centres < 1 or (args.centres > 1 and args.patients < DAY * args.centres):
        parser.error(f'--centres needs at least 1 centre and {DAY} patients per centre')
    work = Path(tempfile.mkdtemp(prefix='bench-reception-'))
    settings = Settings(
        _env_file=None,
        data_dir=work,
        database_url=args.database_url or None,  # type: ignore[call-arg]
        dicom_port=0,
    )
    if args.database_url:
        # A schema of its own, dropped first: the benchmark never touches the database's other tables.
        from sqlalchemy import create_engine

        owner = create_engine(args.database_url, isolation_level='AUTOCOMMIT')
        with owner.connect() as connection:
            connection.execute(text('DROP SCHEMA IF EXISTS bench_reception CASCADE'))
            connection.execute(text('CREATE SCHEMA bench_reception'))
        owner.dispose()
        db.configure(settings, connect_args={'options': '-csearch_path=bench_reception'})
    else:
        db.configure(settings)
    db.create_all()
    auth.configure(settings)
    actor = system('bench')
    centre_ids = _centres(args.centres, actor)
    spread = f' in {args.centres} centres' if args.centres > 1 else ''
    print(f'database: {db.engine().dialect.name}; generating {args.patients} patients{spread}…', flush=True)
    _generate(args.patients, centre_ids)
    head = procedures.create('CT-HEAD', 'CT head', 'CT', 3, by=actor)
    if args.centres == 1:
        rooms = [
            modalities.add(
                modalities.ModalityCreate(
                    ae_title=f'CT_ROOM{n}', host='127.0.0.1', port=104, modality='CT', room=f'CT {n}'
                ),
                by=actor,
            )
            for n in (1, 2)
        ]
        _book_day(DAY, rooms, head.id or 0)
        desk = [('', actor)]
        station, board = 'CT_ROOM1', actor
    else:
        rooms = [_centre_room(number, centre_id, actor) for number, centre_id in enumerate(centre_ids, 1)]
        _book_centres(args.patients, centre_ids, rooms, head.id or 0)
        home = 1  # centre 2 (the first one created here) is measured; centre 1 holds the stranger
        staff_of_home, staff_of_none = _staff(centre_ids[home], actor)
        _check_isolation(centre_ids[0], staff_of_home, staff_of_none, actor)
        where = f'centre {home + 1} of {args.centres}'
        desk = [(f'{where} staff (scoped)', staff_of_home), ('staff of no centre (unscoped)', staff_of_none)]
        station, board = rooms[home].ae_title, staff_of_home
        print(
            f'scoped: {where} staff see {_count_of(centre_ids[home])} of {args.patients + 1} patients and '
            f'{DAY} of {DAY * args.centres} bookings today; worklist from {station}, board of {where}',
            flush=True,
        )
    _desk(args.patients, desk)
    _worklist(settings, work, station)
    _board_fanout(board)
    db.dispose()
    shutil.rmtree(work, ignore_errors=True)


def _desk(patients: int, desk: list[tuple[str, Actor]]) -> None:
    """Search and the duplicate check as each actor of `desk`, in turn within each round, then the reference read."""
    rng = random.Random(7)
    with db.reading() as session:
        ids = [row for row in session.exec(text('SELECT id FROM patient'))]  # type: ignore[call-overload]
    queries = (
        [f'{rng.choice(GIVEN)} {rng.choice(FAMILY)[:4]}' for _ in range(ROUNDS)]
        + [f'P{rng.randint(1, patients):07d}' for _ in range(ROUNDS // 4)]
        + [f'555{rng.randint(1000, 9999)}' for _ in range(ROUNDS // 4)]
        + ['Jnae Smiht', 'Ivnaov Petr'] * 5
    )
    search: dict[str, list[float]] = {label: [] for label, _ in desk}
    reference = []
    for round_number, q in enumerate(queries):
        for label, by in _in_turn(desk, round_number):
            search[label].append(_timed(lambda q=q, by=by: patient_search.search(q, by=by)))
        reference.append(_timed(lambda: _read_one(rng.choice(ids)[0])))
    _report_all('patient search', desk, search, reference, target_p95_ms=50)
    dup: dict[str, list[float]] = {label: [] for label, _ in desk}
    reference = []
    for round_number in range(ROUNDS):
        form = PatientCreate(
            family_name=rng.choice(FAMILY),
            given_name=rng.choice(GIVEN),
            birth_date=date(1950, 1, 1) + timedelta(days=rng.randint(0, 25000)),
            phone=f'+1 555 {rng.randint(1000, 9999)}',
        )
        for label, by in _in_turn(desk, round_number):
            dup[label].append(_timed(lambda f=form, by=by: patient_search.duplicates(f, by=by)))
        reference.append(_timed(lambda: _read_one(rng.choice(ids)[0])))
    _report_all('duplicate check while typing', desk, dup, reference, target_p95_ms=100)


def _in_turn(desk: list[tuple[str, Actor]], round_number: int) -> list[tuple[str, Actor]]:
    """Each actor takes every place in the round in turn (the one after reads what the first brought into cache)."""
    shift = round_number % len(desk)
    return desk[shift:] + desk[:shift]


def _centres(count: int, by: Actor) -> list[int]:
    """The clinic's own centre (the default one) and count - 1 more."""
    made = [centre_admin.create(centre_admin.CentreData(name=f'Centre {n:02d}'), by=by) for n in range(2, count + 1)]
    return [centres.default_id(), *(centre.id or 0 for centre in made)]


def _centre_room(number: int, centre_id: int, by: Actor) -> Modality:
    """A centre's CT room: its AE title sees that centre's worklist (domain.centres.of_modality)."""
    room = modalities.add(
        modalities.ModalityCreate(
            ae_title=f'CT_C{number:02d}', host='127.0.0.1', port=104, modality='CT', room=f'CT {number}'
        ),
        by=by,
    )
    return centre_admin.set_modality_centre(room.id or 0, centre_id, by=by)


def _book_centres(patients: int, centre_ids: list[int], rooms: list[Modality], procedure_id: int) -> None:
    """Each centre's day of DAY bookings of its own patients, in its own room; then every patient's past
    appointment (completed, 2 to 730 days ago), so that a centre's bookings are not only today's."""
    count = len(centre_ids)
    for index, (centre_id, room) in enumerate(zip(centre_ids, rooms, strict=True)):
        own = range(index + 1, patients + 1, count)  # _generate deals patient n to centre (n - 1) % count
        _book_day(DAY, [room], procedure_id, patient_ids=list(own[:DAY]), first=1 + index * DAY, centre_id=centre_id)
    rng = random.Random(3)
    today = datetime.combine(appointments.today(), datetime.min.time(), tzinfo=appointments.local_zone())
    number = DAY * count
    rows = []
    for patient_id in range(1, patients + 1):
        index = (patient_id - 1) % count
        number += 1
        at = today - timedelta(days=rng.randint(2, 730)) + timedelta(minutes=rng.randint(8 * 60, 18 * 60))
        rows.append(
            _booking(
                patient_id,
                procedure_id,
                room_id=rooms[index].id,
                number=number,
                at=at,
                centre_id=centre_ids[index],
                state=COMPLETED,
            )
        )
        if len(rows) == 20000:
            _insert_bookings(rows)
    _insert_bookings(rows)
    if db.engine().dialect.name == 'postgresql':
        with db.engine().begin() as connection:
            connection.execute(text('ANALYZE'))


def _staff(centre_id: int, by: Actor) -> tuple[Actor, Actor]:
    """A centre account of this centre and a receptionist of no centre, as their signed-in actors would be."""
    made = [
        users.create(
            UserCreate(username=name, role=role, password='bench-reception-password', centre_id=centre),
            by=by,
        )
        for name, role, centre in (('centre-desk', 'centre', centre_id), ('clinic-desk', 'receptionist', None))
    ]
    of_home, of_none = (
        Actor(role=user.role, username=user.username, user_id=user.id, centres=centres.of_user(user)) for user in made
    )
    _check(of_home.centres == frozenset({centre_id}), f'a centre account sees {of_home.centres}')
    _check(of_none.centres is None, f'a receptionist of no centre sees {of_none.centres}')
    return of_home, of_none


def _check_isolation(other: int, staff_of_home: Actor, staff_of_none: Actor, by: Actor) -> None:
    """Once, before the timing: a patient of another centre is found by staff of no centre, and by neither name,
    Patient ID nor duplicate check by the measured centre's staff."""
    details = {'family_name': 'Abernathy', 'given_name': 'Quennell', 'birth_date': date(1977, 5, 4)}
    stranger = patients.register(PatientCreate(**details, phone='+1 555 0101 777', centre_id=other), by=by)
    found = patient_search.search('Abernathy Quennell', by=staff_of_none)
    _check([p.id for p in found.rows] == [stranger.id], 'staff of no centre do not find the patient of centre 1')
    for typed in ('Abernathy Quennell', 'quennell abern', 'Abernaty Quenell', stranger.patient_id):
        leaked = patient_search.search(typed, by=staff_of_home)
        _check(not leaked.rows and not leaked.total, f'centre staff searching {typed!r} find another centre’s patient')
    _check(not patient_search.duplicates(PatientCreate(**details), by=staff_of_home), 'the duplicate check leaks')
    typed = 'Jane Smit'  # the name of many patients in every centre: the centre's staff see their own only
    every = patient_search.search(typed, by=staff_of_none, limit=10**6).rows
    own = patient_search.search(typed, by=staff_of_home, limit=10**6).rows
    mine = {p.id for p in every if p.centre_id in (staff_of_home.centres or ())}
    _check(bool(own) and {p.id for p in own} == mine, f'centre staff searching {typed!r} see other centres’ patients')
    print(
        f'isolation: a patient of centre 1 is found by staff of no centre, not by centre staff (name, fuzzy name, '
        f'Patient ID, duplicate check); {typed!r}: {len(own)} patients for centre staff, {len(every)} for staff of '
        f'no centre',
        flush=True,
    )


def _check(condition: bool, failure: str) -> None:
    if not condition:
        raise SystemExit(f'bench/reception.py: {failure}')


def _count_of(centre_id: int) -> int:
    with db.engine().connect() as connection:
        counted: int = connection.execute(
            text('SELECT count(*) FROM patient WHERE centre_id = :centre'), {'centre': centre_id}
        ).scalar_one()
    return counted


def _generate(count: int, centre_ids: list[int] | None = None) -> None:
    """count patients, dealt round-robin to the centres (patient n to centre_ids[(n - 1) % len(centre_ids)])."""
    rng = random.Random(1)
    batch = []
    now = datetime.now().astimezone()
    for n in range(1, count + 1):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        centre_id = centre_ids[(n - 1) % len(centre_ids)] if centre_ids else None
        batch.append(patient_row(f'P{n:07d}', family, given, rng, now, centre_id=centre_id))
        if len(batch) == 5000:
            _flush(batch)
    _flush(batch)
    with db.engine().begin() as connection:  # the search tokens register() stores, in bulk
        rows = connection.execute(text('SELECT id, name_key, phone FROM patient')).all()
        tokens = [
            {'patient_id': pid, 'token': token}
            for pid, key, phone in rows
            for token in patient_search.tokens_of(Patient(name_key=key, phone=phone, patient_id='', family_name=''))
        ]
        for start in range(0, len(tokens), 20000):
            connection.execute(insert(PatientToken), tokens[start : start + 20000])
    if db.engine().dialect.name == 'postgresql':
        with db.engine().begin() as connection:
            connection.execute(text('ANALYZE'))


def _flush(batch: list[dict]) -> None:
    if batch:
        with db.engine().begin() as connection:
            connection.execute(insert(Patient), batch)
        batch.clear()


def _book_day(
    count: int,
    rooms: list,
    procedure_id: int,
    *,
    patient_ids: list[int] | None = None,
    first: int = 1,
    centre_id: int | None = None,
) -> None:
    """A day of count bookings, 7 minutes apart, across the rooms (patients 1 to count unless named)."""
    start = datetime.combine(appointments.today(), datetime.min.time(), tzinfo=appointments.local_zone())
    who = patient_ids or list(range(1, count + 1))
    _insert_bookings(
        [
            _booking(
                who[n],
                procedure_id,
                room_id=rooms[n % len(rooms)].id,
                number=first + n,
                at=start + timedelta(minutes=7 * n),
                centre_id=centre_id,
            )
            for n in range(count)
        ]
    )


def _booking(
    patient_id: int,
    procedure_id: int,
    *,
    room_id: int | None,
    number: int,
    at: datetime,
    centre_id: int | None,
    state: str = 'scheduled',
) -> dict:
    start = datetime.combine(appointments.today(), datetime.min.time(), tzinfo=appointments.local_zone())
    return {
        'patient_id': patient_id,
        'procedure_id': procedure_id,
        'modality_id': room_id,
        'accession_number': appointments.accession_for(number),
        'scheduled_at': at,
        'duration_minutes': 3,
        'state': state,
        'state_changed_at': min(at, start),
        'urgent': False,
        'referring_physician': '',
        'notes': '',
        'created_at': min(at, start),
        'created_by': 'bench',
        'centre_id': centre_id,
    }


def _insert_bookings(rows: list[dict]) -> None:
    if rows:
        with db.engine().begin() as connection:
            connection.execute(insert(Appointment), rows)
        rows.clear()


def _read_one(patient_id: int) -> None:
    with centres.unscoped(), db.reading() as session:  # the same reference read whoever was measured before it
        session.get(Patient, patient_id)


def _worklist(settings: Settings, work: Path, station: str = 'CT_ROOM1') -> None:
    """findscu -W from the station's AE title for the day's 200 appointments it sees (a centre's room: its centre's):
    ours vs DCMTK's own worklist SCP (wlmscpfs) holding the same 200 items as files. The DCMTK client runs with its
    default (Nagle on) and with TCP_NODELAY=1; each wlmscpfs reference is started the same way. The floor is echoscu
    (process start, association, release) to our listener and to DCMTK's storescp."""
    tools = {name: shutil.which(name) or '' for name in ('findscu', 'echoscu', 'wlmscpfs', 'storescp')}
    if not all(tools.values()):
        print('worklist C-FIND: skipped (DCMTK findscu/echoscu/wlmscpfs/storescp not installed)')
        return
    from dicom import scp, storage
    from dicom import worklist as dicom_worklist
    from dicom.ingest import Ingest

    storage.configure(work, min_free_bytes=0)
    listener = scp.start(settings, Ingest())
    nagle_off = {**os.environ, 'TCP_NODELAY': '1'}
    reference_dir = _wlmscpfs_files(work, settings.ae_title, dicom_worklist, station)
    ports = {'dcmtk': _free_port(), 'dcmtk-nodelay': _free_port(), 'storescp': _free_port()}
    references = [
        subprocess.Popen(
            [tools['wlmscpfs'], '-dfp', str(reference_dir), str(ports[name])],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, env in (('dcmtk', None), ('dcmtk-nodelay', nagle_off))
    ]
    references.append(
        subprocess.Popen(
            [tools['storescp'], str(ports['storescp'])],
            cwd=work,
            env=nagle_off,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    time.sleep(0.5)
    keys = [
        '-k',
        'PatientName',
        '-k',
        'PatientID',
        '-k',
        'AccessionNumber',
        '-k',
        'PatientBirthDate',
        '-k',
        'ScheduledProcedureStepSequence[0].Modality=CT',
    ]

    def findscu(port: int) -> list[str]:
        return [tools['findscu'], '-W', '-aet', station, '-aec', settings.ae_title, *keys, '127.0.0.1', str(port)]

    def find(port: int, env: dict | None) -> float:
        return _timed(lambda: subprocess.run(findscu(port), check=True, capture_output=True, env=env))

    def echo(port: int) -> float:
        return _timed(
            lambda: subprocess.run(
                [tools['echoscu'], '-aet', station, '-aec', settings.ae_title, '127.0.0.1', str(port)],
                check=True,
                capture_output=True,
                env=nagle_off,
            )
        )

    measures: list[tuple[str, Callable[[], float]]] = [
        ('ours', lambda: find(listener.port, None)),
        ('dcmtk', lambda: find(ports['dcmtk'], None)),
        ('ours-nodelay', lambda: find(listener.port, nagle_off)),
        ('dcmtk-nodelay', lambda: find(ports['dcmtk-nodelay'], nagle_off)),
        ('echo-ours', lambda: echo(listener.port)),
        ('echo-storescp', lambda: echo(ports['storescp'])),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in measures}
    answers = {}
    try:
        for round_number in range(WORKLIST_ROUNDS):
            shift = round_number % len(measures)  # each measure takes every place in the round in turn
            for name, measure in measures[shift:] + measures[:shift]:
                times[name].append(measure())
        for name, port in (('ours', listener.port), ('dcmtk', ports['dcmtk'])):
            result = subprocess.run(findscu(port), check=True, capture_output=True, text=True)
            answers[name] = result.stderr.count('Find Response:')
    finally:
        listener.stop()
        for process in references:
            process.terminate()
            process.wait(timeout=10)
    p50 = {name: statistics.median(values) for name, values in times.items()}
    print(
        f'worklist C-FIND, findscu -W from {station}, {answers["ours"]} answers (wlmscpfs {answers["dcmtk"]}), p50 end '
        f'to end over {WORKLIST_ROUNDS} interleaved rounds (target <= {WORKLIST_TARGET_MS} ms):'
    )
    print(
        f'  DCMTK client defaults (Nagle on):  ours {p50["ours"]:.1f} ms, wlmscpfs {p50["dcmtk"]:.1f} ms, '
        f'ratio {p50["ours"] / p50["dcmtk"]:.2f}; {_verdict(p50["ours"], WORKLIST_TARGET_MS)}'
    )
    print(
        f'  TCP_NODELAY=1 on both sides:       ours {p50["ours-nodelay"]:.1f} ms, wlmscpfs '
        f'{p50["dcmtk-nodelay"]:.1f} ms, ratio {p50["ours-nodelay"] / p50["dcmtk-nodelay"]:.2f}; '
        f'{_verdict(p50["ours-nodelay"], WORKLIST_TARGET_MS)}'
    )
    print(
        f'  floor, echoscu (process start, association, release): ours {p50["echo-ours"]:.1f} ms, '
        f'storescp {p50["echo-storescp"]:.1f} ms'
    )


def _wlmscpfs_files(work: Path, ae_title: str, dicom_worklist, station: str) -> Path:  # type: ignore[no-untyped-def]
    """The day's worklist the station sees, as DCMTK's file-based worklist SCP reads it: one .wl file per item."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from domain import worklist

    folder = work / 'wlm' / ae_title
    folder.mkdir(parents=True)
    (folder / 'lockfile').touch()
    items = worklist.query(worklist.WorklistQuery(modality='CT'), by=modality(station))
    for number, item in enumerate(items):
        response = dicom_worklist.full_item(item)
        response.SpecificCharacterSet = 'ISO_IR 192'
        response.file_meta = FileMetaDataset()
        response.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        response.file_meta.MediaStorageSOPClassUID = '1.2.276.0.7230010.3.1.0.1'
        response.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        response.save_as(folder / f'item{number:04d}.wl', enforce_file_format=True)
    return folder.parent


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _board_fanout(actor: Actor) -> None:
    """A move, then 20 'sessions' (threads, as NiceGUI's io_bound pool) re-read today's board, as the screen does
    (the actor's board: a centre's staff see their centre's)."""
    sessions = 20
    booked = "SELECT id FROM appointment WHERE state = 'scheduled'"
    if actor.centres is not None:
        booked += f' AND centre_id IN ({", ".join(str(centre) for centre in sorted(actor.centres))})'
    with db.reading() as session:
        targets = [a.id for a in session.exec(text(booked))]  # type: ignore[call-overload]
    fan, single = [], []
    for round_number in range(10):
        done = threading.Barrier(sessions + 1)

        def refresh(_event: events.Event, done: threading.Barrier = done) -> None:
            threading.Thread(target=lambda: (appointments.day(appointments.today(), by=actor), done.wait())).start()

        subscriptions = [events.subscribe(refresh) for _ in range(sessions)]
        started = time.perf_counter()
        appointments.move(targets[round_number], appointments.WAITING, by=actor)
        done.wait()
        fan.append((time.perf_counter() - started) * 1000)
        for unsubscribe in subscriptions:
            unsubscribe()
        single.append(_timed(lambda: appointments.day(appointments.today(), by=actor)))
    p = max(fan)
    print(
        f'board change to {sessions} sessions re-reading the board{" of " + actor.username if actor.centres else ""}: '
        f'worst {p:.0f} ms ({_verdict(p, 1000)}), p50 {statistics.median(fan):.0f} ms (target <= 1000); '
        f'one re-read p50 {statistics.median(single):.1f} ms; '
        f'ratio {statistics.median(fan) / statistics.median(single):.1f}'
    )


def _timed(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _report_all(
    name: str, desk: list[tuple[str, Actor]], times: dict[str, list[float]], reference: list[float], **target: float
) -> None:
    for label, _ in desk:
        _report(f'{name}, {label}' if label else name, times[label], reference, **target)
    if len(desk) > 1:
        (scoped, _), (unscoped, _) = desk[:2]
        ratio = statistics.median(times[scoped]) / statistics.median(times[unscoped])
        print(f'  {name}: scoped / unscoped p50 {ratio:.2f}, p95 {_p95(times[scoped]) / _p95(times[unscoped]):.2f}')


def _report(name: str, times: list[float], reference: list[float], *, target_p95_ms: float) -> None:
    p50, p95 = statistics.median(times), _p95(times)
    r50 = statistics.median(reference)
    print(
        f'{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 <= {target_p95_ms:.0f}: '
        f'{_verdict(p95, target_p95_ms)}); primary-key read reference p50 {r50:.2f} ms; ratio p50 {p50 / r50:.0f}'
    )


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def _verdict(measured: float, target: float) -> str:
    return 'meets the target' if measured <= target else 'MISSES the target'


if __name__ == '__main__':
    main()
