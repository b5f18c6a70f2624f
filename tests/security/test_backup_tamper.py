"""Attacks on backups: a stolen archive read, a changed or cut one restored, a chain with a swapped parent, a
wrong passphrase tried, an archive whose members climb out of the data directory.

Each is refused with a clear message before anything of it reaches the database or the data directory.
"""

import hashlib
import io
import json
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest

from domain import backup, clock, patients, sealed, users
from domain.errors import InvalidInput
from domain.models import PatientCreate, UserCreate
from tests.conftest import Clinic
from tests.domain.test_backup import KEY, members, put_files, quick_scrypt  # noqa: F401 - quick_scrypt is a fixture


@pytest.fixture
def archived(clinic: Clinic) -> backup.BackupResult:
    """An archive of a clinic with a patient and images, then a change the archive does not hold."""
    patients.register(
        PatientCreate(family_name='Zyxwvut', given_name='Secret', birth_date='1961-07-08'), by=clinic.receptionist.actor
    )
    put_files(clinic.data_dir)
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    users.create(
        UserCreate(username='after-backup', role='technician', password='a long password'), by=clinic.admin.actor
    )
    return made


def _untouched(clinic: Clinic) -> None:
    assert 'after-backup' in {account.username for account in users.list_all(by=clinic.admin.actor)}


def test_a_stolen_archive_and_its_header_show_no_patient_data(archived: backup.BackupResult) -> None:
    for path in (archived.path, archived.path.with_name(f'{archived.path.name}.json')):
        raw = path.read_bytes()
        assert b'Zyxwvut' not in raw
        assert b'DICM' not in raw
    assert b'Zyxwvut' in members(archived.path)['database.jsonl']  # what the key opens


