"""Encryption at rest with the real pipeline: images C-STOREd (and uploaded) are sealed on disk from their first
byte, yet the viewer's rendered frame, WADO-RS, thumbnails and the report PDF give what was sent."""

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from nicegui.testing import User
from sqlmodel import select

from dicom import commitment as dicom_commitment
from dicom import dicom_json, pixel_frames, render, storage, uploads, wado
from dicom import ingest as ingest_module
from dicom.ingest import Ingest
from domain import at_rest, backup, db, reporting, sealed, work
from domain import commitment as domain_commitment
from domain.access import Actor, modality, system
from domain.models import Instance, Series
from jobs import media
from jobs.reports import render_report_pdf
from tests.conftest import Clinic
from tests.dicom.conftest import Pacs, sample, send
from tests.domain.test_backup import wipe
from tests.report_fixtures import final_report, make_study
from tests.ui.conftest import screens  # noqa: F401 - pages on the simulated user
from tests.viewer.studies import ingest

CT = 'CT_small.dcm'  # patient CompressedSamples^CT1
PATIENT_NAME = b'CompressedSamples^CT1'


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    folder = tmp_path / 'elsewhere'  # beside the data directory, not in it: another disk in a real clinic
    folder.mkdir()
    return folder / 'at-rest.key'


@pytest.fixture
def sealed_store(clinic: Clinic, key_file: Path) -> Iterator[Path]:
    """Encryption at rest on for the clinic's data directory (a key file made on this first start)."""
    storage.configure(clinic.data_dir)
    reporting.configure(clinic.data_dir)
    at_rest.configure(clinic.data_dir, encrypt=True, key_file=key_file)
    _forget_caches()
    yield key_file
    at_rest.forget()
    _forget_caches()


def _forget_caches() -> None:
    wado.frames.clear()
    wado.sources.clear()
    pixel_frames.forget_layouts()
    dicom_json.cache.clear()


def _instance(sop_instance_uid: str) -> Instance:
    with db.reading() as session:
        return session.exec(select(Instance).where(Instance.sop_instance_uid == sop_instance_uid)).one()


def _looks_plain(data: bytes) -> bool:
    return data[128:132] == b'DICM' or PATIENT_NAME in data


def test_a_c_stored_image_is_sealed_on_disk_and_reads_back_as_sent(sealed_store: Path, pacs: Pacs) -> None:
    original = pydicom.dcmread(sample(CT))
    assert send(pacs, original) == [0x0000]
    row = _instance(original.SOPInstanceUID)
    on_disk = storage.absolute(row.file_path).read_bytes()
    assert on_disk.startswith(sealed.MAGIC)
    assert not _looks_plain(on_disk)
    assert bytes(original.PixelData[:64]) not in on_disk
    plain = storage.read_file(row.file_path)
    assert hashlib.sha256(plain).hexdigest() == row.sha256  # the index keeps the checksum of what was sent
    assert row.size_bytes == len(plain)
    assert pydicom.dcmread(storage.open_file(row.file_path)).PatientName == original.PatientName
    with storage.open_file(row.file_path) as reader:  # random access: the pixel data from its offset
        reader.seek(-64, 2)
        assert reader.read() == plain[-64:]


async def test_viewer_wado_thumbnail_and_pdf_work_on_sealed_files(
    sealed_store: Path,
    screens: User,  # noqa: F811
    clinic: Clinic,
) -> None:
    study = ingest(clinic, sample(CT))  # an upload: the same pipeline, sealed as well
    original = pydicom.dcmread(sample(CT))
    row = _instance(original.SOPInstanceUID)
    assert not _looks_plain(storage.absolute(row.file_path).read_bytes())
    auth = (clinic.radiologist.username, clinic.radiologist.password)
    base = f'/dicomweb/studies/{study.study_instance_uid}/series/{original.SeriesInstanceUID}'
    base += f'/instances/{original.SOPInstanceUID}'

    frame = await screens.http_client.get(f'{base}/frames/1/rendered', auth=auth)
    assert frame.status_code == 200
    expected = render.render(render.decode(sample(CT), 1), media='jpeg')  # the same frame read from the plain file
    assert frame.content == expected

    retrieved = await screens.http_client.get(
        base, auth=auth, headers={'Accept': 'multipart/related; type="application/dicom"; transfer-syntax=*'}
    )
    assert retrieved.status_code == 200
    assert storage.read_file(row.file_path) in retrieved.content  # the stored file's bytes, whole
    pixels = await screens.http_client.get(f'{base}/frames/1', auth=auth)
    assert pixels.status_code == 200 and bytes(original.PixelData) in pixels.content
    metadata = await screens.http_client.get(f'{base}/metadata', auth=auth)
    assert metadata.status_code == 200 and metadata.json()[0]['00100010']['Value'] == [
        {'Alphabetic': 'CompressedSamples^CT1'}
    ]
    for cached in (clinic.data_dir / dicom_json.CACHE_DIR).rglob('*.json'):
        assert PATIENT_NAME not in cached.read_bytes()  # the header cache is sealed too

    with db.reading() as session:
        series = session.exec(select(Series).where(Series.series_instance_uid == original.SeriesInstanceUID)).one()
    media.build_series_thumbnail(series.id or 0)
    with db.reading() as session:
        thumbnail_path = session.get(Series, series.id).thumbnail_path  # type: ignore[union-attr]
    assert thumbnail_path
    assert not storage.absolute(thumbnail_path).read_bytes().startswith(b'\x89PNG')
    thumbnail = await screens.http_client.get(f'/studies/thumbnails/{series.id}', auth=auth)
    assert thumbnail.status_code == 200 and thumbnail.content.startswith(b'\x89PNG')

    report_id = final_report(make_study(), clinic.radiologist.actor)
    render_report_pdf(work.unfinished()[0].id or 0)
    stored_pdf = reporting.pdf_file(report_id, by=clinic.radiologist.actor)
    assert not stored_pdf.read_bytes().startswith(b'%PDF')
    pdf = await screens.http_client.get(f'/reports/{report_id}/pdf', auth=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b'%PDF')


