"""Study export: a zip with a DICOMDIR (patient CD/USB), byte-identical or de-identified (PS3.15 Basic Profile)."""

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from sqlmodel import select

from dicom import export as study_export
from dicom import ingest, storage
from domain import clock, db, viewing
from domain import export as exports
from domain.errors import InvalidInput, NotAllowed
from domain.export import ExportRequest
from domain.models import AuditEvent, Instance, Report, Series
from tests.conftest import Clinic, need_tool
from tests.report_fixtures import template_id

NAME, PATIENT_ID, BIRTH, ACCESSION, INSTITUTION = 'Kowalska^Zofia', 'PID-778899', '19610203', 'ACC99123', 'Glenview'
COMPONENT = re.compile(r'^[A-Z0-9_]{1,8}$')


@pytest.fixture
def study(clinic: Clinic, tmp_path: Path) -> int:
    """Two CT series of two images each; the second image of each refers to the first; a private tag, nested names."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    pipeline = ingest.Ingest()
    study_uid = generate_uid()
    study_id = 0
    for series_number in (1, 2):
        series_uid = generate_uid()
        first_uid = ''
        for number in (1, 2):
            dataset = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
            dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, series_uid
            dataset.SOPInstanceUID = generate_uid()
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            dataset.SeriesNumber, dataset.InstanceNumber = series_number, number
            dataset.PatientName, dataset.PatientID, dataset.PatientBirthDate = NAME, PATIENT_ID, BIRTH
            dataset.AccessionNumber, dataset.InstitutionName = ACCESSION, INSTITUTION
            dataset.FrameOfReferenceUID = generate_uid()
            other = Dataset()
            other.PatientID, other.IssuerOfPatientID = PATIENT_ID, INSTITUTION
            dataset.OtherPatientIDsSequence = Sequence([other])
            request = Dataset()
            request.AccessionNumber, request.RequestedProcedureID = ACCESSION, 'RP1'
            request.StudyInstanceUID = study_uid
            dataset.RequestAttributesSequence = Sequence([request])
            observer = Dataset()
            observer.ValueType, observer.PersonName = 'PNAME', NAME
            dataset.ContentSequence = Sequence([observer])
            dataset.add_new(0x00090010, 'LO', 'ACME')
            dataset.add_new(0x00091001, 'LO', NAME)
            if first_uid:
                reference = Dataset()
                reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = dataset.SOPClassUID, first_uid
                dataset.ReferencedImageSequence = Sequence([reference])
            first_uid = dataset.SOPInstanceUID
            path = tmp_path / f'{series_number}-{number}.dcm'
            dataset.save_as(path, enforce_file_format=True)
            outcome = pipeline.accept_file(path, by=clinic.technician.actor)
            study_id = outcome.study_id or 0
    return study_id


def export(clinic: Clinic, request: ExportRequest) -> tuple[zipfile.ZipFile, study_export.StudyZip]:
    plan = exports.prepare(request, by=clinic.radiologist.actor)
    written = study_export.StudyZip(plan)
    data = b''.join(written.chunks())
    return zipfile.ZipFile(io.BytesIO(data)), written


def unpack(archive: zipfile.ZipFile, folder: Path) -> Path:
    archive.extractall(folder)
    return folder


def stored(study_id: int) -> dict[str, bytes]:
    with db.reading() as session:
        rows = session.exec(select(Instance).join(Series).where(Series.study_id == study_id)).all()
    return {row.sop_instance_uid: storage.read_file(row.file_path) for row in rows}


def every_element(dataset: Dataset) -> Iterator[pydicom.DataElement]:
    for element in dataset:
        yield element
        if element.VR == 'SQ':
            for item in element.value:
                yield from every_element(item)


def test_the_zip_holds_a_dicomdir_that_references_every_image_byte_for_byte(
    clinic: Clinic, study: int, tmp_path: Path
) -> None:
    archive, written = export(clinic, ExportRequest(study))
    root = unpack(archive, tmp_path / 'cd')

    dicomdir = pydicom.dcmread(root / 'DICOMDIR')
    assert dicomdir.file_meta.MediaStorageSOPClassUID == '1.2.840.10008.1.3.10'  # Media Storage Directory Storage
    file_set = FileSet(dicomdir)
    referenced = {Path(instance.path).relative_to(root).as_posix() for instance in file_set}
    images = {name for name in archive.namelist() if name.startswith('DICOM/')}
    assert referenced == images and len(images) == 4
    assert all(COMPONENT.match(part) for name in images for part in name.split('/'))
    originals = stored(study)
    for instance in file_set:
        assert Path(instance.path).read_bytes() == originals[instance.SOPInstanceUID]
    assert {r.DirectoryRecordType for r in dicomdir.DirectoryRecordSequence} == {'PATIENT', 'STUDY', 'SERIES', 'IMAGE'}
    assert not written.work.exists(), 'the scratch folder is removed'
    assert not list((clinic.data_dir / 'tmp').iterdir())


def test_dcmtk_reads_the_dicomdir(clinic: Clinic, study: int, tmp_path: Path) -> None:
    dcmdump = need_tool('dcmdump')
    archive, _ = export(clinic, ExportRequest(study))
    root = unpack(archive, tmp_path / 'cd')
    dumped = subprocess.run([dcmdump, str(root / 'DICOMDIR')], capture_output=True, text=True, check=True, timeout=60)
    assert dumped.stdout.count('ReferencedFileID') == 4
    assert 'DICOM\\PT000000\\ST000000\\SE000000\\IM000000' in dumped.stdout
    for instance in FileSet(root / 'DICOMDIR'):
        subprocess.run([dcmdump, '-q', instance.path], capture_output=True, check=True, timeout=60)
    dciodvfy = shutil.which('dciodvfy')  # dicom3tools, where installed: the DICOMDIR against PS3.3 F (Basic Directory)
    if dciodvfy:
        checked = subprocess.run(
            [dciodvfy, str(root / 'DICOMDIR')], capture_output=True, text=True, timeout=60, check=False
        )
        assert not [line for line in (checked.stdout + checked.stderr).splitlines() if line.startswith('Error')]


def test_a_deidentified_export_keeps_no_identity_and_replaces_uids_consistently(
    clinic: Clinic, study: int, tmp_path: Path
) -> None:
    archive, _ = export(clinic, ExportRequest(study, deidentify=True))
    root = unpack(archive, tmp_path / 'cd')
    originals = {uid: pydicom.dcmread(io.BytesIO(data)) for uid, data in stored(study).items()}
    old_uids = {str(e.value) for d in originals.values() for e in every_element(d) if e.VR == 'UI'}
    old_uids -= {str(d.SOPClassUID) for d in originals.values()}
    secrets = [NAME, 'Kowalska', PATIENT_ID, BIRTH, ACCESSION, INSTITUTION]

    file_set = FileSet(root / 'DICOMDIR')
    datasets = {str(instance.SOPInstanceUID): pydicom.dcmread(instance.path) for instance in file_set}
    assert len(datasets) == 4
    for dataset in [*datasets.values(), pydicom.dcmread(root / 'DICOMDIR')]:
        for element in every_element(dataset):
            text = str(element.value)
            assert not any(secret in text for secret in secrets), f'{element.keyword} still holds {text!r}'
            assert not element.tag.is_private
            if element.VR == 'UI' and element.value:
                assert str(element.value) not in old_uids, f'{element.keyword} kept its UID'
    for dataset in datasets.values():
        assert dataset.PatientIdentityRemoved == 'YES'
        assert dataset.file_meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
        assert dataset.DeidentificationMethodCodeSequence[0].CodeValue == '113100'
    assert len({d.StudyInstanceUID for d in datasets.values()}) == 1
    assert len({d.SeriesInstanceUID for d in datasets.values()}) == 2
    assert len({d.PatientID for d in datasets.values()}) == 1
    references = [
        d.ReferencedImageSequence[0].ReferencedSOPInstanceUID
        for d in datasets.values()
        if 'ReferencedImageSequence' in d
    ]
    assert len(references) == 2 and all(uid in datasets for uid in references), 'references point inside the export'
    by_series = {d.SeriesInstanceUID: d for d in datasets.values() if 'ReferencedImageSequence' not in d}
    for dataset in datasets.values():
        if 'ReferencedImageSequence' in dataset:
            first = by_series[dataset.SeriesInstanceUID]
            assert dataset.ReferencedImageSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
        assert 'RequestAttributesSequence' not in dataset  # X in Table E.1-1, with the accession number in it
        assert dataset.ContentSequence[0].PersonName != NAME
    assert (next(iter(datasets.values())).pixel_array == next(iter(originals.values())).pixel_array).all()


def test_chosen_series_or_key_images_only(clinic: Clinic, study: int) -> None:
    choices = exports.choices(study, by=clinic.radiologist.actor)
    first, second = choices.series
    archive, _ = export(clinic, ExportRequest(study, series_ids=(second.id,)))
    assert len([n for n in archive.namelist() if n.startswith('DICOM/')]) == 2

    with db.reading() as session:
        instance = session.exec(select(Instance).where(Instance.series_id == first.id)).first()
    assert instance is not None
    viewing.set_key_image(study, instance.id or 0, 1, True, by=clinic.radiologist.actor)
    archive, _ = export(clinic, ExportRequest(study, key_images_only=True))
    names = [n for n in archive.namelist() if n.startswith('DICOM/')]
    assert len(names) == 1
    assert archive.read(names[0]) == storage.read_file(instance.file_path)


def test_the_export_is_audited_with_what_it_held(clinic: Clinic, study: int) -> None:
    export(clinic, ExportRequest(study, deidentify=True))
    with db.reading() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == 'study.export')).one()
    assert event.username == clinic.radiologist.username and event.object_id == str(study)
    assert event.detail['deidentified'] is True and event.detail['instances'] == 4 and event.detail['report'] is None


def test_the_signed_report_goes_in_only_when_not_deidentified(clinic: Clinic, study: int) -> None:
    with pytest.raises(InvalidInput):
        exports.prepare(ExportRequest(study, deidentify=True, include_report=True), by=clinic.radiologist.actor)
    pdf = storage.replace_atomically('reports/1/report.pdf', b'%PDF-1.7 a report')
    with db.transaction() as session:
        report = Report(
            study_id=study,
            template_id=template_id('us-abdomen'),
            state='final',
            author_id=clinic.radiologist.user_id,
            pdf_path='reports/1/report.pdf',
            pdf_rendered_at=clock.now(),
        )
        session.add(report)
    assert pdf.is_file()
    archive, _ = export(clinic, ExportRequest(study, include_report=True))
    assert archive.read('REPORT.PDF') == b'%PDF-1.7 a report'


def test_a_receptionist_may_not_export(clinic: Clinic, study: int) -> None:
    with pytest.raises(NotAllowed):
        exports.prepare(ExportRequest(study), by=clinic.receptionist.actor)


def test_pydicom_stages_the_directory_stand_ins_in_our_scratch_folder(clinic: Clinic, study: int) -> None:
    plan = exports.prepare(ExportRequest(study), by=clinic.technician.actor)
    written = study_export.StudyZip(plan)
    staged = study_export._StagedFileSet(written.work / 'staged')  # the pydicom internal dicom/export.py relies on
    header = pydicom.dcmread(get_testdata_file('CT_small.dcm'), stop_before_pixels=True)
    assert Path(staged.add(header).path).parent == written.work / 'staged'
    written.close()
    assert not written.work.exists()


def test_burned_in_text_is_flagged_when_said_or_unknown_for_ultrasound_and_secondary_capture() -> None:
    assert exports.burned_in('CT', '1.2.840.10008.5.1.4.1.1.2', 'YES') == 'yes'
    assert exports.burned_in('US', '1.2.840.10008.5.1.4.1.1.6.1', None) == 'unknown'
    assert exports.burned_in('OT', '1.2.840.10008.5.1.4.1.1.7', None) == 'unknown'
    assert exports.burned_in('US', '1.2.840.10008.5.1.4.1.1.6.1', 'NO') == 'no'
    assert exports.burned_in('CT', '1.2.840.10008.5.1.4.1.1.2', None) == 'no'
