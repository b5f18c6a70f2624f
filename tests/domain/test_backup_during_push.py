"""A backup taken while 400 small studies arrive over DICOM restores whole: every table's rows and every counter
as the snapshot had them, every indexed image with its bytes, and the restored server takes the next image.

The push is real: DCMTK's storescu, as two modalities at once, to the listener, through the ingest pipeline into
the clinic's database. The backups (a full, then an incremental on it) overlap it for sure: each starts once
images are flowing, and while its snapshot is read (after the study table, before the series and image tables)
the test waits until more images have been committed. A dump that reads the tables one after another fails here
(a series whose study is not in it: a foreign-key violation on restore). Runs on SQLite, and on PostgreSQL with
PACS_TEST_DATABASE_URL (restored into a database of its own, created and dropped here).
"""

import hashlib
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage
from sqlalchemy import create_engine, func, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from dicom import scp, storage
from dicom.ingest import Ingest
from domain import backup, backup_snapshot, db, modalities
from domain.access import modality, system
from domain.modalities import ModalityCreate
from domain.models import Instance, Series, Study
from domain.settings import Settings
from tests.conftest import PG_URL, Clinic, need_tool, wait_until
from tests.domain.test_backup import KEY, quick_scrypt  # noqa: F401 - quick_scrypt is a fixture

STUDIES = 400
FIRST_BACKUP_AT, SECOND_BACKUP_AT = 100, 200  # studies in before each backup starts
SENDERS = 2  # modalities pushing at once
BATCH = 10  # studies per association
IMAGES = STUDIES * 3 // 2  # every other study has two
SCU_AE = 'PUSHSCU'
ROOT = '1.2.826.0.1.3680043.9.7.15'
PUSH_S = 240.0  # the whole push on a loaded machine; it ends as soon as the last image is in


def test_a_backup_taken_during_a_400_study_push_restores_with_matching_counters(
    clinic: Clinic, backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / 'modality').mkdir()
    push = _Push(need_tool('storescu'), tmp_path / 'modality')
    overlap = _Overlap(push, clinic, monkeypatch)
    with _listening(clinic) as port:
        senders = [threading.Thread(target=push.send, args=(port, clinic.settings.ae_title)) for _ in range(SENDERS)]
        for sender in senders:
            sender.start()
        try:
            push.allow(FIRST_BACKUP_AT + 100)
            wait_until(
                lambda: push.studies_in() >= FIRST_BACKUP_AT or push.failed, 'the first studies in', timeout=PUSH_S
            )
            full = overlap.backup('full', allow=SECOND_BACKUP_AT + 100)
            wait_until(lambda: push.studies_in() >= SECOND_BACKUP_AT or push.failed, 'more studies in', timeout=PUSH_S)
            acknowledged_before = push.acknowledged()
            incremental = overlap.backup('incremental', allow=STUDIES)
        finally:
            push.allow(STUDIES)
            for sender in senders:
                sender.join(PUSH_S)
    assert not push.failed, push.failed[:3]
    assert push.studies_in() == STUDIES
    assert _instance_rows() == IMAGES
    stored = _stored_files(clinic.data_dir)

    # the backups overlapped the push: images were committed while each snapshot was read, and after it
    assert (full.kind, incremental.kind, incremental.parent) == ('full', 'incremental', full.path.name)
    assert overlap.arrived_meanwhile == [True, True]
    assert FIRST_BACKUP_AT <= full.tables['study'] < incremental.tables['study'] < STUDIES
    assert full.tables['instance'] < incremental.tables['instance'] < IMAGES
    assert incremental.missing == full.missing == []
    drilled = backup.drill(full.path, KEY, tmp_path / 'drills')  # the full alone restores too
    assert drilled.ok, drilled.problems
    assert drilled.tables == full.tables

    with _fresh_install(backend, tmp_path / 'restored') as restored_dir:
        backup.restore(incremental.path, restored_dir, by=system('console'), identity=KEY)

        tables = _counts()
        assert tables.pop('audit_event') == incremental.tables['audit_event'] + 1  # and the restore's own event
        assert tables == {name: rows for name, rows in incremental.tables.items() if name != 'audit_event'}
        assert _counter_mismatches() == []
        indexed = _indexed_files()
        assert acknowledged_before <= {sop for sop, _ in indexed.values()} <= push.acknowledged()
        for path, (_, sha256) in indexed.items():
            assert _sha256(restored_dir / path) == sha256 == stored[path], path
        # the snapshot's images, and at most the one image each modality had on its way when it was taken
        assert set(_stored_files(restored_dir)) >= set(indexed)
        assert len(set(_stored_files(restored_dir)) - set(indexed)) <= SENDERS

        study = _one_more_image(restored_dir, study=0)
        new_study = _one_more_image(restored_dir, study=STUDIES)
        assert _counter_mismatches() == []
        with db.reading() as session:
            counted = {row.id or 0: row.num_instances for row in session.exec(select(Study)).all()}
        assert (counted[study], counted[new_study]) == (3, 1)  # the restored counter went on; a new study has an id
        assert new_study > max(counted.keys() - {new_study})  # after the restored ones (the sequences were set)


