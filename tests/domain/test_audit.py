import hashlib
import logging
import re
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from domain import audit, audit_chain, audit_checkpoints, auth, clock, db, keys, users
from domain.access import system
from domain.errors import NotAllowed
from domain.models import AuditEvent, UserCreate
from domain.settings import Settings
from tests.conftest import PASSWORD, Clinic, eventually


def _some_history(clinic: Clinic) -> None:
    auth.login('admin1', PASSWORD)
    users.create(
        UserCreate(username='nurse-anna', role='receptionist', password='a long password'), by=clinic.admin.actor
    )
    users.disable('nurse-anna', by=clinic.admin.actor)


def test_an_untouched_chain_verifies(clinic: Clinic) -> None:
    _some_history(clinic)
    report = audit.verify(by=clinic.admin.actor)
    assert report.intact
    assert report.checked >= 7  # four accounts, a login, a create, a disable


def test_a_changed_row_breaks_the_chain_at_that_row(clinic: Clinic) -> None:
    _some_history(clinic)
    with db.reading() as session:
        victim = session.exec(select(AuditEvent).where(AuditEvent.action == 'login')).one()
    with db.transaction() as session:
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == victim.id).values(username='someone-else'))
    assert audit.verify(by=clinic.admin.actor).first_broken_id == victim.id


def test_a_deleted_row_breaks_the_chain_after_it(clinic: Clinic) -> None:
    _some_history(clinic)
    with db.reading() as session:
        ids = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all()
    with db.transaction() as session:
        session.exec(delete(AuditEvent).where(col(AuditEvent.id) == ids[2]))
    assert audit.verify(by=clinic.admin.actor).first_broken_id == ids[3]


def test_logins_record_success_and_failure_with_the_address(clinic: Clinic) -> None:
    auth.login('admin1', PASSWORD, address='192.0.2.7')
    try:
        auth.login('admin1', 'wrong password', address='192.0.2.8')
    except Exception:
        pass
    page = audit.search(by=clinic.admin.actor, action='login')
    outcomes = {(row.outcome, row.address) for row in page.rows}
    assert ('success', '192.0.2.7') in outcomes
    assert ('failure', '192.0.2.8') in outcomes


def test_only_an_admin_may_read_the_audit_trail(clinic: Clinic) -> None:
    with pytest.raises(NotAllowed):
        audit.search(by=clinic.radiologist.actor)
    assert audit.search(by=clinic.admin.actor, action='denied').rows[0].username == 'radiologist1'


def test_only_an_admin_may_check_the_audit_chain(clinic: Clinic) -> None:
    for account in (clinic.radiologist, clinic.technician, clinic.receptionist):
        with pytest.raises(NotAllowed):
            audit.verify(by=account.actor)
    assert audit.search(by=clinic.admin.actor, action='denied:view-audit').total == 3
    assert audit.verify(by=clinic.admin.actor).intact


# ---------------------------------------------------------------- the keyed chain and its checkpoints


def _ledger(clinic: Clinic) -> str:
    path = clinic.data_dir / audit_checkpoints.FILE_NAME
    return path.read_text() if path.exists() else ''


