"""The study card's Export… dialog through the simulated user: choices, warnings, and a real zip download."""

import io
import zipfile

import pydicom
import pytest
from nicegui.testing import User
from pydicom.data import get_testdata_file

from dicom import ingest, storage
from jobs import media
from tests.conftest import Clinic

CT, SECONDARY_CAPTURE = 'CT_small.dcm', 'SC_rgb_small_odd.dcm'


@pytest.fixture(autouse=True)
def _storage(clinic: Clinic) -> None:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    ingest.share(ingest.Ingest())


def arrive(clinic: Clinic, name: str, **changes: object) -> tuple[int, int]:
    """An image stored and its series' metadata extracted (as the media job does); (study id, series id)."""
    dataset = pydicom.dcmread(get_testdata_file(name))
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    path = clinic.data_dir.parent / f'{name}.in'
    dataset.save_as(path, enforce_file_format=True)
    outcome = ingest.shared().accept_file(path, by=clinic.technician.actor)
    assert outcome.study_id is not None and outcome.instance_id is not None
    from domain import db
    from domain.models import Instance

    with db.reading() as session:
        instance = session.get(Instance, outcome.instance_id)
        assert instance is not None
        series_id = instance.series_id
    media.extract_series_metadata(series_id)
    return outcome.study_id, series_id


async def test_a_radiologist_downloads_a_study_as_a_zip_with_a_dicomdir(radiologist: User, clinic: Clinic) -> None:
    study_id, _ = arrive(clinic, CT)
    await radiologist.open('/studies')
    await radiologist.should_see(marker=f'export-{study_id}')
    radiologist.find(marker=f'export-{study_id}').click()
    await radiologist.should_see(marker='export-dialog')
    radiologist.find(marker='export-download').click()
    response = await radiologist.download.next(timeout=20)
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/zip'
    assert f'study-{study_id}.zip' in response.headers['content-disposition']
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert 'DICOMDIR' in archive.namelist()
    assert len([name for name in archive.namelist() if name.startswith('DICOM/')]) == 1


async def test_de_identifying_warns_of_burned_in_text_and_leaves_the_report_out(
    technician: User, clinic: Clinic
) -> None:
    study_id, _ = arrive(clinic, SECONDARY_CAPTURE)  # secondary capture without Burned In Annotation: unknown
    await technician.open('/studies')
    await technician.should_see(marker=f'export-{study_id}')
    technician.find(marker=f'export-{study_id}').click()
    await technician.should_see(marker='export-dialog')
    await technician.should_not_see(marker='export-burned-in')
    technician.find(marker='export-deidentify').click()
    await technician.should_see(marker='export-burned-in')
    (report,) = technician.find(marker='export-report').elements
    assert not report.enabled, 'a de-identified export cannot carry the report'
    technician.find(marker='export-download').click()
    response = await technician.download.next(timeout=20)
    assert response.status_code == 200
    assert 'deidentified' in response.headers['content-disposition']
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    (name,) = [name for name in archive.namelist() if name.startswith('DICOM/')]
    exported = pydicom.dcmread(io.BytesIO(archive.read(name)))
    assert exported.PatientIdentityRemoved == 'YES'
    assert 'REPORT.PDF' not in archive.namelist()