async def test_a_store_that_turned_encryption_on_later_reads_old_and_new_files(
    clinic: Clinic,
    key_file: Path,
    screens: User,  # noqa: F811
) -> None:
    storage.configure(clinic.data_dir)
    at_rest.forget()
    old = ingest(clinic, sample(CT))
    at_rest.configure(clinic.data_dir, encrypt=True, key_file=key_file)
    try:
        new = ingest(clinic, sample('MR_small.dcm'))
        auth = (clinic.radiologist.username, clinic.radiologist.password)
        for study, name in ((old, CT), (new, 'MR_small.dcm')):
            original = pydicom.dcmread(sample(name))
            row = _instance(original.SOPInstanceUID)
            assert storage.absolute(row.file_path).read_bytes().startswith(sealed.MAGIC) is (study is new)
            url = f'/dicomweb/studies/{study.study_instance_uid}/series/{original.SeriesInstanceUID}'
            answer = await screens.http_client.get(
                f'{url}/instances/{original.SOPInstanceUID}/frames/1/rendered', auth=auth
            )
            assert answer.status_code == 200, name
            assert hashlib.sha256(storage.read_file(row.file_path)).hexdigest() == row.sha256
    finally:
        at_rest.forget()
        _forget_caches()


def test_an_uploaded_zip_is_unpacked_into_sealed_scratch_files(
    sealed_store: Path, clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / 'cd.zip'
    with zipfile.ZipFile(archive, 'w') as zipped:
        for name in (CT, 'MR_small.dcm'):
            zipped.write(sample(name), name)
    handed_over: list[bytes] = []
    accept_file = Ingest.accept_file

    def watched(self: Ingest, path: Path, *, by: Actor) -> ingest_module.Outcome:
        handed_over.append(path.read_bytes()[:200])  # what lies on disk while it is stored
        return accept_file(self, path, by=by)

    monkeypatch.setattr(Ingest, 'accept_file', watched)
    results = uploads.process(archive, 'cd.zip', Ingest(), by=modality('TESTSCU'))
    assert [result.result for result in results] == ['stored', 'stored']
    assert len(handed_over) == 2 and all(head.startswith(sealed.MAGIC) for head in handed_over)
    for name in (CT, 'MR_small.dcm'):
        row = _instance(pydicom.dcmread(sample(name)).SOPInstanceUID)
        assert storage.read_file(row.file_path)[128:132] == b'DICM'
        assert storage.absolute(row.file_path).read_bytes()[128:132] != b'DICM'


def test_a_sealed_file_damaged_on_disk_is_never_confirmed_by_storage_commitment(
    sealed_store: Path, clinic: Clinic
) -> None:
    ingest(clinic, sample(CT))
    row = _instance(pydicom.dcmread(sample(CT)).SOPInstanceUID)
    indexed = domain_commitment.Indexed(row.sop_class_uid, row.file_path, row.sha256)
    assert dicom_commitment._file_problem(indexed) is None
    path = storage.absolute(row.file_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of the pixel data, as a failing disk would
    path.write_bytes(bytes(data))
    assert dicom_commitment._file_problem(indexed) == domain_commitment.PROCESSING_FAILURE
    with pytest.raises(render.RenderError):
        render.decode(path)


def test_without_a_key_a_stored_file_is_opened_plain(clinic: Clinic) -> None:
    at_rest.forget()
    storage.configure(clinic.data_dir)
    (clinic.data_dir / 'dicom' / 'plain.dcm').write_bytes(b'DICM')
    with storage.open_file('dicom/plain.dcm') as reader:
        assert isinstance(reader, io.BufferedReader)  # nothing between the reader and the file


def test_a_backup_of_an_encrypted_store_restores_files_that_stay_sealed_and_read_back(
    sealed_store: Path, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sealed, 'SCRYPT_LOG_N', 10)
    ingest(clinic, sample(CT))
    row = _instance(pydicom.dcmread(sample(CT)).SOPInstanceUID)
    plain = storage.read_file(row.file_path)
    passphrase = sealed.Passphrase('backup passphrase')
    made = backup.create(clinic.data_dir, by=clinic.admin.actor, recipient=passphrase)
    wipe(clinic.data_dir)
    at_rest.configure(clinic.data_dir, encrypt=True, key_file=sealed_store)  # the empty install starts: a new data key
    backup.restore(made.path, clinic.data_dir, by=system('console'), identity=passphrase)
    assert storage.absolute(row.file_path).read_bytes().startswith(sealed.MAGIC)  # never in the clear, even here
    # the running process reads them at once: restore loaded the restored wrapped data key (same key file)
    assert storage.read_file(row.file_path) == plain
