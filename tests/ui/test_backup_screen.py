"""The Backups screen as an administrator uses it, and the backup card on the admin home."""

from pathlib import Path

import pytest
from nicegui.testing import User

from domain import backup_runs, backup_schedule, options, sealed, work
from domain.backup_schedule import PolicyForm
from tests.conftest import Clinic, sign_in


@pytest.fixture
def usb(clinic: Clinic, tmp_path: Path) -> Path:
    backup_schedule.configure(clinic.data_dir, None)
    folder = tmp_path / 'usb'
    folder.mkdir()
    return folder


def _value(user: User, marker: str) -> object:
    return next(iter(user.find(marker=marker).elements)).value  # type: ignore[attr-defined]


async def test_a_technician_may_not_open_the_backups_screen(technician: User) -> None:
    await technician.open('/admin/backups')
    await technician.should_see(marker='not-allowed')
    await technician.should_not_see(marker='backup-target')


async def test_the_admin_home_shows_backups_off_and_says_why(admin: User) -> None:
    await admin.open('/')
    await admin.should_see(marker='backup-state-off')
    await admin.should_see('No backup folder is chosen')


async def test_other_roles_see_no_backup_card_at_home(screens: User, clinic: Clinic) -> None:
    await sign_in(screens, clinic.receptionist)
    await screens.open('/')
    await screens.should_see(marker='welcome')
    await screens.should_not_see(marker='backup-state-off')


async def test_the_data_directory_is_refused_and_what_was_typed_stays(admin: User, clinic: Clinic, usb: Path) -> None:
    await admin.open('/admin/backups')
    await admin.should_see(marker='backup-target')
    admin.find(marker='backup-target').type(str(clinic.data_dir))
    admin.find(marker='backup-keep-full').clear().type('3')
    admin.find(marker='save-backup-policy').click()
    await admin.should_see(marker='backup-policy-problem')
    await admin.should_see('Backups must go outside the data directory')
    assert _value(admin, 'backup-target') == str(clinic.data_dir)
    assert _value(admin, 'backup-keep-full') == 3
    assert (options.get('backup_target'), options.get('backup_keep_full')) == ('', 7)


async def test_a_folder_is_checked_and_the_policy_saved(admin: User, usb: Path) -> None:
    await admin.open('/admin/backups')
    await admin.should_see(marker='backup-target')
    admin.find(marker='backup-target').type(str(usb))
    await admin.should_see('Folder ready: writable')
    admin.find(marker='backup-incremental-hours').clear().type('4')
    admin.find(marker='save-backup-policy').click()
    await admin.should_see('Saved')
    current = backup_schedule.policy()
    assert (current.target, current.incremental_hours) == (str(usb), 4)
    await admin.should_see('Backups are never written unencrypted')  # the state: no key and no passphrase yet


async def test_a_key_pair_shows_the_private_key_once_and_keeps_the_public_half(admin: User, usb: Path) -> None:
    await admin.open('/admin/backups')
    await admin.should_see(marker='backup-target')
    admin.find(marker='create-key-pair').click()
    await admin.should_see(marker='private-key')
    private = _value(admin, 'private-key')
    assert isinstance(private, str) and private.startswith('CLINICPACS-SECRET-')
    public = options.get('backup_public_key')
    assert sealed.PrivateKey(private).public.text == public
    assert _value(admin, 'backup-public-key') == public
    admin.find(marker='download-private-key').click()
    downloaded = await admin.download.next(timeout=10)
    assert downloaded.content == private.encode()
    admin.find(marker='kept-private-key').click()
    await admin.should_not_see(marker='private-key')


async def test_back_up_now_without_a_recipient_is_refused(admin: User, clinic: Clinic, usb: Path) -> None:
    backup_schedule.save_policy(PolicyForm(target=str(usb)), by=clinic.admin.actor)
    await admin.open('/admin/backups')
    await admin.should_see(marker='backup-target')
    admin.find(marker='backup-full-now').click()
    await admin.should_see('Backups are never written unencrypted: add a public key or set PACS_BACKUP_PASSPHRASE')
    assert backup_runs.listing(by=clinic.admin.actor) == []


async def test_a_failed_backup_shows_its_error_and_is_retried(admin: User, clinic: Clinic, usb: Path) -> None:
    key = sealed.generate_keypair()[0]
    backup_schedule.save_policy(PolicyForm(target=str(usb), public_key=key), by=clinic.admin.actor)
    run_id = backup_runs.start_now('full', by=clinic.admin.actor)
    [row] = backup_runs.listing(by=clinic.admin.actor)
    work.fail(row.job_id or 0, f'InvalidInput: {usb} does not exist: is the disk mounted?')
    await admin.open('/admin/backups')
    await admin.should_see(f'{usb} does not exist: is the disk mounted?')
    await admin.should_see(marker='backup-state-red')
    admin.find(marker=f'retry-backup-{run_id}').click()
    await admin.should_see('Queued again')
    assert [job.state for job in work.unfinished()] == ['queued']


async def test_the_jobs_screen_names_a_backup_job(admin: User, clinic: Clinic, usb: Path) -> None:
    key = sealed.generate_keypair()[0]
    backup_schedule.save_policy(PolicyForm(target=str(usb), public_key=key), by=clinic.admin.actor)
    run_id = backup_runs.start_now('incremental', by=clinic.admin.actor)
    await admin.open('/admin/jobs')
    await admin.should_see(marker='jobs-queued')
    admin.find(marker='jobs-queued').click()
    await admin.should_see(f'Backup run {run_id}')


async def test_the_archives_in_the_folder_and_the_last_drill_are_shown(admin: User, clinic: Clinic, usb: Path) -> None:
    from domain import backup
    from domain.access import system

    key = sealed.generate_keypair()[0]
    backup_schedule.save_policy(PolicyForm(target=str(usb), public_key=key), by=clinic.admin.actor)
    written = backup.create(clinic.data_dir, by=clinic.admin.actor, target_dir=usb, recipient=sealed.PublicKey(key))
    run_id = backup_runs.start_now('drill', by=clinic.admin.actor)
    [row] = backup_runs.listing(by=clinic.admin.actor)
    outcome = '1 archives of the newest chain re-read: all match'
    backup_runs.drilled(run_id, by=system('backup'), archive=written.path.name, outcome=outcome, verified=True)
    work.finish(row.job_id or 0)
    await admin.open('/admin/backups')
    await admin.should_see(marker='backup-archives')
    await admin.should_see(written.path.name)
    await admin.should_see(outcome)
    await admin.should_see('Stored archive check')
