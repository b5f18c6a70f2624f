"""Scheduled backups end to end: runs started by the schedule go through the in-process worker into a folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

import jobs.actors  # noqa: F401 - declares run_backup and run_drill
from domain import backup, backup_runs, backup_schedule, sealed, trash
from domain.access import system
from domain.backup_runs import RunRow
from domain.backup_schedule import PolicyForm
from jobs import scheduler
from tests.conftest import Clinic, job_worker, wait_until

SCHEDULER = system('scheduler')


@pytest.fixture
def usb(clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A backup folder outside the data directory, passphrase mode, and the in-process worker running."""
    monkeypatch.setattr(sealed, 'SCRYPT_LOG_N', 10)  # scrypt at its cheapest: the suite is not a key store
    (clinic.data_dir / 'dicom').mkdir()
    (clinic.data_dir / 'dicom' / 'image.dcm').write_bytes(b'DICM' * 100)
    backup_schedule.configure(clinic.data_dir, SecretStr('correct horse battery'))
    folder = tmp_path / 'usb'
    folder.mkdir()
    backup_schedule.save_policy(PolicyForm(target=str(folder)), by=clinic.admin.actor)
    with job_worker():
        yield folder
    backup_schedule.configure(clinic.data_dir, None)


def _finished(clinic: Clinic, run_id: int) -> RunRow:
    def look() -> RunRow | None:
        row = next(row for row in backup_runs.listing(by=clinic.admin.actor) if row.id == run_id)
        return row if row.state in ('done', 'failed') else None

    return wait_until(look, f'backup run {run_id} to finish')


def test_a_due_backup_runs_through_the_worker_into_the_folder(clinic: Clinic, usb: Path) -> None:
    [run_id] = backup_runs.start_due(by=SCHEDULER)
    row = _finished(clinic, run_id)
    assert (row.state, row.kind, row.error) == ('done', 'full', None)
    [archive] = backup.archives(usb)
    assert (archive.name, archive.kind) == (row.archive, 'full')
    assert row.verified_at is not None and row.size_bytes == archive.size > 0 and row.files >= 1
    assert backup_runs.recorded_sha256([row.archive]) == {row.archive: archive.sha256}
    assert backup_runs.status().state == 'ok'
    assert backup_runs.start_due(by=SCHEDULER) == []  # the full is done; an incremental waits for its hour


def test_after_a_backup_only_the_newest_full_chains_are_kept(clinic: Clinic, usb: Path) -> None:
    backup_schedule.save_policy(PolicyForm(target=str(usb), keep_full=1), by=clinic.admin.actor)
    first = _finished(clinic, backup_runs.start_now('full', by=clinic.admin.actor))
    second = _finished(clinic, backup_runs.start_now('full', by=clinic.admin.actor))
    assert [info.name for info in backup.archives(usb)] == [second.archive]
    assert not (usb / first.archive).exists()


def test_the_weekly_drill_restores_the_newest_chain_with_the_passphrase(clinic: Clinic, usb: Path) -> None:
    _finished(clinic, backup_runs.start_now('full', by=clinic.admin.actor))
    _finished(clinic, backup_runs.start_now('incremental', by=clinic.admin.actor))
    drill = _finished(clinic, backup_runs.start_now('drill', by=clinic.admin.actor))
    assert (drill.kind, drill.state, drill.error) == ('drill', 'done', None)
    assert drill.outcome.startswith('2 archives up to ')
    assert backup_runs.last_drill(by=clinic.admin.actor) == drill
    assert not list((clinic.data_dir / 'tmp').glob('drill-*'))  # the scratch directory is gone


def test_with_a_public_key_only_the_weekly_job_checks_the_stored_archives(clinic: Clinic, usb: Path) -> None:
    private = backup_schedule.create_keypair(by=clinic.admin.actor)
    backup_schedule.configure(clinic.data_dir, None)  # the server holds no passphrase: it cannot open its backups
    full = _finished(clinic, backup_runs.start_now('full', by=clinic.admin.actor))
    check = _finished(clinic, backup_runs.start_now('drill', by=clinic.admin.actor))
    assert (check.kind, check.state) == ('check', 'done')
    assert 'A full restore drill needs the private key' in check.outcome
    assert backup.verify(usb / full.archive, sealed.PrivateKey(private)).ok


def test_a_changed_archive_fails_the_check_visibly(clinic: Clinic, usb: Path) -> None:
    backup_schedule.create_keypair(by=clinic.admin.actor)
    full = _finished(clinic, backup_runs.start_now('full', by=clinic.admin.actor))
    with (usb / full.archive).open('r+b') as archive:
        archive.seek(-10, 2)
        archive.write(b'0123456789')
    check = _finished(clinic, backup_runs.start_now('drill', by=clinic.admin.actor))
    assert check.state == 'failed'
    assert f'{full.archive} differs from what was written' in (check.error or '')
    assert backup_runs.status().state == 'red'


def test_a_backup_into_an_unplugged_disk_fails_at_once_and_is_retried_by_hand(clinic: Clinic, usb: Path) -> None:
    usb.rmdir()
    run_id = backup_runs.start_now('full', by=clinic.admin.actor)
    failed = _finished(clinic, run_id)
    assert failed.state == 'failed'
    assert 'does not exist: is the disk mounted?' in (failed.error or '')
    assert not usb.exists()  # nothing was written anywhere else instead
    shown = backup_runs.status()
    assert (shown.state, shown.reason and shown.reason.msgid) == ('red', 'The last backup failed: {error}')
    usb.mkdir()
    backup_runs.retry(run_id, by=clinic.admin.actor)
    assert _finished(clinic, run_id).state == 'done'
    assert backup_runs.status().state == 'ok'


def test_the_scheduler_thread_starts_the_due_backup_and_stops(clinic: Clinic, usb: Path) -> None:
    running = scheduler.Scheduler(interval=3600)  # one tick at start; the test does not wait for a second
    running.start()
    try:
        run_id = wait_until(lambda: next(iter(backup_runs.listing(by=clinic.admin.actor)), None), 'a run').id
    finally:
        running.stop()
    assert running._thread is None
    assert _finished(clinic, run_id).state == 'done'


def test_the_scheduler_purges_the_trash_once_an_hour(monkeypatch: pytest.MonkeyPatch, clinic: Clinic) -> None:
    calls: list[str] = []
    monkeypatch.setattr(trash, 'purge_expired', lambda *, by: calls.append(by.username) or 0)
    ticking = scheduler.Scheduler()
    ticking.tick()
    ticking.tick()
    assert calls == ['scheduler']
    ticking._purged_at = (ticking._purged_at or 0) - scheduler.PURGE_EVERY_S
    ticking.tick()
    assert calls == ['scheduler', 'scheduler']


def test_only_a_process_that_runs_jobs_starts_the_scheduler(clinic: Clinic) -> None:
    import main
    from jobs import broker

    main._start_jobs(clinic.settings, run_workers=False)  # a web process in the scaled mode
    assert scheduler._running == []
    main._start_jobs(clinic.settings, run_workers=True)  # the embedded serve, or `main.py worker`
    try:
        assert len(scheduler._running) == 1
    finally:
        scheduler.stop()
        broker.stop_workers()
    assert scheduler._running == []
