"""Backups: a sealed archive of every table and file restores, after a wipe, to the same rows and the same bytes."""

import hashlib
import io
import json
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel, col, select

from domain import (
    audit,
    audit_chain,
    audit_checkpoints,
    backup,
    backup_snapshot,
    db,
    heartbeats,
    keys,
    patients,
    reading,
    sealed,
    users,
)
from domain.access import system
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.models import Appointment, AuditEvent, PatientCreate, Study, UserCreate
from domain.settings import Settings
from tests.conftest import PG_URL, Clinic
from tests.domain.test_audit import _unkeyed_trail
from tests.report_fixtures import final_report, make_study

KEY = sealed.Passphrase('a long clinic backup passphrase')
LEFT_OUT = {'secret.key', 'keys/session.key', audit_checkpoints.FILE_NAME}


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The passphrase's work factor at scrypt's floor: the suite seals many archives (production keeps its own)."""
    monkeypatch.setattr(sealed, 'SCRYPT_LOG_N', 10)


def put_files(data_dir: Path, *names: str) -> None:
    """Stored files as the clinic keeps them (our names are UUID-like), each with its own bytes."""
    for name in names or ('dicom/ab/cd/0a1b.dcm', 'dicom/ab/ef/77aa.dcm', 'thumbnails/3.png', 'reports/4.pdf'):
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'DICM ' + name.encode() + hashlib.sha256(name.encode()).digest() * 40)


def file_digests(data_dir: Path) -> dict[str, str]:
    """Every file a backup must bring back, by path, with its SHA-256."""
    found = {}
    for path in sorted(data_dir.rglob('*')):
        relative = path.relative_to(data_dir).as_posix()
        top = relative.split('/')[0]
        if path.is_file() and top not in {'backups', 'backups-state'} and relative not in LEFT_OUT:
            if '.sqlite3' not in path.name:
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def table_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in key order, as portable values (compared across engines)."""
    with db.engine().connect() as connection:
        return {
            table.name: [
                json.loads(json.dumps(row, default=backup_snapshot.encode))
                for row in backup_snapshot.rows(connection, table)
            ]
            for table in backup_snapshot.tables()
        }


def wipe(data_dir: Path) -> None:
    """A dead server's replacement: no rows, no files (the database file itself stays, empty)."""
    with db.transaction() as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            session.execute(table.delete())
    for path in sorted(data_dir.rglob('*'), reverse=True):
        if path.relative_to(data_dir).parts[0] != 'backups' and '.sqlite3' not in path.name:
            path.unlink() if path.is_file() else path.rmdir()
    audit.forget_key()


def same_after_restore(before: dict[str, list[dict[str, Any]]]) -> None:
    """The restored rows equal the backed-up ones; the trail has just the restore's own event beyond them."""
    after = table_rows()
    events = after.pop('audit_event')
    assert after == {name: rows for name, rows in before.items() if name != 'audit_event'}
    assert events[: len(before['audit_event'])] == before['audit_event']
    assert [event['action'] for event in events[len(before['audit_event']) :]] == ['backup.restore']


def members(archive: Path, identity: sealed.Identity = KEY) -> dict[str, bytes]:
    """Every member of a sealed archive, opened as an administrator with the key would."""
    with (
        archive.open('rb') as raw,
        sealed.opening(raw, identity) as stream,
        tarfile.open(fileobj=stream, mode='r|') as tar,
    ):
        return {member.name: tar.extractfile(member).read() for member in tar}  # type: ignore[union-attr]


@pytest.fixture
def stocked(clinic: Clinic) -> Clinic:
    """A clinic with a patient, stored files and a second-factor key."""
    patients.register(
        PatientCreate(family_name='Backed', given_name='Up', birth_date='1980-02-03'), by=clinic.receptionist.actor
    )
    put_files(clinic.data_dir)
    keys.key('mfa')
    return clinic


def test_a_backup_restores_every_row_and_every_file_after_a_wipe(stocked: Clinic) -> None:
    rows, files = table_rows(), file_digests(stocked.data_dir)

    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)
    wipe(stocked.data_dir)
    restored = backup.restore(made.path, stocked.data_dir, by=system('console'), identity=KEY)

    assert (made.kind, restored.archives) == ('full', [made.path.name])
    assert made.rows == sum(len(table) for table in rows.values())
    assert made.files == len(files) + 1  # and the audit ledger up to the snapshot
    same_after_restore(rows)
    assert file_digests(stocked.data_dir) == files
    assert audit.verify(by=stocked.admin.actor).intact
    assert users.create(
        UserCreate(username='after-restore', role='technician', password='a long password'), by=stocked.admin.actor
    ).id


