"""The restore page on a fresh install: a real restore from an archive made in the test, and its refusals."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nicegui.testing import User

from dicom import storage
from domain import audit, auth, backup, db, patient_search, patients, sealed, users
from domain.access import Actor, system
from domain.models import PatientCreate, Role, UserCreate
from domain.settings import Settings
from tests.conftest import PASSWORD, Account, Clinic, sign_in
from ui import live, register_pages

PASSPHRASE = 'the clinic backup passphrase'


@dataclass(frozen=True)
class Backups:
    """Folders of archives another install made: a passphrase chain (full, then incremental) and one full to a key."""

    chain: Path
    keyed: Path
    private_key: str


@pytest.fixture
def usb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backups:
    """Another install (its admin `old-admin`; Rita, then Ingrid registered) backed up, before this one exists."""
    monkeypatch.setattr(sealed, 'SCRYPT_LOG_N', 10)  # scrypt at its cheapest: the suite is not a key store
    old = Settings(_env_file=None, data_dir=tmp_path / 'old', database_url=None, redis_url=None, dicom_port=0)  # type: ignore[call-arg]
    db.configure(old)
    db.create_all()
    auth.configure(old)
    admin = users.create(UserCreate(username='old-admin', role=Role.ADMIN.value, password=PASSWORD), by=system('test'))
    actor = Actor(role=Role.ADMIN.value, username='old-admin', user_id=admin.id)
    passphrase = sealed.Passphrase(PASSPHRASE)
    found = Backups(tmp_path / 'usb', tmp_path / 'nas', sealed.generate_keypair()[1])
    patients.register(
        PatientCreate(family_name='Restored', given_name='Rita', birth_date='1980-02-03', sex='F'), by=actor
    )
    backup.create(old.data_dir, by=actor, target_dir=found.chain, kind='full', recipient=passphrase)
    patients.register(
        PatientCreate(family_name='Later', given_name='Ingrid', birth_date='1990-06-07', sex='F'), by=actor
    )
    backup.create(old.data_dir, by=actor, target_dir=found.chain, kind='incremental', recipient=passphrase)
    public = sealed.PrivateKey(found.private_key).public
    backup.create(old.data_dir, by=actor, target_dir=found.keyed, kind='full', recipient=public)
    db.dispose()
    audit.forget_key()
    return found


@pytest.fixture
async def fresh(user: User, usb: Backups, database: Settings) -> AsyncIterator[User]:
    """A fresh install (its first admin only) with that admin signed in."""
    storage.configure(database.data_dir)
    first = users.create(UserCreate(username='admin', role=Role.ADMIN.value, password=PASSWORD), by=system('test'))
    register_pages()
    live.start_bridge()
    await sign_in(user, Account('admin', PASSWORD, Role.ADMIN.value, first.id or 0))
    yield user
    live.stop_bridge()


async def _look(user: User, folder: Path) -> None:
    await user.open('/admin/restore')
    await user.should_see(marker='restore-folder')
    user.find(marker='restore-folder').type(str(folder))
    user.find(marker='restore-look').click()
    await user.should_see('An incremental backup brings')


def _registered() -> list[str]:
    return sorted(p.given_name for p in patient_search.search('', by=system('test')).rows)


async def test_a_fresh_install_gets_the_newest_backup_of_the_chain_and_the_admin_signs_in_again(
    fresh: User, usb: Backups
) -> None:
    await fresh.open('/')
    await fresh.should_see(marker='home-restore')
    await _look(fresh, usb.chain)
    assert fresh.find(marker='restore-archive').elements.pop().value.endswith('-incr.tar.sealed')  # the newest
    fresh.find(marker='restore-passphrase').type(PASSPHRASE)

    fresh.find(marker='restore-start').click()

    await fresh.should_see(marker='restore-done')
    await fresh.should_see('your session has ended')
    assert _registered() == ['Ingrid', 'Rita']  # the full and the incremental on top of it
    assert [u.username for u in users.list_all(by=system('test'))] == ['old-admin']
    assert auth.login('old-admin', PASSWORD).actor.username == 'old-admin'
    fresh.find(marker='restore-sign-in').click()
    await fresh.should_see(marker='username')  # the login form


async def test_a_backup_sealed_to_a_public_key_is_restored_with_its_private_key(fresh: User, usb: Backups) -> None:
    await _look(fresh, usb.keyed)
    fresh.find(marker='restore-key-kind').elements.pop().value = 'private-key'  # the toggle's second choice
    fresh.find(marker='restore-private-key').type(usb.private_key)

    fresh.find(marker='restore-start').click()

    await fresh.should_see(marker='restore-done')
    assert _registered() == ['Ingrid', 'Rita']


async def test_a_wrong_passphrase_is_refused_and_the_form_keeps_what_was_typed(fresh: User, usb: Backups) -> None:
    await _look(fresh, usb.chain)
    fresh.find(marker='restore-passphrase').type('not the passphrase')

    fresh.find(marker='restore-start').click()

    await fresh.should_see('The passphrase or key does not open')
    assert fresh.find(marker='restore-folder').elements.pop().value == str(usb.chain)
    assert fresh.find(marker='restore-passphrase').elements.pop().value == 'not the passphrase'
    assert [u.username for u in users.list_all(by=system('test'))] == ['admin']
    assert _registered() == []


async def test_a_folder_is_named_by_its_full_path(fresh: User) -> None:
    await fresh.open('/admin/restore')
    await fresh.should_see(marker='restore-folder')
    fresh.find(marker='restore-folder').type('backups')

    fresh.find(marker='restore-look').click()

    await fresh.should_see('Type the full path of the folder')


async def test_a_changed_archive_is_refused_and_nothing_is_restored(fresh: User, usb: Backups) -> None:
    newest = backup.archives(usb.chain)[-1].path
    raw = bytearray(newest.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    newest.write_bytes(bytes(raw))
    await _look(fresh, usb.chain)
    fresh.find(marker='restore-passphrase').type(PASSPHRASE)

    fresh.find(marker='restore-start').click()

    await fresh.should_see('has been changed or is incomplete')
    assert fresh.find(marker='restore-passphrase').elements.pop().value == PASSPHRASE
    assert _registered() == []


async def test_a_patient_registered_meanwhile_stops_the_restore(fresh: User, usb: Backups) -> None:
    await _look(fresh, usb.chain)
    fresh.find(marker='restore-passphrase').type(PASSPHRASE)
    patients.register(
        PatientCreate(family_name='Early', given_name='Eve', birth_date='2001-01-01', sex='F'), by=system('test')
    )

    fresh.find(marker='restore-start').click()

    await fresh.should_see('This install already holds patients')
    assert fresh.find(marker='restore-folder').elements.pop().value == str(usb.chain)
    assert _registered() == ['Eve']


async def test_an_install_that_holds_patients_is_not_offered_a_restore(screens: User, clinic: Clinic) -> None:
    patients.register(
        PatientCreate(family_name='Present', given_name='Pat', birth_date='1975-04-05', sex='M'),
        by=clinic.receptionist.actor,
    )
    await sign_in(screens, clinic.admin)
    await screens.should_not_see(marker='home-restore')

    await screens.open('/admin/restore')

    await screens.should_see(marker='restore-not-fresh')
    await screens.should_see('main.py restore')
    await screens.should_not_see(marker='restore-start')


async def test_only_an_admin_may_open_the_restore_page(technician: User) -> None:
    await technician.open('/admin/restore')

    await technician.should_see(marker='not-allowed')
    await technician.should_not_see(marker='restore-folder')
