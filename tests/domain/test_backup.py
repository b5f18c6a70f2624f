import io
import json
import stat
import tarfile
from pathlib import Path

import pytest
from sqlmodel import SQLModel, col, select

from domain import audit, audit_chain, audit_checkpoints, backup, db, keys, users
from domain.access import system
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.models import AuditEvent, UserCreate
from domain.settings import Settings
from tests.conftest import Clinic
from tests.domain.test_audit import _unkeyed_trail


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
    assert audit.verify(by=clinic.admin.actor).intact  # a checkpoint of events the archive does not hold
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


def test_the_manifest_carries_the_audit_checkpoint_the_backup_signed(clinic: Clinic) -> None:
    made = backup.create(clinic.data_dir, by=clinic.admin.actor)

    with tarfile.open(made.path) as archive:
        manifest = json.loads(archive.extractfile(backup.MANIFEST_NAME).read())  # type: ignore[union-attr]
        ledger = archive.extractfile(f'files/{audit_checkpoints.FILE_NAME}').read().decode()  # type: ignore[union-attr]
        dumped = [json.loads(line) for line in archive.extractfile(backup.DUMP_NAME)]  # type: ignore[union-attr]
    signed = audit_checkpoints.parse(manifest['audit_checkpoint'], keys.key('audit'))
    assert signed is not None
    newest_dumped = max(entry['r']['id'] for entry in dumped if entry['t'] == 'audit_event')
    assert signed.event_id == newest_dumped
    assert made.checkpoint == manifest['audit_checkpoint']
    assert ledger.splitlines()[-1] == manifest['audit_checkpoint']


def test_restored_files_keep_the_keys_private(clinic: Clinic) -> None:
    keys.key('mfa')
    made = backup.create(clinic.data_dir, by=clinic.admin.actor)

    backup.restore(made.path, clinic.data_dir, by=clinic.admin.actor, force=True)

    for name in ('keys/audit.key', 'keys/mfa.key', audit_checkpoints.FILE_NAME):
        assert oct(stat.S_IMODE((clinic.data_dir / name).stat().st_mode)) == '0o600', name
    assert audit.verify(by=clinic.admin.actor).intact


def test_an_archive_of_an_earlier_version_restores_with_its_trail_keyed_and_without_its_secret(
    database: Settings, tmp_path: Path
) -> None:
    _unkeyed_trail(4)  # as an earlier version recorded it, and archived it with secret.key
    old_archive = tmp_path / 'clinicpacs-old.tar'
    with tarfile.open(old_archive, 'w') as archive, db.reading() as session:
        lines = [
            json.dumps({'t': table.name, 'r': row}, default=backup._encode).encode() + b'\n'
            for table in SQLModel.metadata.sorted_tables
            for row in backup._rows(session, table)
        ]
        for name, payload in (
            (backup.DUMP_NAME, b''.join(lines)),
            (backup.MANIFEST_NAME, b'{"format": 1}'),
            ('files/secret.key', b'the old signing secret'),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))

    backup.restore(old_archive, database.data_dir, by=system('console'), force=True)

    assert not (database.data_dir / 'secret.key').exists()
    report = audit.verify(by=system('console'))
    assert report.intact, report.problem
    assert report.checked == 5  # the four of the earlier version and the restore
    with db.reading() as session:
        first = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).first()
    assert first is not None
    assert first.hash != audit_chain.unkeyed_digest(first)