def test_an_archive_made_on_one_engine_restores_onto_the_other(stocked: Clinic, backend: str, tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip('PostgreSQL variant off: set PACS_TEST_DATABASE_URL')
    rows, files = table_rows(), file_digests(stocked.data_dir)
    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)

    fresh = Settings(_env_file=None, data_dir=tmp_path / 'fresh', database_url=None)  # type: ignore[call-arg]
    with _other_engine(fresh, backend) as other:
        backup.restore(made.path, other.data_dir, by=system('console'), identity=KEY)

        same_after_restore(rows)
        assert file_digests(other.data_dir) == files
        assert audit.verify(by=stocked.admin.actor).intact
        assert users.create(
            UserCreate(username='moved-up', role='technician', password='a long password'), by=stocked.admin.actor
        ).id


def test_rows_committed_while_the_snapshot_is_read_are_in_no_table_of_it(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_rows()
    real_rows = backup_snapshot.rows
    changed: list[str] = []

    def rows_then_a_new_account(connection: Any, table: Any) -> Any:
        yield from real_rows(connection, table)
        if not changed:  # after the first table: an account and its audit event commit meanwhile
            changed.append(table.name)
            users.create(
                UserCreate(username='mid-dump', role='technician', password='a long password'), by=clinic.admin.actor
            )

    monkeypatch.setattr(backup_snapshot, 'rows', rows_then_a_new_account)
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)

    assert changed
    assert made.tables == {name: len(rows) for name, rows in before.items()}
    assert b'mid-dump' not in members(made.path)['database.jsonl']


def test_a_patient_merged_into_one_registered_later_restores(clinic: Clinic) -> None:
    by = clinic.admin.actor
    duplicate = patients.register(
        PatientCreate(family_name='Early', given_name='Record', birth_date='1970-01-02'), by=by
    )
    kept = patients.register(PatientCreate(family_name='Later', given_name='Record', birth_date='1971-03-04'), by=by)
    patients.merge(duplicate.id or 0, kept.id or 0, by=by)
    rows = table_rows()
    made = backup.create(clinic.data_dir, by=by, recipient=KEY)
    wipe(clinic.data_dir)

    backup.restore(made.path, clinic.data_dir, by=system('console'), identity=KEY)

    same_after_restore(rows)


def test_which_processes_run_is_not_backed_up_and_a_restore_leaves_the_running_ones(stocked: Clinic) -> None:
    heartbeats.beat('backed-up-serve', role='serve', host='old', pid=1, jobs=True)
    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)
    wipe(stocked.data_dir)
    heartbeats.beat('restoring-serve', role='serve', host='new', pid=2, jobs=True)

    backup.restore(made.path, stocked.data_dir, by=system('console'), identity=KEY)  # not forced: no data here

    assert b'process_heartbeat' not in members(made.path)['database.jsonl']
    assert [process.id for process in heartbeats.listing()] == ['restoring-serve']


def test_a_database_that_holds_data_is_only_replaced_when_forced(stocked: Clinic) -> None:
    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)
    users.create(
        UserCreate(username='after-backup', role='technician', password='a long password'), by=stocked.admin.actor
    )
    (stocked.data_dir / 'dicom/ab/cd/0a1b.dcm').write_bytes(b'overwritten')

    with pytest.raises(Conflict, match='already holds data'):
        backup.restore(made.path, stocked.data_dir, by=stocked.admin.actor, identity=KEY)
    backup.restore(made.path, stocked.data_dir, by=stocked.admin.actor, identity=KEY, force=True)

    names = {account.username for account in users.list_all(by=stocked.admin.actor)}
    assert 'after-backup' not in names
    assert (stocked.data_dir / 'dicom/ab/cd/0a1b.dcm').read_bytes().startswith(b'DICM dicom/ab/cd/0a1b.dcm')
    assert audit.verify(by=stocked.admin.actor).intact


