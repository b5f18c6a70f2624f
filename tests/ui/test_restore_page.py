"""The restore page on a fresh install: a real restore from an archive made in the test, and its refusals."""

from collections.abc import AsyncIterator
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


@pytest.fixture
def usb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with one sealed full backup of another install (its admin `old-admin`, one patient)."""
    monkeypatch.setattr(sealed, 'SCRYPT_LOG_N', 10)  # scrypt at its cheapest: the suite is not a key store
    old = Settings(_env_file=None, data_dir=tmp_path / 'old', database_url=None, redis_url=None, dicom_port=0)  # type: ignore[call-arg]
    db.configure(old)
    db.create_all()
    auth.configure(old)
    admin = users.create(UserCreate(username='old-admin', role=Role.ADMIN.value, password=PASSWORD), by=system('test'))
    actor = Actor(role=Role.ADMIN.value, username='old-admin', user_id=admin.id)
    patients.register(
        PatientCreate(family_name='Restored', given_name='Rita', birth_date='1980-02-03', sex='F'), by=actor
    )
    folder = tmp_path / 'usb'
    backup.create(
        old.data_dir, by=system('test'), target_dir=folder, kind='full', recipient=sealed.Passphrase(PASSPHRASE)
    )
    db.dispose()
    audit.forget_key()
    return folder


@pytest.fixture
async def fresh(user: User, usb: Path, database: Settings) -> AsyncIterator[User]:
    """A fresh install (its first admin only) with that admin signed in."""
    storage.configure(database.data_dir)
    first = users.create(UserCreate(username='admin', role=Role.ADMIN.value, password=PASSWORD), by=system('test'))
    register_pages()
    live.start_bridge()
    await sign_in(user, Account('admin', PASSWORD, Role.ADMIN.value, first.id or 0))
    yield user
    live.stop_bridge()


async def _choose(user: User, folder: Path, passphrase: str) -> None:
    await user.open('/admin/restore')
    await user.should_see(marker='restore-folder')
    user.find(marker='restore-folder').type(str(folder))
    user.find(marker='restore-look').click()
    await user.should_see('An incremental backup brings')
    user.find(marker='restore-passphrase').type(passphrase)
    user.find(marker='restore-start').click()


async def test_a_fresh_install_is_restored_from_the_backup_and_the_admin_signs_in_again(fresh: User, usb: Path) -> None:
    await fresh.open('/')
    await fresh.should_see(marker='home-restore')

    await _choose(fresh, usb, PASSPHRASE)

    await fresh.should_see(marker='restore-done')
    await fresh.should_see('your session has ended')
    assert [p.family_name for p in patient_search.search('Restored', by=system('test')).rows] == ['Restored']
    assert [u.username for u in users.list_all(by=system('test'))] == ['old-admin']
    assert auth.login('old-admin', PASSWORD).actor.username == 'old-admin'


async def test_a_wrong_passphrase_is_refused_and_the_form_keeps_what_was_typed(fresh: User, usb: Path) -> None:
    await _choose(fresh, usb, 'not the passphrase')

    await fresh.should_see('The passphrase or key does not open')
    assert fresh.find(marker='restore-folder').elements.pop().value == str(usb)
    assert fresh.find(marker='restore-passphrase').elements.pop().value == 'not the passphrase'
    assert users.list_all(by=system('test'))[0].username == 'admin'


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
