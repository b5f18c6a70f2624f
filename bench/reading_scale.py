"""The reading worklist as the archive grows: its query now (unread studies by the `reported` mark, index
ix_study_unread) against its query before migration 0016 (every ready study asked whether a final report of it
exists), in the same run, on the same database.

For each level a database holds `--read` studies read and reported (a final report each) and `--unread` studies
waiting. The two queries are the worklist's (its columns, joins, order and limit) but for those conditions; they
run in turn (`--rounds` times each, interleaved), and the medians are printed with their ratio. Both must return
the same studies in the same order. SQLite in a
temporary folder by default; `--database-url postgresql+psycopg://…` uses a schema of its own there, dropped after.

Run: .venv/bin/python bench/reading_scale.py [--read 10000,100000] [--unread 40] [--rounds 15] [--database-url URL]
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, exists, insert, text  # noqa: E402
from sqlalchemy import select as select_columns  # noqa: E402
from sqlmodel import col  # noqa: E402

from domain import db, reading, templates, users  # noqa: E402
from domain.access import system  # noqa: E402
from domain.models import Patient, Report, Study, User, UserCreate  # noqa: E402
from domain.settings import Settings  # noqa: E402

BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--read', default='10000,100000', help='studies read and reported, per level, comma-separated')
    parser.add_argument('--unread', type=int, default=40)
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--database-url', help='PostgreSQL (a schema of its own) instead of SQLite')
    args = parser.parse_args()
    print('read studies  backend      query now   query before   before / now   rows')
    for count in (int(level) for level in args.read.split(',')):
        with tempfile.TemporaryDirectory(prefix='bench-reading-') as folder, _database(Path(folder), args) as backend:
            _clinic(count, args.unread)
            now_ms, before_ms, rows = _measure(args.rounds)
            print(
                f'{count:>12,}  {backend:<10} {now_ms:>10.2f} ms  {before_ms:>10.2f} ms  '
                f'{before_ms / now_ms:>12.1f}×  {rows:>5}'
            )


@contextmanager
def _database(folder: Path, args: argparse.Namespace) -> Iterator[str]:
    settings = Settings(_env_file=None, data_dir=folder)  # type: ignore[call-arg]
    if not args.database_url:
        db.configure(settings)
        try:
            db.upgrade()
            yield 'SQLite'
        finally:
            db.dispose()
        return
    schema = f'bench_{uuid.uuid4().hex[:12]}'
    admin = create_engine(args.database_url, isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA {schema}'))
    try:
        db.configure(
            settings.model_copy(update={'database_url': args.database_url}),
            connect_args={'options': f'-csearch_path={schema}'},
        )
        db.upgrade()
        yield 'PostgreSQL'
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA {schema} CASCADE'))
        admin.dispose()


def _clinic(read: int, unread: int) -> None:
    """A radiologist, one patient per 3 studies, `read` studies with a final report and `unread` waiting."""
    templates.seed_shipped()
    doctor = users.create(
        UserCreate(username='doctor', full_name='Doctor', role='radiologist', password='bench password 123'),
        by=system('bench'),
    )
    rng, now = random.Random(16), datetime.now(UTC)
    with db.engine().begin() as connection:
        template = connection.execute(
            text("SELECT min(id) FROM report_template WHERE code = 'us-abdomen'")
        ).scalar_one()
        patients = max(1, (read + unread) // 3)
        for start in range(0, patients, BATCH):
            connection.execute(
                insert(Patient),
                [
                    {'patient_id': f'P{n:07d}', 'family_name': f'F{n}'}
                    for n in range(start, min(patients, start + BATCH))
                ],
            )
        first_patient = connection.execute(text('SELECT min(id) FROM patient')).scalar_one()
        for start in range(0, read + unread, BATCH):
            studies = []
            for n in range(start, min(read + unread, start + BATCH)):
                arrived = now - (timedelta(days=rng.uniform(1, 900)) if n < read else timedelta(minutes=n % 600))
                studies.append(
                    {
                        'study_instance_uid': f'2.25.{n}',
                        'patient_ref_id': first_patient + n % patients,
                        'state': 'ready',
                        'reported': n < read,
                        'urgent': n >= read and n % 10 == 0,
                        'modalities': 'CT',
                        'first_arrival': arrived,
                        'last_arrival': arrived,
                    }
                )
            connection.execute(insert(Study), studies)
        ids = connection.execute(text('SELECT id FROM study WHERE reported ORDER BY id')).scalars().all()
        for start in range(0, len(ids), BATCH):
            connection.execute(
                insert(Report),
                [
                    {
                        'study_id': study_id,
                        'template_id': template,
                        'state': 'final',
                        'values': {},
                        'author_id': doctor.id,
                    }
                    for study_id in ids[start : start + BATCH]
                ],
            )
        if connection.dialect.name == 'postgresql':
            connection.execute(text('ANALYZE'))


def _query(*conditions: Any) -> Callable[[], list[Any]]:
    """The worklist's query (reading.worklist's columns, joins, order and limit) with these conditions."""
    query = (
        select_columns(*reading._ROW_COLUMNS)
        .where(*conditions)
        .join(Patient, col(Patient.id) == Study.patient_ref_id, isouter=True)
        .join(User, col(User.id) == Study.assigned_to_id, isouter=True)
        .order_by(*reading.WORKLIST_ORDER)
        .limit(200)
    )

    def run() -> list[Any]:
        with db.reading() as session:
            return [row[0] for row in session.execute(query).all()]

    return run


def _measure(rounds: int) -> tuple[float, float, int]:
    now = _query(*reading.UNREAD)
    done = exists().where(col(Report.study_id) == Study.id, col(Report.state).in_(reading.DONE_REPORTS))
    before = _query(Study.state == reading.READY, ~done)  # the conditions before migration 0016
    now_ids = now()
    if now_ids != before():
        raise SystemExit('the two queries disagree')
    timings: dict[str, list[float]] = {'now': [], 'before': []}
    for _ in range(rounds):
        for name, call in (('now', now), ('before', before)):
            started = time.perf_counter()
            call()
            timings[name].append((time.perf_counter() - started) * 1000)
    return statistics.median(timings['now']), statistics.median(timings['before']), len(now_ids)


if __name__ == '__main__':
    main()
