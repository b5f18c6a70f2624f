"""The backup schedule: what is due and how fresh the last verified backup is (pure), and the runs it starts."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import select

from domain import audit, backup_runs, backup_schedule, db, options, sealed, work
from domain.access import system
from domain.backup_schedule import Due, Policy, PolicyForm, RunView
from domain.errors import Conflict, InvalidInput
from domain.models import AuditEvent, BackupRun, Setting
from tests.conftest import Clinic

TARGET = '/mnt/backup'
KEYED = Policy(target=TARGET, public_key='clinicpacs-pub-x')
PASSPHRASE = Policy(target=TARGET, has_passphrase=True)
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)  # 2026-11-30 is a Monday


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


def run(
    kind: str,
    created: datetime,
    state: str = 'done',
    *,
    slot: str | None = None,
    target: str = TARGET,
    verified: datetime | None = None,
    error: str | None = None,
) -> RunView:
    if verified is None and state == 'done' and kind in ('full', 'incremental'):
        verified = created + timedelta(minutes=5)
    return RunView(kind, state, created, slot, target, verified, error)


def due(policy: Policy, runs: list[RunView], now: datetime) -> list[Due]:
    return backup_schedule.due(policy, runs, now, tz=UTC)


# ---------------------------------------------------------------- due


def test_nothing_is_due_without_a_folder_or_a_recipient() -> None:
    now = at(MONDAY, 14)
    assert due(Policy(target='', public_key='clinicpacs-pub-x'), [], now) == []
    assert due(Policy(target=TARGET), [], now) == []


def test_a_first_full_is_due_at_once_whatever_the_hour() -> None:
    assert due(KEYED, [], at(MONDAY, 14)) == [Due('full', 'full:2026-11-30')]
    assert due(KEYED, [], at(MONDAY, 0, 30)) == [Due('full', 'full:2026-11-30')]


def test_an_incremental_is_due_once_the_last_backup_is_n_hours_old() -> None:
    runs = [run('full', at(MONDAY, 2), slot='full:2026-11-30')]
    assert due(KEYED, runs, at(MONDAY, 2, 40)) == []
    assert due(KEYED, runs, at(MONDAY, 3, 0)) == [Due('incremental', 'incr:2026-11-30T03')]
    every_six = Policy(target=TARGET, public_key='k', incremental_hours=6)
    assert due(every_six, runs, at(MONDAY, 5)) == []
    assert due(every_six, runs, at(MONDAY, 8)) == [Due('incremental', 'incr:2026-11-30T08')]


def test_an_hour_slot_already_taken_is_not_started_again() -> None:
    runs = [
        run('incremental', at(MONDAY, 3), 'failed', slot='incr:2026-11-30T03'),
        run('full', at(MONDAY, 2), slot='full:2026-11-30'),
    ]
    assert due(KEYED, runs, at(MONDAY, 3, 30)) == []
    assert due(KEYED, runs, at(MONDAY, 4, 0)) == [Due('incremental', 'incr:2026-11-30T04')]


def test_the_nightly_full_comes_at_its_hour_once_a_day() -> None:
    runs = [run('incremental', at(MONDAY, 23)), run('full', at(MONDAY, 2), slot='full:2026-11-30')]
    tuesday = MONDAY + timedelta(days=1)
    assert due(KEYED, runs, at(tuesday, 1, 30)) == [Due('incremental', 'incr:2026-12-01T01')]
    assert due(KEYED, runs, at(tuesday, 2, 0)) == [Due('full', 'full:2026-12-01')]
    done = [run('full', at(tuesday, 2), slot='full:2026-12-01'), *runs]
    assert due(KEYED, done, at(tuesday, 2, 30)) == []


def test_a_full_made_by_hand_after_the_nightly_hour_stands_for_that_night() -> None:
    runs = [run('full', at(MONDAY, 14)), run('full', at(MONDAY - timedelta(days=1), 2), slot='full:2026-11-29')]
    assert due(KEYED, runs, at(MONDAY, 14, 30)) == []
    assert due(KEYED, runs, at(MONDAY, 15)) == [Due('incremental', 'incr:2026-11-30T15')]
    before = [run('full', at(MONDAY, 1)), *runs[1:]]  # by hand before the nightly hour: the nightly still runs
    assert due(KEYED, before, at(MONDAY, 2)) == [Due('full', 'full:2026-11-30')]


def test_nothing_new_starts_while_a_run_waits_or_runs() -> None:
    runs = [run('full', at(MONDAY, 2), 'running', slot='full:2026-11-30')]
    assert due(KEYED, runs, at(MONDAY, 9)) == []
    queued = [run('check', at(MONDAY, 8), 'queued'), run('full', at(MONDAY, 2))]
    assert due(KEYED, queued, at(MONDAY, 9)) == []


def test_a_new_folder_gets_a_full_first() -> None:
    runs = [run('full', at(MONDAY, 2), target='/mnt/old-disk', slot='full:2026-11-30')]
    # today's full slot is spent: an incremental now, which the engine makes a full in a folder without one
    assert due(KEYED, runs, at(MONDAY, 10)) == [Due('incremental', 'incr:2026-11-30T10')]
    assert due(KEYED, runs, at(MONDAY + timedelta(days=1), 0, 10)) == [Due('full', 'full:2026-12-01')]


def test_the_weekly_drill_is_a_drill_with_a_passphrase_and_a_stored_check_with_a_public_key() -> None:
    sunday = MONDAY + timedelta(days=6)
    runs = [run('full', at(sunday, 2), slot='full:2026-12-06')]
    assert due(PASSPHRASE, runs, at(sunday, 2, 30)) == [Due('drill', 'drill:2026-W49')]
    assert due(KEYED, runs, at(sunday, 2, 30)) == [Due('check', 'drill:2026-W49')]
    saturday = sunday - timedelta(days=1)
    assert due(KEYED, [run('full', at(saturday, 2), slot='full:2026-12-05')], at(saturday, 2, 30)) == []
    drilled = [run('check', at(sunday, 2, 30), slot='drill:2026-W49'), *runs]
    assert due(KEYED, drilled, at(sunday, 2, 50)) == []


# ---------------------------------------------------------------- state


def test_the_state_is_off_and_says_why_without_a_recipient() -> None:
    shown = backup_schedule.state(Policy(target=TARGET), [], at(MONDAY, 9))
    assert shown.state == 'off'
    assert 'never written unencrypted' in str(shown.reason)


def test_the_state_follows_the_age_of_the_last_verified_backup() -> None:
    runs = [run('full', at(MONDAY, 2), verified=at(MONDAY, 2, 10))]
    ok = backup_schedule.state(KEYED, runs, at(MONDAY, 3))
    assert (ok.state, ok.age_seconds, ok.last_verified_at) == ('ok', 50 * 60, at(MONDAY, 2, 10))
    assert backup_schedule.state(KEYED, runs, at(MONDAY, 4)).state == 'amber'  # 1 h 50 min > 1.5 h
    red = backup_schedule.state(KEYED, runs, at(MONDAY, 5, 20))
    assert (red.state, str(red.reason)) == ('red', 'The last verified backup is 3.2 h old')


def test_a_failed_backup_or_drill_turns_it_red_at_once() -> None:
    good = run('full', at(MONDAY, 2))
    failed = run('incremental', at(MONDAY, 3), 'failed', error='OSError: disk full')
    shown = backup_schedule.state(KEYED, [failed, good], at(MONDAY, 3, 10))
    assert (shown.state, str(shown.reason)) == ('red', 'The last backup failed: OSError: disk full')
    drill = run('check', at(MONDAY, 3), 'failed', error='DrillFailed: x')
    assert backup_schedule.state(KEYED, [drill, good], at(MONDAY, 3, 10)).state == 'red'
    retrying = run('incremental', at(MONDAY, 3), 'queued', error='OSError: busy')
    assert backup_schedule.state(KEYED, [retrying, good], at(MONDAY, 2, 30)).state == 'ok'


def test_no_verified_backup_yet_is_red() -> None:
    shown = backup_schedule.state(KEYED, [], at(MONDAY, 9))
    assert (shown.state, shown.age_seconds, str(shown.reason)) == ('red', None, 'No verified backup yet')


# ---------------------------------------------------------------- policy and runs in the database


@pytest.fixture
def folder(clinic: Clinic, tmp_path: Path) -> Path:
    backup_schedule.configure(clinic.data_dir, None)
    target = tmp_path / 'usb'
    target.mkdir()
    return target


def test_the_data_directory_is_refused_as_the_backup_folder(clinic: Clinic, folder: Path) -> None:
    inside = clinic.data_dir / 'backups'
    inside.mkdir()
    for refused in (clinic.data_dir, inside):
        with pytest.raises(InvalidInput, match='outside the data directory') as caught:
            backup_schedule.save_policy(PolicyForm(target=str(refused)), by=clinic.admin.actor)
        assert 'target' in caught.value.fields
    with pytest.raises(InvalidInput, match='does not exist'):
        backup_schedule.save_policy(PolicyForm(target=str(folder / 'unplugged')), by=clinic.admin.actor)
    assert options.get('backup_target') == ''


def test_a_policy_with_one_bad_value_stores_nothing(clinic: Clinic, folder: Path) -> None:
    form = PolicyForm(target=str(folder), incremental_hours=0, keep_full=3)
    with pytest.raises(InvalidInput) as caught:
        backup_schedule.save_policy(form, by=clinic.admin.actor)
    assert set(caught.value.fields) == {'incremental_hours'}
    assert (options.get('backup_target'), options.get('backup_keep_full')) == ('', 7)


def test_a_saved_policy_is_audited_change_by_change(clinic: Clinic, folder: Path) -> None:
    form = PolicyForm(target=str(folder), incremental_hours=2.0, full_hour=3, keep_full=5, drill_weekday=6)
    saved = backup_schedule.save_policy(form, by=clinic.admin.actor)
    assert (saved.target, saved.incremental_hours, saved.full_hour, saved.keep_full) == (str(folder), 2, 3, 5)
    with db.reading() as session:
        changed = session.exec(select(AuditEvent.object_id).where(AuditEvent.action == 'setting.change')).all()
    assert sorted(changed) == ['backup_full_hour', 'backup_incremental_hours', 'backup_keep_full', 'backup_target']


def test_a_non_admin_may_not_change_the_policy(clinic: Clinic, folder: Path) -> None:
    from domain.errors import NotAllowed

    with pytest.raises(NotAllowed):
        backup_schedule.save_policy(PolicyForm(target=str(folder)), by=clinic.technician.actor)
    with pytest.raises(NotAllowed):
        backup_schedule.create_keypair(by=clinic.radiologist.actor)


def test_a_new_key_pair_keeps_only_the_public_half(clinic: Clinic, folder: Path) -> None:
    private = backup_schedule.create_keypair(by=clinic.admin.actor)
    public = options.get('backup_public_key')
    assert sealed.PrivateKey(private).public.text == public
    assert sealed.open_bytes(sealed.seal_bytes(b'chain', sealed.PublicKey(public)), sealed.PrivateKey(private)) == (
        b'chain'
    )
    with db.reading() as session:
        stored = [str(row.value) for row in session.exec(select(Setting)).all()]
        details = [str(event.detail) for event in session.exec(select(AuditEvent)).all()]
    assert not any(private in text for text in stored + details)
    assert backup_schedule.policy().recipient_kind == 'public-key'


def test_a_pasted_key_that_is_not_a_public_key_is_refused(clinic: Clinic, folder: Path) -> None:
    _public, private = sealed.generate_keypair()
    with pytest.raises(InvalidInput, match='not a ClinicPACS public key') as caught:
        backup_schedule.save_policy(PolicyForm(target=str(folder), public_key=private), by=clinic.admin.actor)
    assert set(caught.value.fields) == {'public_key'}


def test_the_passphrase_comes_from_the_environment_only(clinic: Clinic, folder: Path) -> None:
    backup_schedule.configure(clinic.data_dir, SecretStr('correct horse'))
    assert backup_schedule.policy().recipient_kind == 'passphrase'
    backup_schedule.configure(clinic.data_dir, None)
    assert backup_schedule.policy().recipient_kind == ''


def _policy(clinic: Clinic, folder: Path) -> None:
    backup_schedule.save_policy(
        PolicyForm(target=str(folder), public_key=sealed.generate_keypair()[0]), by=clinic.admin.actor
    )


def test_a_due_slot_starts_one_run_with_its_job(clinic: Clinic, folder: Path) -> None:
    _policy(clinic, folder)
    scheduler = system('scheduler')
    started = backup_runs.start_due(by=scheduler)
    assert len(started) == 1
    assert backup_runs.start_due(by=scheduler) == []  # it waits: nothing new while a run is queued
    [row] = backup_runs.listing(by=clinic.admin.actor)
    assert (row.id, row.kind, row.state, row.triggered_by) == (started[0], 'full', 'queued', 'scheduler')
    assert [(job.kind, job.object_id) for job in work.unfinished()] == [('run_backup', started[0])]


def test_two_processes_asking_at_once_start_a_slot_only_once(
    clinic: Clinic, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _policy(clinic, folder)
    scheduler = system('scheduler')
    assert len(backup_runs.start_due(by=scheduler)) == 1
    monkeypatch.setattr(backup_runs, '_views', lambda limit=0: [])  # the other process read before this one committed
    assert backup_runs.start_due(by=scheduler) == []
    with db.reading() as session:
        assert len(session.exec(select(BackupRun)).all()) == 1
    assert len(work.unfinished()) == 1


def test_back_up_now_is_refused_without_a_recipient_and_while_a_run_waits(clinic: Clinic, folder: Path) -> None:
    backup_schedule.save_policy(PolicyForm(target=str(folder)), by=clinic.admin.actor)
    with pytest.raises(InvalidInput, match='never written unencrypted'):
        backup_runs.start_now('full', by=clinic.admin.actor)
    _policy(clinic, folder)
    backup_runs.start_now('incremental', by=clinic.admin.actor)
    with pytest.raises(Conflict):
        backup_runs.start_now('full', by=clinic.admin.actor)
    with db.reading() as session:
        started = session.exec(select(AuditEvent).where(AuditEvent.action == 'backup.start')).all()
    assert [event.detail['kind'] for event in started] == ['incremental']


def test_drill_now_with_only_a_public_key_is_a_stored_check(clinic: Clinic, folder: Path) -> None:
    _policy(clinic, folder)
    run_id = backup_runs.start_now('drill', by=clinic.admin.actor)
    assert [(row.id, row.kind) for row in backup_runs.listing(by=clinic.admin.actor)] == [(run_id, 'check')]


def test_the_audit_trail_still_verifies_after_runs_start(clinic: Clinic, folder: Path) -> None:
    _policy(clinic, folder)
    backup_runs.start_due(by=system('scheduler'))
    assert audit.verify(by=clinic.admin.actor).intact