def test_verify_signs_the_head_into_a_private_checkpoint_file_and_the_log(
    clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    _some_history(clinic)
    caplog.set_level(logging.INFO, logger='domain.audit_checkpoints')
    assert audit.verify(by=clinic.admin.actor).intact
    with db.reading() as session:
        head = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert head is not None
    last_line = _ledger(clinic).splitlines()[-1]
    assert last_line.startswith(f'audit checkpoint id={head.id} hash={head.hash} ')
    assert last_line in caplog.text
    assert oct(stat.S_IMODE((clinic.data_dir / audit_checkpoints.FILE_NAME).stat().st_mode)) == '0o600'


def test_a_checkpoint_line_that_is_not_validly_signed_is_reported(clinic: Clinic) -> None:
    _some_history(clinic)
    assert audit.verify(by=clinic.admin.actor).intact
    path = clinic.data_dir / audit_checkpoints.FILE_NAME
    lines = path.read_text().splitlines()
    forged = re.sub(r'count=\d+', 'count=2', lines[-1])
    path.write_text('\n'.join([*lines, forged]) + '\n')

    report = audit.verify(by=clinic.admin.actor)

    assert not report.intact
    assert report.problem is not None
    assert report.problem.params == {'line': len(lines) + 1}


def test_a_trail_that_no_longer_extends_its_checkpoint_is_not_checkpointed_again(clinic: Clinic) -> None:
    _some_history(clinic)
    assert audit.verify(by=clinic.admin.actor).intact
    with db.reading() as session:
        newest = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    with db.transaction() as session:
        session.exec(delete(AuditEvent).where(col(AuditEvent.id) == newest))
    before = _ledger(clinic)

    assert audit.checkpoint() is None
    assert not audit.verify(by=clinic.admin.actor).intact
    assert _ledger(clinic) == before


def test_a_trail_emptied_after_its_checkpoint_is_not_checkpointed_again(
    clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    assert audit.verify(by=clinic.admin.actor).intact
    with db.transaction() as session:
        session.exec(delete(AuditEvent))
    before = _ledger(clinic)

    assert audit.checkpoint() is None
    assert 'audit trail not checkpointed' in caplog.text
    assert _ledger(clinic) == before
    assert not audit.verify(by=clinic.admin.actor).intact


@pytest.fixture
def quick_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, 'CHECKPOINT_AFTER_S', 0.05)


async def test_new_events_are_checkpointed_soon_without_anyone_verifying(
    quick_checkpoints: None, clinic: Clinic
) -> None:
    _some_history(clinic)
    with db.reading() as session:
        newest = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()

    await eventually(lambda: f'audit checkpoint id={newest} ' in _ledger(clinic), 'a checkpoint of the newest event')
    with db.transaction() as session:
        session.exec(delete(AuditEvent).where(col(AuditEvent.id) == newest))

    assert audit.verify(by=clinic.admin.actor).first_broken_id == newest


def test_events_recorded_and_checkpointed_at_once_keep_one_chain(clinic: Clinic) -> None:
    def record(n: int) -> None:
        for i in range(8):
            audit.record_alone(system(f'writer-{n}'), 'test.event', object_type='test', object_id=i)

    def sign() -> None:
        for _ in range(8):
            audit.checkpoint()

    with ThreadPoolExecutor(max_workers=6) as pool:
        for future in [*(pool.submit(record, n) for n in range(4)), *(pool.submit(sign) for _ in range(2))]:
            future.result()

    report = audit.verify(by=clinic.admin.actor)
    assert report.intact, report.problem
    assert report.checked >= 32


# ---------------------------------------------------------------- trails of earlier versions (unkeyed SHA-256)


def _unkeyed_trail(count: int) -> list[int]:
    """Rows as an earlier version chained them (plain SHA-256), written straight into the table."""
    previous, ids = audit_chain.GENESIS, []
    with db.transaction() as session:
        for n in range(count):
            event = AuditEvent(
                at=clock.now(),
                username=f'user{n}',
                role='admin',
                action='user.create',
                object_type='user',
                object_id=str(n),
                address='127.0.0.1',
                detail={'n': n},
                prev_hash=previous,
                hash='',
            )
            event.hash = hashlib.sha256(audit_chain.payload(event)).hexdigest()
            session.add(event)
            session.flush()
            previous = event.hash
            ids.append(event.id or 0)
    return ids


def _hashes() -> dict[int, str]:
    with db.reading() as session:
        return {row.id or 0: row.hash for row in session.exec(select(AuditEvent))}


def test_an_intact_unkeyed_trail_is_chained_with_the_key_on_first_use(
    database: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _unkeyed_trail(5)
    unkeyed = _hashes()
    assert not (keys.key_dir() / 'audit.key').exists()
    caplog.set_level(logging.INFO, logger='domain.audit')

    audit.record_alone(system('start-up'), 'test.first-keyed-event')

    keyed = _hashes()
    assert all(keyed[i] != unkeyed[i] for i in ids)
    assert f'events {ids[0]} to {ids[-1]}' in caplog.text
    assert 'user0' not in caplog.text
    assert oct(stat.S_IMODE((keys.key_dir() / 'audit.key').stat().st_mode)) == '0o600'
    report = audit.verify(by=system('console'))
    assert report.intact, report.problem
    assert report.checked == 6


def test_a_broken_unkeyed_trail_is_left_as_it_is_and_verify_names_the_broken_event(database: Settings) -> None:
    ids = _unkeyed_trail(5)
    with db.transaction() as session:
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == ids[2]).values(role='receptionist'))
    unkeyed = _hashes()

    audit.record_alone(system('start-up'), 'test.first-keyed-event')

    assert all(_hashes()[i] == unkeyed[i] for i in ids)
    report = audit.verify(by=system('console'))
    assert report.first_broken_id == ids[2]
    assert report.problem is not None
    assert not audit_checkpoints.started()


def test_an_unkeyed_trail_is_not_accepted_once_the_keyed_chain_was_checkpointed(clinic: Clinic) -> None:
    _some_history(clinic)
    assert audit.verify(by=clinic.admin.actor).intact
    with db.reading() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    with db.transaction() as session:  # someone chains the whole trail again with the unkeyed digest
        previous = audit_chain.GENESIS
        for row in rows:
            row.prev_hash = previous
            row.hash = hashlib.sha256(audit_chain.payload(row)).hexdigest()
            session.exec(
                update(AuditEvent).where(col(AuditEvent.id) == row.id).values(prev_hash=row.prev_hash, hash=row.hash)
            )
            previous = row.hash
    audit.forget_key()  # as a process started afterwards would

    audit.record_alone(system('start-up'), 'test.after-the-rewrite')

    assert audit.verify(by=clinic.admin.actor).first_broken_id == rows[0].id


def test_the_newest_checkpoint_is_read_from_the_end_of_a_long_file(database: Settings) -> None:
    key = keys.key('audit')
    lines = [
        audit_checkpoints.Checkpoint(n, f'{n:064x}', n, '2026-12-01T08:00:00+00:00').line(key) for n in range(1, 401)
    ]
    audit_checkpoints.path().write_text('\n'.join([*lines, 'audit checkpoint id=999 forged']) + '\n')

    newest = audit_checkpoints.newest(key)
    ledger = audit_checkpoints.read(key)

    assert newest is not None
    assert newest.event_id == 400
    assert ledger.newest == newest
    assert ledger.bad_lines == [401]
    with audit_checkpoints.path().open('a') as handle:  # more forged lines than the end that is read first
        handle.write(''.join(f'audit checkpoint id={n} {"x" * 100}\n' for n in range(200)))
    assert audit_checkpoints.newest(key) == newest
