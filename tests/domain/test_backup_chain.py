"""Incremental backups: a chain of a full and incrementals restores the newest state; prune keeps whole chains."""

import hashlib
import os
import re
import threading
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from domain import access, backup, backup_snapshot, clock, db, sealed, studies, users
from domain.access import system
from domain.errors import InvalidInput
from domain.models import Instance, UserCreate
from domain.studies import InstanceHeader, StoredFile
from tests.conftest import Clinic
from tests.domain.test_backup import (  # noqa: F401 - quick_scrypt is a fixture
    KEY,
    file_digests,
    put_files,
    quick_scrypt,
    same_after_restore,
    table_rows,
    wipe,
)

_sops = count(1)


def _account(clinic: Clinic, name: str) -> None:
    users.create(UserCreate(username=name, role='technician', password='a long password'), by=clinic.admin.actor)


def test_a_full_and_two_incrementals_restore_the_newest_state_without_deleted_files(clinic: Clinic) -> None:
    put_files(clinic.data_dir, 'dicom/01/aa.dcm', 'dicom/01/bb.dcm', 'thumbnails/1.png')
    full = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)
    assert full.kind == 'full'  # nothing to build on in the folder yet

    clock.advance(timedelta(seconds=2))
    put_files(clinic.data_dir, 'dicom/02/cc.dcm')
    (clinic.data_dir / 'dicom/01/bb.dcm').unlink()
    (clinic.data_dir / 'thumbnails/1.png').write_bytes(b'a newer thumbnail')
    _account(clinic, 'between-backups')
    first = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)

    clock.advance(timedelta(seconds=2))
    put_files(clinic.data_dir, 'reports/9.pdf')
    (clinic.data_dir / 'dicom/02/cc.dcm').unlink()
    _account(clinic, 'after-the-first-incremental')
    rows, files = table_rows(), file_digests(clinic.data_dir)
    second = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)

    assert (first.kind, first.parent, second.parent) == ('incremental', full.path.name, first.path.name)
    assert first.stored == 3  # the new image, the changed thumbnail and the audit ledger up to its snapshot
    assert second.stored == 2  # the new report and the ledger
    assert backup.chain(second.path) == [full.path, first.path, second.path]

    wipe(clinic.data_dir)
    restored = backup.restore(second.path, clinic.data_dir, by=system('console'), identity=KEY)

    assert restored.archives == [second.path.name, first.path.name, full.path.name]
    assert file_digests(clinic.data_dir) == files
    assert not (clinic.data_dir / 'dicom/01/bb.dcm').exists()
    assert not (clinic.data_dir / 'dicom/02/cc.dcm').exists()
    same_after_restore(rows)


def test_a_chain_whose_full_is_missing_is_refused_before_anything_changes(clinic: Clinic) -> None:
    put_files(clinic.data_dir)
    full = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    clock.advance(timedelta(seconds=2))
    incremental = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)
    full.path.unlink()
    rows, files = table_rows(), file_digests(clinic.data_dir)

    with pytest.raises(InvalidInput, match=f'The chain of {incremental.path.name} is incomplete: {full.path.name}'):
        backup.restore(incremental.path, clinic.data_dir, by=clinic.admin.actor, identity=KEY, force=True)
    with pytest.raises(InvalidInput, match='is incomplete'):
        backup.chain(incremental.path)

    assert (table_rows(), file_digests(clinic.data_dir)) == (rows, files)
    assert not list((clinic.data_dir / 'backups-state').glob('restore-*'))


def test_an_incremental_holds_only_the_files_new_or_changed_since_its_parent(clinic: Clinic) -> None:
    put_files(clinic.data_dir)
    full = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    clock.advance(timedelta(seconds=2))
    put_files(clinic.data_dir, 'dicom/ff/new.dcm')

    incremental = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)

    assert incremental.files == full.files + 1
    assert incremental.stored == 2  # the new image and the audit ledger up to its snapshot
    assert backup.verify(incremental.path, KEY).ok


def test_prune_deletes_whole_old_chains_and_keeps_the_newest(clinic: Clinic, tmp_path: Path) -> None:
    target = tmp_path / 'usb'
    made = []
    for kind in ('full', 'incremental', 'full', 'incremental', 'incremental', 'full', 'incremental'):
        made.append(backup.create(clinic.data_dir, by=clinic.admin.actor, target_dir=target, kind=kind, recipient=KEY))
        clock.advance(timedelta(seconds=2))

    deleted = backup.prune(target, keep_full=2)

    assert deleted == [made[0].path, made[1].path]
    assert [info.name for info in backup.archives(target)] == [result.path.name for result in made[2:]]
    assert not (target / f'{made[0].path.name}.json').exists()
    assert backup.prune(target, keep_full=0) == [made[2].path, made[3].path, made[4].path]  # never the newest chain
    assert backup.drill(made[-1].path, KEY, tmp_path / 'scratch').ok


def test_a_partial_archive_a_crash_left_is_swept_by_the_next_backup_and_a_fresh_one_kept(
    clinic: Clinic, tmp_path: Path
) -> None:
    target = tmp_path / 'usb'
    target.mkdir()
    abandoned, writing = target / 'clinicpacs-20261130-020000-full.tar.sealed.partial', target / 'clinicpacs-x.partial'
    for leftover in (abandoned, writing):
        leftover.write_bytes(b'half an archive')
    an_hour_ago = clock.now().timestamp() - 3601
    os.utime(abandoned, (an_hour_ago, an_hour_ago))

    backup.create(clinic.data_dir, by=clinic.admin.actor, target_dir=target, kind='full', recipient=KEY)

    assert not abandoned.exists()
    assert writing.exists()  # written to within the hour: a backup another server may still be writing


