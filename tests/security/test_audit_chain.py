"""Attack 10: someone who can write to the database rewrites the audit trail and hides it.

The attacker knows the code, so the unkeyed SHA-256 the chain used to be built with is theirs too: they edit a row
and recompute every hash after it, or cut the newest rows off. Both must show up in `audit verify`, in the
service and on the console.
"""

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from domain import audit, auth, db, users
from domain.models import AuditEvent, UserCreate
from tests.conftest import PASSWORD, Clinic, run_main

GENESIS = '0' * 64


def _some_history(clinic: Clinic) -> None:
    auth.login('admin1', PASSWORD)
    users.create(
        UserCreate(username='nurse-anna', role='receptionist', password='a long password'), by=clinic.admin.actor
    )
    users.disable('nurse-anna', by=clinic.admin.actor)


def _unkeyed(row: dict) -> str:
    """The chain's hash as anyone reading the code could compute it (SHA-256 over the fields and the link)."""
    at = row['at'] if isinstance(row['at'], str) else row['at'].isoformat(timespec='microseconds')
    detail = json.loads(row['detail']) if isinstance(row['detail'], str) else row['detail']
    payload = [
        row['prev_hash'],
        at,
        row['user_id'],
        row['username'],
        row['role'],
        row['action'],
        row['object_type'],
        row['object_id'],
        row['outcome'],
        row['address'],
        detail,
    ]
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(',', ':'), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _rechain_in_service(from_id: int) -> None:
    with db.transaction() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        previous = GENESIS
        for row in rows:
            if (row.id or 0) >= from_id:
                fields = row.model_dump()
                fields['prev_hash'] = previous
                fields['at'] = row.at
                new_hash = _unkeyed(fields)
                session.exec(
                    update(AuditEvent).where(col(AuditEvent.id) == row.id).values(prev_hash=previous, hash=new_hash)
                )
                previous = new_hash
            else:
                previous = row.hash


def test_an_edited_row_with_the_chain_recomputed_is_found(clinic: Clinic) -> None:
    _some_history(clinic)
    with db.reading() as session:
        victim = session.exec(select(AuditEvent).where(AuditEvent.action == 'user.update')).one()
    with db.transaction() as session:
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == victim.id).values(username='someone-else'))
    _rechain_in_service(victim.id or 0)

    report = audit.verify(by=clinic.admin.actor)

    assert not report.intact
    assert report.first_broken_id == victim.id


def test_the_newest_rows_cut_off_after_a_verify_are_found(clinic: Clinic) -> None:
    _some_history(clinic)
    assert audit.verify(by=clinic.admin.actor).intact
    with db.reading() as session:
        ids = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all()
    with db.transaction() as session:
        session.exec(delete(AuditEvent).where(col(AuditEvent.id) >= ids[-2]))

    report = audit.verify(by=clinic.admin.actor)

    assert not report.intact
    assert report.problem is not None
    assert str(ids[-1]) in str(report.problem)


def test_the_newest_rows_cut_off_after_a_backup_are_found(clinic: Clinic) -> None:
    from domain import backup, sealed

    _some_history(clinic)
    with db.reading() as session:
        newest = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    public, _private = sealed.generate_keypair()
    backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=sealed.PublicKey(public))
    with db.transaction() as session:
        session.exec(delete(AuditEvent).where(col(AuditEvent.id) >= newest))

    assert not audit.verify(by=clinic.admin.actor).intact


# ---------------------------------------------------------------- the same, on the console


@pytest.fixture
def console(tmp_path: Path) -> Path:
    data_dir = tmp_path / 'data'
    for name in ('olga', 'ivan', 'maria'):
        added = run_main(data_dir, 'user', 'add', name, '--role', 'radiologist', '--password', f'{name} password 12')
        assert added.returncode == 0, added.stderr
    intact = run_main(data_dir, 'audit', 'verify')
    assert intact.returncode == 0, intact.stdout + intact.stderr
    return data_dir


def test_the_console_finds_an_edited_row_with_the_chain_recomputed(console: Path) -> None:
    with sqlite3.connect(console / 'clinicpacs.sqlite3') as connection:
        connection.row_factory = sqlite3.Row
        connection.execute("UPDATE audit_event SET role = 'admin' WHERE id = 2")
        previous = GENESIS
        for row in connection.execute('SELECT * FROM audit_event ORDER BY id').fetchall():
            fields = dict(row)
            if fields['id'] >= 2:
                fields['prev_hash'] = previous
                fields['at'] = _stored_time(fields['at'])
                new_hash = _unkeyed(fields)
                connection.execute(
                    'UPDATE audit_event SET prev_hash = ?, hash = ? WHERE id = ?', (previous, new_hash, fields['id'])
                )
                previous = new_hash
            else:
                previous = fields['hash']

    result = run_main(console, 'audit', 'verify')

    assert result.returncode == 1, result.stdout + result.stderr
    assert 'broken at event 2' in result.stdout


def test_the_console_finds_the_newest_rows_cut_off(console: Path) -> None:
    with sqlite3.connect(console / 'clinicpacs.sqlite3') as connection:
        newest = connection.execute('SELECT MAX(id) FROM audit_event').fetchone()[0]
        connection.execute('DELETE FROM audit_event WHERE id = ?', (newest,))

    result = run_main(console, 'audit', 'verify')

    assert result.returncode == 1, result.stdout + result.stderr
    assert f'event {newest}' in result.stdout


def _stored_time(value: str) -> str:
    """SQLite keeps '2026-12-01 17:00:00.123456'; the chain hashes the ISO form of the aware UTC time."""
    from datetime import UTC, datetime

    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat(timespec='microseconds')
