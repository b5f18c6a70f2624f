"""Reception figures over 100,000 generated patients: search, duplicate check, worklist C-FIND, board fan-out.

    .venv/bin/python bench/reception.py [--patients 100000] [--database-url postgresql+psycopg://...]

Each figure is printed with a reference measured in the same run, interleaved round by round:
search and duplicate check against a primary-key read of one patient; the worklist C-FIND (findscu, a
day of 200 appointments) against DCMTK's own worklist SCP serving the same day, with a C-ECHO to our
listener and to storescp as the floor; the board fan-out (a move until 20 sessions have re-read the
day's board) against one session re-reading it.
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

from domain import appointments, auth, db, events, modalities, patient_search, procedures
from domain.access import system
from domain.models import Appointment, Patient, PatientCreate, PatientToken
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


def patient_row(patient_id: str, family: str, given: str, rng: random.Random, now: datetime, *, sex: str = 'U') -> dict:
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
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--patients', type=int, default=100_000)
    parser.add_argument('--database-url', default='')
    args = parser.parse_args()
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
    print(f'database: {db.engine().dialect.name}; generating {args.patients} patients…', flush=True)
    _generate(args.patients)
    rooms = [
        modalities.add(
            modalities.ModalityCreate(
                ae_title=f'CT_ROOM{n}', host='127.0.0.1', port=104, modality='CT', room=f'CT {n}'
            ),
            by=actor,
        )
        for n in (1, 2)
    ]
    head = procedures.create('CT-HEAD', 'CT head', 'CT', 3, by=actor)
    _book_day(200, rooms, head.id or 0)
    rng = random.Random(7)
    with db.reading() as session:
        ids = [row for row in session.exec(text('SELECT id FROM patient'))]  # type: ignore[call-overload]
    queries = (
        [f'{rng.choice(GIVEN)} {rng.choice(FAMILY)[:4]}' for _ in range(ROUNDS)]
        + [f'P{rng.randint(1, args.patients):07d}' for _ in range(ROUNDS // 4)]
        + [f'555{rng.randint(1000, 9999)}' for _ in range(ROUNDS // 4)]
        + ['Jnae Smiht', 'Ivnaov Petr'] * 5
    )
    search, reference = [], []
    for q in queries:
        search.append(_timed(lambda q=q: patient_search.search(q, by=actor)))
        reference.append(_timed(lambda: _read_one(rng.choice(ids)[0])))
    _report('patient search', search, reference, target_p95_ms=50)
    dup, reference = [], []
    for _ in range(ROUNDS):
        form = PatientCreate(
            family_name=rng.choice(FAMILY),
            given_name=rng.choice(GIVEN),
            birth_date=date(1950, 1, 1) + timedelta(days=rng.randint(0, 25000)),
            phone=f'+1 555 {rng.randint(1000, 9999)}',
        )
        dup.append(_timed(lambda f=form: patient_search.duplicates(f, by=actor)))
        reference.append(_timed(lambda: _read_one(rng.choice(ids)[0])))
    _report('duplicate check while typing', dup, reference, target_p95_ms=100)
    _worklist(settings, work)
    _board_fanout(rooms)
    db.dispose()
    shutil.rmtree(work, ignore_errors=True)


def _generate(count: int) -> None:
    rng = random.Random(1)
    batch = []
    now = datetime.now().astimezone()
    for n in range(1, count + 1):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        batch.append(patient_row(f'P{n:07d}', family, given, rng, now))
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


def _book_day(count: int, rooms: list, procedure_id: int) -> None:
    start = datetime.combine(appointments.today(), datetime.min.time(), tzinfo=appointments.local_zone())
    rows = [
        {
            'patient_id': n + 1,
            'procedure_id': procedure_id,
            'modality_id': rooms[n % 2].id,
            'accession_number': appointments.accession_for(n + 1),
            'scheduled_at': start + timedelta(minutes=7 * n),
            'duration_minutes': 3,
            'state': 'scheduled',
            'state_changed_at': start,
            'urgent': False,
            'referring_physician': '',
            'notes': '',
            'created_at': start,
            'created_by': 'bench',
        }
        for n in range(count)
    ]
    with db.engine().begin() as connection:
        connection.execute(insert(Appointment), rows)


def _read_one(patient_id: int) -> None:
    with db.reading() as session:
        session.get(Patient, patient_id)


def _worklist(settings: Settings, work: Path) -> None:
    """findscu -W for the day's 200 appointments: ours vs DCMTK's own worklist SCP (wlmscpfs) holding the same
    200 items as files. The DCMTK client runs with its default (Nagle on) and with TCP_NODELAY=1; each wlmscpfs
    reference is started the same way. The floor is echoscu (process start, association, release) to our
    listener and to DCMTK's storescp."""
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
    reference_dir = _wlmscpfs_files(work, settings.ae_title, dicom_worklist)
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
        return [tools['findscu'], '-W', '-aet', 'CT_ROOM1', '-aec', settings.ae_title, *keys, '127.0.0.1', str(port)]

    def find(port: int, env: dict | None) -> float:
        return _timed(lambda: subprocess.run(findscu(port), check=True, capture_output=True, env=env))

    def echo(port: int) -> float:
        return _timed(
            lambda: subprocess.run(
                [tools['echoscu'], '-aet', 'CT_ROOM1', '-aec', settings.ae_title, '127.0.0.1', str(port)],
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
        f'worklist C-FIND, findscu -W, {answers["ours"]} answers (wlmscpfs {answers["dcmtk"]}), p50 end to end '
        f'over {WORKLIST_ROUNDS} interleaved rounds (target <= 50 ms):'
    )
    print(
        f'  DCMTK client defaults (Nagle on):  ours {p50["ours"]:.1f} ms, wlmscpfs {p50["dcmtk"]:.1f} ms, '
        f'ratio {p50["ours"] / p50["dcmtk"]:.2f}'
    )
    print(
        f'  TCP_NODELAY=1 on both sides:       ours {p50["ours-nodelay"]:.1f} ms, wlmscpfs '
        f'{p50["dcmtk-nodelay"]:.1f} ms, ratio {p50["ours-nodelay"] / p50["dcmtk-nodelay"]:.2f}'
    )
    print(
        f'  floor, echoscu (process start, association, release): ours {p50["echo-ours"]:.1f} ms, '
        f'storescp {p50["echo-storescp"]:.1f} ms'
    )


def _wlmscpfs_files(work: Path, ae_title: str, dicom_worklist) -> Path:  # type: ignore[no-untyped-def]
    """The day's worklist as DCMTK's file-based worklist SCP reads it: one .wl file per item."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from domain import worklist

    folder = work / 'wlm' / ae_title
    folder.mkdir(parents=True)
    (folder / 'lockfile').touch()
    items = worklist.query(worklist.WorklistQuery(modality='CT'), by=system('bench'))
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


def _board_fanout(rooms: list) -> None:
    """A move, then 20 'sessions' (threads, as NiceGUI's io_bound pool) re-read today's board, as the screen does."""
    actor = system('bench')
    sessions = 20
    with db.reading() as session:
        targets = [a.id for a in session.exec(text("SELECT id FROM appointment WHERE state = 'scheduled'"))]  # type: ignore[call-overload]
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
        f'board change to {sessions} sessions re-reading the board: worst {p:.0f} ms, p50 '
        f'{statistics.median(fan):.0f} ms (target <= 1000); one re-read p50 {statistics.median(single):.1f} ms; '
        f'ratio {statistics.median(fan) / statistics.median(single):.1f}'
    )


def _timed(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _report(name: str, times: list[float], reference: list[float], *, target_p95_ms: float) -> None:
    p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
    r50 = statistics.median(reference)
    print(
        f'{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 <= {target_p95_ms:.0f}); '
        f'primary-key read reference p50 {r50:.2f} ms; ratio p50 {p50 / r50:.0f}'
    )


if __name__ == '__main__':
    main()