def test_an_archive_whose_header_is_lost_is_listed_from_its_name_and_never_built_on(clinic: Clinic) -> None:
    full = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    full.path.with_name(f'{full.path.name}.json').unlink()
    clock.advance(timedelta(seconds=2))

    listed = backup.archives(full.path.parent)
    again = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)

    assert [(info.kind, info.sha256, info.verified_at) for info in listed] == [('full', '', None)]
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d', listed[0].created_at)  # ISO, read from the name
    assert again.kind == 'full'


def test_a_backup_taken_while_images_arrive_restores_every_indexed_image_with_its_file(clinic: Clinic) -> None:
    storing = threading.Event()
    done = threading.Event()
    arrived: list[int] = []

    def modality() -> None:  # stores images as the listener does: file first, then the index row
        while not done.is_set():
            n = next(_sops)
            relative = f'dicom/{n % 7:02x}/{n:08x}.dcm'
            payload = b'DICM' + hashlib.sha256(str(n).encode()).digest() * 64
            (clinic.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (clinic.data_dir / relative).write_bytes(payload)
            studies.record_instance(
                _header(n), StoredFile(relative, len(payload), hashlib.sha256(payload).hexdigest()), by=_ct()
            )
            arrived.append(n)
            storing.set()

    sender = threading.Thread(target=modality)
    sender.start()
    try:
        assert storing.wait(20), 'no image arrived'
        made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
        made = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=KEY)
    finally:
        done.set()
        sender.join()

    assert made.missing == []
    wipe(clinic.data_dir)
    backup.restore(made.path, clinic.data_dir, by=system('console'), identity=KEY)
    with db.reading() as session:
        indexed = session.exec(select(Instance)).all()
    assert indexed
    for instance in indexed:
        stored = clinic.data_dir / instance.file_path
        assert stored.is_file(), instance.file_path
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == instance.sha256


def test_an_image_moved_to_the_trash_after_the_snapshot_is_archived_from_there(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    relative, payload = 'dicom/0a/0b/0c.dcm', b'DICM an image deleted while the backup runs'
    (clinic.data_dir / relative).parent.mkdir(parents=True)
    (clinic.data_dir / relative).write_bytes(payload)
    studies.record_instance(
        _header(1), StoredFile(relative, len(payload), hashlib.sha256(payload).hexdigest()), by=_ct()
    )
    real_dump = backup_snapshot.dump

    def dump_then_delete(out: Any, scratch: Path) -> backup_snapshot.Dump:
        dumped = real_dump(out, scratch)
        trashed = clinic.data_dir / 'trash' / '7' / relative  # as domain.trash moves a study's files
        trashed.parent.mkdir(parents=True)
        (clinic.data_dir / relative).rename(trashed)
        return dumped

    monkeypatch.setattr(backup_snapshot, 'dump', dump_then_delete)
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    wipe(clinic.data_dir)
    backup.restore(made.path, clinic.data_dir, by=system('console'), identity=KEY)

    assert made.missing == []
    assert (clinic.data_dir / relative).read_bytes() == payload


def test_a_drill_reports_rows_that_point_at_rows_the_archive_does_not_hold(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    payload = b'DICM one image'
    studies.record_instance(_header(1), StoredFile('dicom/01/01.dcm', len(payload), 'ab' * 32), by=_ct())
    real_rows = backup_snapshot.rows
    monkeypatch.setattr(  # a dump that lost its studies: the series point at nothing
        backup_snapshot,
        'rows',
        lambda connection, table: iter(()) if table.name == 'study' else real_rows(connection, table),
    )
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)

    drilled = backup.drill(made.path, KEY, tmp_path / 'drills')

    assert not drilled.ok
    assert [str(problem) for problem in drilled.problems] == [
        'The archived rows do not load into an empty database '
        '(a row points at a row the archive does not hold, or is there twice)'
    ]


def test_verify_needs_the_private_half_of_the_public_key_an_archive_is_sealed_to(clinic: Clinic) -> None:
    public, private = sealed.generate_keypair()
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=sealed.PublicKey(public))

    assert backup.verify(made.path, sealed.PrivateKey(private)).ok
    with pytest.raises(sealed.WrongKey):
        backup.verify(made.path, KEY)


def test_an_incremental_sealed_with_another_passphrase_or_key_starts_a_new_chain(clinic: Clinic) -> None:
    backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=KEY)
    clock.advance(timedelta(seconds=2))
    other = backup.create(
        clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=sealed.Passphrase('a new passphrase')
    )
    clock.advance(timedelta(seconds=2))
    public = sealed.PublicKey(sealed.generate_keypair()[0])
    to_key = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=public)
    clock.advance(timedelta(seconds=2))
    then = backup.create(clinic.data_dir, by=clinic.admin.actor, kind='incremental', recipient=public)

    assert (other.kind, to_key.kind, then.kind, then.parent) == ('full', 'full', 'incremental', to_key.path.name)


def _ct() -> access.Actor:
    return access.modality('CT1')


def _header(n: int) -> InstanceHeader:
    return InstanceHeader(
        sop_instance_uid=f'1.2.826.0.1.3680043.9.7.{n}',
        sop_class_uid='1.2.840.10008.5.1.4.1.1.2',
        study_instance_uid=f'1.2.826.0.1.3680043.9.6.{n % 3}',
        series_instance_uid=f'1.2.826.0.1.3680043.9.6.{n % 3}.1',
        patient_name='Arriving^Patient',
        patient_id='ARR1',
        study_date=date(2026, 1, 5),
        modality='CT',
    )