def test_a_changed_byte_is_found_by_verify_and_refused_by_restore(
    clinic: Clinic, archived: backup.BackupResult
) -> None:
    raw = bytearray(archived.path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    archived.path.write_bytes(bytes(raw))

    checked = backup.verify(archived.path, KEY)
    assert not checked.ok
    assert checked.problems == [f'{archived.path.name} has been changed or is incomplete']
    assert not backup.check_stored(archived.path, archived.sha256)
    with pytest.raises(sealed.Tampered, match='has been changed or is incomplete'):
        backup.restore(archived.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    _untouched(clinic)


def test_an_archive_cut_short_is_refused(clinic: Clinic, archived: backup.BackupResult) -> None:
    raw = archived.path.read_bytes()
    archived.path.write_bytes(raw[: len(raw) - 100])

    with pytest.raises(sealed.Tampered, match='has been changed or is incomplete'):
        backup.restore(archived.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    assert not backup.drill(archived.path, KEY, clinic.data_dir.parent / 'scratch').ok
    _untouched(clinic)


def test_a_wrong_passphrase_is_refused(clinic: Clinic, archived: backup.BackupResult) -> None:
    with pytest.raises(sealed.WrongKey, match='The passphrase or key does not open'):
        backup.restore(
            archived.path, clinic.data_dir, by=clinic.admin.actor, identity=sealed.Passphrase('guessed'), force=True
        )
    with pytest.raises(sealed.WrongKey):
        backup.verify(archived.path, sealed.Passphrase('guessed'))
    _untouched(clinic)


def test_an_incremental_whose_parent_was_swapped_is_refused(clinic: Clinic, archived: backup.BackupResult) -> None:
    clock.advance(timedelta(seconds=2))
    put_files(clinic.data_dir, 'dicom/99/new.dcm')
    incremental = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)
    clock.advance(timedelta(seconds=2))
    other = backup.create(clinic.data_dir, by=clinic.admin.actor, target_dir=clinic.data_dir / 'other', recipient=KEY)
    other.path.replace(archived.path)  # a full of the same clinic, but not the one the incremental was made after

    with pytest.raises(InvalidInput, match=r'is not the archive .* was made after'):
        backup.restore(incremental.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    _untouched(clinic)


def test_a_header_naming_a_parent_outside_the_folder_is_refused(clinic: Clinic, archived: backup.BackupResult) -> None:
    clock.advance(timedelta(seconds=2))
    incremental = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)
    header = incremental.path.with_name(f'{incremental.path.name}.json')
    fields = json.loads(header.read_text())
    header.write_text(json.dumps({**fields, 'parent': '../../etc/passwd'}))

    with pytest.raises(InvalidInput, match='does not name its parent'):
        backup.chain(incremental.path)
    assert backup.verify(incremental.path, KEY).ok  # the archive itself is intact: only its plain header lies


def test_a_sealed_archive_whose_file_climbs_out_of_the_data_directory_is_refused(
    clinic: Clinic, archived: backup.BackupResult
) -> None:
    inside = members(archived.path)
    payload = b'written where it does not belong'
    escape = '../escaped.txt'
    index = (
        inside['index.jsonl']
        + json.dumps(
            {'p': escape, 's': len(payload), 'm': 0, 'h': hashlib.sha256(payload).hexdigest(), 'a': archived.path.name}
        ).encode()
        + b'\n'
    )
    manifest = json.loads(inside['manifest.json'])
    manifest['members']['index.jsonl'] = [len(index), hashlib.sha256(index).hexdigest()]
    forged = {
        **inside,
        f'files/{escape}': payload,
        'index.jsonl': index,
        'manifest.json': json.dumps(manifest).encode(),
    }
    forged['manifest.json'] = forged.pop('manifest.json')  # last, as written
    _seal(archived.path, forged)

    with pytest.raises(InvalidInput, match='holds a file outside the data directory'):
        backup.restore(archived.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    assert not (clinic.data_dir.parent / 'escaped.txt').exists()
    _untouched(clinic)


def test_a_plain_archive_of_an_earlier_version_cannot_climb_out_either(clinic: Clinic) -> None:
    old = clinic.data_dir / 'clinicpacs-old.tar'
    with tarfile.open(old, 'w') as archive:
        for name, payload in (
            ('database.jsonl', b''),
            ('manifest.json', b'{"format": 1}'),
            ('files/../escaped.txt', b'out'),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))

    with pytest.raises(InvalidInput, match='holds a file outside the data directory'):
        backup.restore(old, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    assert not (clinic.data_dir.parent / 'escaped.txt').exists()
    assert 'admin1' in {account.username for account in users.list_all(by=clinic.admin.actor)}


def test_verify_names_a_member_resealed_without_its_manifest(clinic: Clinic, archived: backup.BackupResult) -> None:
    inside = members(archived.path)
    _seal(archived.path, {**inside, 'database.jsonl': inside['database.jsonl'].replace(b'Zyxwvut', b'Another')})

    checked = backup.verify(archived.path, KEY)

    assert f'database.jsonl in {archived.path.name} does not match its manifest' in checked.problems
    with pytest.raises(InvalidInput, match=r'did not check out: database\.jsonl'):
        backup.restore(archived.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    _untouched(clinic)


def test_a_drill_finds_an_audit_trail_rewritten_inside_an_archive(
    clinic: Clinic, archived: backup.BackupResult, tmp_path: Path
) -> None:
    inside = members(archived.path)
    lines = []
    for line in inside['database.jsonl'].splitlines():
        record = json.loads(line)
        if record['t'] == 'audit_event' and record['r']['action'] == 'patient.create':
            record['r']['role'] = 'admin'  # someone with the passphrase hides who registered the patient
        lines.append(json.dumps(record).encode())
    dump = b'\n'.join(lines) + b'\n'
    manifest = json.loads(inside['manifest.json'])
    manifest['members']['database.jsonl'] = [len(dump), hashlib.sha256(dump).hexdigest()]
    manifest['tables']['user'] += 1
    _seal(archived.path, {**inside, 'database.jsonl': dump, 'manifest.json': json.dumps(manifest).encode()})

    drilled = backup.drill(archived.path, KEY, tmp_path / 'scratch')

    assert not drilled.ok
    assert any(
        problem.startswith('The restored audit trail does not verify: Chain broken') for problem in drilled.problems
    )
    assert any(problem.startswith('Table user: 5 rows restored, the manifest says 6') for problem in drilled.problems)


def _seal(path: Path, contents: dict[str, bytes]) -> None:
    """Write `contents` as a tar sealed with KEY (an insider who knows the passphrase)."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode='w') as tar:
        for name, payload in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    path.write_bytes(sealed.seal_bytes(plain.getvalue(), KEY))