# ---------------------------------------------------------------- the push


@dataclass
class _Push:
    """Studies of one or two small images (_numbers), sent by SENDERS modalities at once with DCMTK's storescu,
    BATCH studies an association; a batch is sent only once the test allows its studies."""

    storescu: str
    folder: Path
    allowed: int = 0
    taken: int = 0
    done: list[int] = field(default_factory=list)  # studies whose batch storescu finished sending
    failed: list[str] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def allow(self, studies: int) -> None:
        with self.lock:
            self.allowed = max(self.allowed, studies)
            self.lock.notify_all()

    def studies_in(self) -> int:
        with self.lock:
            return len(self.done)

    def acknowledged(self) -> set[str]:
        """The images of every batch sent (the listener answers only once an image is indexed)."""
        with self.lock:
            return {_sop(study, number) for study in self.done for number in _numbers(study)}

    def send(self, port: int, called_ae: str) -> None:
        while (first := self._take()) is not None:
            studies = range(first, first + BATCH)
            files = [self._written(study, number) for study in studies for number in _numbers(study)]
            sent = subprocess.run(
                [self.storescu, '-aet', SCU_AE, '-aec', called_ae, '127.0.0.1', str(port), *map(str, files)],
                capture_output=True,
                text=True,
                timeout=PUSH_S,
                check=False,
            )
            with self.lock:
                if sent.returncode or 'Store Failed' in sent.stdout + sent.stderr:
                    self.failed.append(f'studies {first}-{first + BATCH - 1}: {sent.stdout[-300:]}{sent.stderr[-300:]}')
                    return
                self.done.extend(studies)
                self.lock.notify_all()

    def _take(self) -> int | None:
        with self.lock:
            self.lock.wait_for(lambda: self.taken + BATCH <= self.allowed or self.taken >= STUDIES, timeout=PUSH_S)
            if self.taken >= STUDIES or self.taken + BATCH > self.allowed:
                return None
            self.taken += BATCH
            return self.taken - BATCH

    def _written(self, study: int, number: int) -> Path:
        path = self.folder / f'{study}-{number}.dcm'
        _image(study, number).save_as(path, enforce_file_format=True)
        return path


@dataclass
class _Overlap:
    """Backups that read their snapshot while the push goes on: after the study table is read, the push may go
    further and the snapshot waits until more images are committed before reading series and images."""

    push: _Push
    clinic: Clinic
    monkeypatch: pytest.MonkeyPatch
    allow_next: int = 0
    arrived_meanwhile: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        real_rows = backup_snapshot.rows

        def rows_while_images_arrive(connection: Any, table: Any) -> Iterator[dict[str, Any]]:
            yield from real_rows(connection, table)
            if table.name == Study.__tablename__:
                committed = _instance_rows()
                self.push.allow(self.allow_next)
                wait_until(
                    lambda: _instance_rows() >= committed + 20 or self.push.failed,
                    'images committed while the snapshot is read',
                    timeout=PUSH_S,
                )
                self.arrived_meanwhile.append(_instance_rows() >= committed + 20)

        self.monkeypatch.setattr(backup_snapshot, 'rows', rows_while_images_arrive)

    def backup(self, kind: str, *, allow: int) -> backup.BackupResult:
        self.allow_next = allow
        return backup.create(self.clinic.data_dir, by=self.clinic.admin.actor, kind=kind, recipient=KEY)


def _numbers(study: int) -> tuple[int, ...]:
    """The images of a study: two for every other study (the second in a series of its own every fourth)."""
    return (1, 2) if study % 2 == 0 else (1,)


def _sop(study: int, number: int) -> str:
    return f'{ROOT}.3.{study}.{number}'