def test_the_archive_is_read_back_and_described_without_the_key(stocked: Clinic) -> None:
    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)

    assert made.verified_at
    assert backup.check_stored(made.path, made.sha256)
    listed = backup.archives(stocked.data_dir / 'backups')
    assert [(info.name, info.kind, info.sha256, info.size) for info in listed] == [
        (made.path.name, 'full', made.sha256, made.path.stat().st_size)
    ]
    header = (made.path.parent / f'{made.path.name}.json').read_text()
    assert 'Backed' not in header and 'dicom/' not in header
    assert backup.verify(made.path, KEY).ok


def test_files_kept_encrypted_at_rest_are_archived_as_stored_and_counted(clinic: Clinic) -> None:
    at_rest = sealed.seal_bytes(b'DICM pixels', sealed.SecretKey(bytes(32)))
    (clinic.data_dir / 'dicom').mkdir()
    (clinic.data_dir / 'dicom' / 'sealed.dcm').write_bytes(at_rest)
    put_files(clinic.data_dir, 'dicom/plain.dcm')
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    wipe(clinic.data_dir)

    restored = backup.restore(made.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY)

    assert restored.at_rest_files == 1  # the restore says the at-rest key file is needed
    assert (clinic.data_dir / 'dicom' / 'sealed.dcm').read_bytes() == at_rest


def test_only_an_admin_makes_backups(clinic: Clinic) -> None:
    with pytest.raises(NotAllowed):
        backup.create(clinic.data_dir, by=clinic.technician.actor, recipient=KEY)


def test_a_backup_needs_a_passphrase_or_a_public_key(clinic: Clinic) -> None:
    with pytest.raises(InvalidInput, match='needs a passphrase'):
        backup.create(clinic.data_dir, by=clinic.admin.actor)


def test_a_file_that_is_not_a_backup_is_refused(clinic: Clinic) -> None:
    bogus = clinic.data_dir / 'bogus.tar'
    with tarfile.open(bogus, 'w'):
        pass
    with pytest.raises(InvalidInput, match='not a ClinicPACS backup'):
        backup.restore(bogus, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)


def test_the_manifest_carries_the_audit_checkpoint_the_backup_signed(clinic: Clinic) -> None:
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)

    inside = members(made.path)
    manifest = json.loads(inside['manifest.json'])
    ledger = inside[f'files/{audit_checkpoints.FILE_NAME}'].decode()
    dumped = [json.loads(line) for line in inside['database.jsonl'].splitlines()]
    signed = audit_checkpoints.parse(manifest['audit_checkpoint'], keys.key('audit'))
    assert signed is not None
    assert signed.event_id == max(entry['r']['id'] for entry in dumped if entry['t'] == 'audit_event')
    assert made.checkpoint == manifest['audit_checkpoint']
    assert ledger.splitlines()[-1] == manifest['audit_checkpoint']
    assert manifest['tables'] == made.tables


def test_restored_files_and_keys_are_private(stocked: Clinic) -> None:
    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)

    backup.restore(made.path, stocked.data_dir, by=stocked.admin.actor, identity=KEY, force=True)

    for name in ('keys/audit.key', 'keys/mfa.key', audit_checkpoints.FILE_NAME, 'dicom/ab/cd/0a1b.dcm'):
        assert oct(stat.S_IMODE((stocked.data_dir / name).stat().st_mode)) == '0o600', name
    assert oct(stat.S_IMODE((stocked.data_dir / 'keys').stat().st_mode)) == '0o700'
    assert not list((stocked.data_dir / 'backups-state').glob('restore-*'))  # the staging folder is gone


def test_a_drill_restores_into_a_scratch_folder_and_checks_rows_files_and_the_trail(
    stocked: Clinic, tmp_path: Path
) -> None:
    made = backup.create(stocked.data_dir, by=stocked.admin.actor, recipient=KEY)
    before = table_rows()

    drilled = backup.drill(made.path, KEY, tmp_path / 'scratch')

    assert drilled.ok, drilled.problems
    assert drilled.tables == made.tables
    assert drilled.files == made.files
    assert drilled.audit_events == made.tables['audit_event']
    assert list((tmp_path / 'scratch').iterdir()) == []
    assert table_rows() == before  # the running clinic is not touched


