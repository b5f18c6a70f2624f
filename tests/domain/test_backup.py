import tarfile

import pytest

from domain import audit, backup, users
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.models import UserCreate
from tests.conftest import Clinic


def test_a_backup_restores_tables_and_files_over_later_changes(clinic: Clinic) -> None:
    (clinic.data_dir / 'dicom' / '1').mkdir(parents=True)
    (clinic.data_dir / 'dicom' / '1' / '7.dcm').write_bytes(b'DICM and pixels')
    made = backup.create(clinic.data_dir, by=clinic.admin.actor)
    assert made.files >= 1
    assert made.rows >= 8  # four accounts and their audit events

    users.create(
        UserCreate(username='after-backup', role='technician', password='a long password'), by=clinic.admin.actor
    )
    (clinic.data_dir / 'dicom' / '1' / '7.dcm').write_bytes(b'overwritten')
    with pytest.raises(Conflict):
        backup.restore(made.path, clinic.data_dir, by=clinic.admin.actor)
    restored = backup.restore(made.path, clinic.data_dir, by=clinic.admin.actor, force=True)

    assert restored.rows == made.rows
    names = {account.username for account in users.list_all(by=clinic.admin.actor)}
    assert 'after-backup' not in names
    assert 'radiologist1' in names
    assert (clinic.data_dir / 'dicom' / '1' / '7.dcm').read_bytes() == b'DICM and pixels'
    assert audit.verify(by=clinic.admin.actor).intact
    assert users.create(
        UserCreate(username='new-after-restore', role='technician', password='a long password'), by=clinic.admin.actor
    ).id


def test_a_file_that_is_not_a_backup_is_refused(clinic: Clinic) -> None:
    clinic.data_dir.mkdir(parents=True, exist_ok=True)
    bogus = clinic.data_dir / 'bogus.tar'
    with tarfile.open(bogus, 'w'):
        pass
    with pytest.raises(InvalidInput, match='not a ClinicPACS backup'):
        backup.restore(bogus, clinic.data_dir, by=clinic.admin.actor, force=True)


def test_only_an_admin_makes_backups(clinic: Clinic) -> None:
    with pytest.raises(NotAllowed):
        backup.create(clinic.data_dir, by=clinic.technician.actor)