def _image(study: int, number: int) -> Dataset:
    """A 4x4 secondary capture: image `number` of study `study`."""
    series = 2 if number == 2 and study % 4 == 2 else 1
    image = Dataset()
    image.file_meta = FileMetaDataset()
    image.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    image.SOPClassUID = SecondaryCaptureImageStorage
    image.SOPInstanceUID = _sop(study, number)
    image.StudyInstanceUID = f'{ROOT}.1.{study}'
    image.SeriesInstanceUID = f'{ROOT}.2.{study}.{series}'
    image.PatientName = f'Pushed^Patient{study}'
    image.PatientID = f'PUSH{study}'
    image.StudyDate, image.Modality = '20260105', 'OT'
    image.SeriesNumber, image.InstanceNumber = series, number
    image.Rows = image.Columns = 4
    image.SamplesPerPixel, image.PhotometricInterpretation = 1, 'MONOCHROME2'
    image.BitsAllocated, image.BitsStored, image.HighBit, image.PixelRepresentation = 8, 8, 7, 0
    image.PixelData = bytes((study + number + i) % 256 for i in range(16))
    return image


@contextmanager
def _listening(clinic: Clinic) -> Iterator[int]:
    """The clinic's DICOM listener on a free port, PUSHSCU entered as a modality; its port."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    modalities.add(ModalityCreate(ae_title=SCU_AE, host='127.0.0.1', modality='OT'), by=clinic.admin.actor)
    listener = scp.start(clinic.settings, Ingest())
    try:
        yield listener.port
    finally:
        listener.stop()


# ---------------------------------------------------------------- the restored install


@contextmanager
def _fresh_install(backend: str, data_dir: Path) -> Iterator[Path]:
    """An empty install of the same engine, migrated as `main.py restore` does: a database of its own on the
    PostgreSQL server (created here, dropped after), or a new SQLite file in its data directory."""
    data_dir.mkdir()
    name, admin, url = '', None, None
    if backend == 'postgres':
        name = f'pgbackup_{uuid.uuid4().hex[:12]}'
        admin = create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE {name}'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        db.configure(Settings(_env_file=None, data_dir=data_dir, database_url=url))  # type: ignore[call-arg]
        db.upgrade()
        storage.configure(data_dir, min_free_bytes=0)
        yield data_dir
    finally:
        db.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
            admin.dispose()


def _one_more_image(data_dir: Path, *, study: int) -> int:
    """Store one more image of `study` through the ingest pipeline, as an upload; the study's id."""
    upload = data_dir.parent / f'upload-{study}.dcm'
    _image(study, 3).save_as(upload, enforce_file_format=True)
    outcome = Ingest().accept_file(upload, by=modality(SCU_AE))
    assert outcome.result == 'stored' and outcome.study_id, outcome
    return outcome.study_id


def _counts() -> dict[str, int]:
    with db.engine().connect() as connection:
        return backup_snapshot.counts(connection)


def _instance_rows() -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(Instance)).one()


def _counter_mismatches() -> list[str]:
    """Studies and series whose counters (images, series, bytes) differ from the rows they count."""
    wrong = []
    with db.reading() as session:
        images: dict[int, int] = {}
        sizes: dict[int, int] = {}
        for series_id, size in session.exec(select(Instance.series_id, Instance.size_bytes)).all():
            images[series_id] = images.get(series_id, 0) + 1
            sizes[series_id] = sizes.get(series_id, 0) + size
        series_of: dict[int, list[int]] = {}
        for series in session.exec(select(Series)).all():
            series_of.setdefault(series.study_id, []).append(series.id or 0)
            if series.num_instances != images.get(series.id or 0, 0):
                wrong.append(f'series {series.id}: {series.num_instances} counted, {images.get(series.id or 0)} rows')
        for study in session.exec(select(Study)).all():
            own = series_of.get(study.id or 0, [])
            counted = (study.num_series, study.num_instances, study.size_bytes)
            rows = (len(own), sum(images.get(s, 0) for s in own), sum(sizes.get(s, 0) for s in own))
            if counted != rows:
                wrong.append(f'study {study.id}: {counted} counted, {rows} in rows')
    return wrong


def _indexed_files() -> dict[str, tuple[str, str]]:
    """Every indexed image's stored path: its SOP Instance UID and SHA-256."""
    with db.reading() as session:
        rows = session.exec(select(Instance.file_path, Instance.sop_instance_uid, Instance.sha256)).all()
    return {path: (sop, sha256) for path, sop, sha256 in rows}


def _stored_files(data_dir: Path) -> dict[str, str]:
    """Every file of the DICOM store, with its SHA-256."""
    return {
        path.relative_to(data_dir).as_posix(): _sha256(path)
        for path in (data_dir / storage.DICOM).rglob('*.dcm')
        if path.is_file()
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