def test_an_archive_of_an_earlier_version_restores_with_its_trail_keyed_and_without_its_secret(
    database: Settings, tmp_path: Path
) -> None:
    _unkeyed_trail(4)  # as an earlier version recorded it, and archived it (a plain tar) with secret.key
    old_archive = tmp_path / 'clinicpacs-old.tar'
    with tarfile.open(old_archive, 'w') as archive, db.engine().connect() as connection:
        lines = [
            json.dumps({'t': table.name, 'r': row}, default=backup_snapshot.encode).encode() + b'\n'
            for table in backup_snapshot.tables()
            for row in backup_snapshot.rows(connection, table)
        ]
        for name, payload in (
            ('database.jsonl', b''.join(lines)),
            ('manifest.json', b'{"format": 1}'),
            ('files/secret.key', b'the old signing secret'),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))

    backup.restore(old_archive, database.data_dir, by=system('console'), identity=KEY, force=True)

    assert not (database.data_dir / 'secret.key').exists()
    report = audit.verify(by=system('console'))
    assert report.intact, report.problem
    assert report.checked == 5  # the four of the earlier version and the restore
    with db.reading() as session:
        first = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).first()
    assert first is not None
    assert first.hash != audit_chain.unkeyed_digest(first)


def test_bookings_and_studies_of_an_archive_from_before_short_ids_get_one_on_restore(
    clinic: Clinic, tmp_path: Path
) -> None:
    from tests.domain.reception_fixtures import at, booking, patient, procedure, room

    booked = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    with db.transaction() as session:
        session.add(Study(study_instance_uid='1.2.3', appointment_id=booked.id, patient_ref_id=booked.patient_id))
    old_archive = _archive_without('short_id', tmp_path / 'clinicpacs-before-0013.tar')

    backup.restore(old_archive, clinic.data_dir, by=system('console'), identity=KEY, force=True)

    with db.reading() as session:
        appointment_code = session.exec(select(Appointment.short_id)).one()
        study_code = session.exec(select(Study.short_id)).one()
    assert appointment_code and len(appointment_code) == 8
    assert study_code == appointment_code


def test_studies_read_before_the_reported_mark_stay_off_the_worklist_after_a_restore(
    clinic: Clinic, tmp_path: Path
) -> None:
    study = make_study()
    final_report(study, clinic.radiologist.actor)
    waiting = make_study()
    old_archive = _archive_without('reported', tmp_path / 'clinicpacs-before-0016.tar')

    backup.restore(old_archive, clinic.data_dir, by=system('console'), identity=KEY, force=True)

    assert [row.study_id for row in reading.worklist(by=clinic.radiologist.actor)] == [waiting.study_id]


def _archive_without(column: str, path: Path) -> Path:
    """An archive of the database as a version without this column (in any table) dumped it."""
    with tarfile.open(path, 'w') as archive, db.engine().connect() as connection:
        lines = [
            json.dumps({'t': table.name, 'r': {k: v for k, v in row.items() if k != column}}, default=encode)
            for table in backup_snapshot.tables()
            for row in backup_snapshot.rows(connection, table)
            for encode in (backup_snapshot.encode,)
        ]
        payload = ('\n'.join(lines) + '\n').encode()
        for name, data in (('database.jsonl', payload), ('manifest.json', b'{"format": 1}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _schema_on(url: str) -> tuple[str, Any]:
    import uuid

    schema = f't_{uuid.uuid4().hex[:12]}'
    admin = create_engine(url, isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA {schema}'))
    return schema, admin


class _other_engine:
    """The other database engine than the clinic's, empty, configured for this process while inside."""

    def __init__(self, fresh: Settings, backend: str) -> None:
        self.fresh, self.backend, self.schema, self.admin = fresh, backend, '', None

    def __enter__(self) -> Settings:
        self.fresh.data_dir.mkdir(parents=True)
        if self.backend == 'sqlite':  # the clinic is on SQLite: restore onto PostgreSQL
            self.schema, self.admin = _schema_on(PG_URL)
            configured = self.fresh.model_copy(update={'database_url': PG_URL})
            db.configure(configured, connect_args={'options': f'-csearch_path={self.schema}'})
        else:
            configured = self.fresh
            db.configure(configured)
        db.create_all()
        audit.forget_key()
        return configured

    def __exit__(self, *_: object) -> None:
        db.dispose()
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA {self.schema} CASCADE'))
            self.admin.dispose()
