"""Studies, Unmatched, Upload and Modalities screens through the simulated user; QIDO-RS over HTTP."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
from nicegui import ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from pydicom.data import get_testdata_file

from dicom import ingest, storage
from domain import clock, db, modalities, patients, reading, studies, users
from domain.models import PatientCreate, Study
from jobs import media
from tests.conftest import Clinic, sign_in

CT = 'CT_small.dcm'


@pytest.fixture(autouse=True)
def _storage(clinic: Clinic) -> None:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    ingest.share(ingest.Ingest())


def arrive(clinic: Clinic, name: str = CT, **changes: object) -> int:
    dataset = pydicom.dcmread(get_testdata_file(name))
    for keyword, value in changes.items():
        setattr(dataset, keyword, value)
    path = clinic.data_dir.parent / f'{name}.in'
    dataset.save_as(path, enforce_file_format=True)
    outcome = ingest.shared().accept_file(path, by=clinic.technician.actor)
    assert outcome.study_id is not None
    return outcome.study_id


def make_ready(study_id: int) -> None:
    clock.advance(timedelta(seconds=5))
    studies.complete_if_quiet(study_id, media.QUIET_SECONDS)
    for series_id in studies_series(study_id):
        media.extract_series_metadata(series_id)
        media.build_series_thumbnail(series_id)


def studies_series(study_id: int) -> list[int]:
    from sqlmodel import select

    from domain.models import Series

    with db.reading() as session:
        return [s or 0 for s in session.exec(select(Series.id).where(Series.study_id == study_id)).all()]


async def test_a_technician_watches_a_study_arrive_and_become_ready(technician: User, clinic: Clinic) -> None:
    await technician.open('/studies')
    await technician.should_see(marker='no-studies')
    study_id = arrive(clinic)
    await technician.should_see('CompressedSamples, CT1', retries=30)
    assert technician.find(marker=f'state-{study_id}').elements.pop().text == 'receiving'
    make_ready(study_id)
    await technician.should_see(marker=f'thumbnail-{studies_series(study_id)[0]}', retries=30)
    assert technician.find(marker=f'state-{study_id}').elements.pop().text == 'ready'
    await technician.should_see('1 series · 1 image')


async def test_a_german_technician_reads_the_counts_and_the_study_date_in_german(screens: User, clinic: Clinic) -> None:
    users.set_language('de', by=clinic.technician.actor)
    await sign_in(screens, clinic.technician)
    study_id = arrive(clinic)
    make_ready(study_id)
    await screens.open('/studies')
    await screens.should_see('1 Serie · 1 Bild', retries=30)
    await screens.should_see('19.01.2004')  # CT_small.dcm: StudyDate 20040119


async def test_a_patient_name_with_html_is_shown_as_text(technician: User, clinic: Clinic) -> None:
    arrive(clinic, PatientName='<b>Bold</b>^Eve')
    await technician.open('/studies')
    await technician.should_see('<b>Bold</b>, Eve')


async def test_the_thumbnail_route_serves_the_png_to_staff_who_may_see_studies(screens: User, clinic: Clinic) -> None:
    study_id = arrive(clinic)
    make_ready(study_id)
    url = f'/studies/thumbnails/{studies_series(study_id)[0]}'
    technician = clinic.technician
    response = await screens.http_client.get(url, auth=(technician.username, technician.password))
    assert response.status_code == 200 and response.content.startswith(b'\x89PNG')
    receptionist = clinic.receptionist
    response = await screens.http_client.get(url, auth=(receptionist.username, receptionist.password))
    assert response.status_code == 403


async def test_a_study_shows_its_short_id_and_is_found_by_it_as_typed(technician: User, clinic: Clinic) -> None:
    wanted = arrive(clinic)
    other = arrive(
        clinic,
        StudyInstanceUID='1.2.826.0.1.3680043.9.5.1',
        SeriesInstanceUID='1.2.826.0.1.3680043.9.5.1.1',
        SOPInstanceUID='1.2.826.0.1.3680043.9.5.2',
    )
    code = studies_get(wanted).short_id
    await technician.open('/studies')
    await technician.should_see(marker=f'short-id-{wanted}')
    assert technician.find(marker=f'short-id-{wanted}').elements.pop().text == code
    await technician.should_see(marker=f'short-id-{other}')
    technician.find(marker='study-search').type(f'{code[:4].lower()} {code[4:]}')
    await technician.should_not_see(marker=f'short-id-{other}', retries=20)
    await technician.should_see(marker=f'short-id-{wanted}')


def studies_get(study_id: int) -> Study:
    with db.reading() as session:
        study = session.get(Study, study_id)
        assert study is not None and study.short_id
        return study


async def test_an_unmatched_study_is_assigned_to_the_right_patient_with_a_search(
    technician: User, clinic: Clinic
) -> None:
    patients.register(
        PatientCreate(family_name='Okafor', given_name='Ada', birth_date='1980-03-04', sex='F'),
        by=clinic.receptionist.actor,
    )
    study_id = arrive(clinic, PatientID='SCANNER-TYPO', AccessionNumber='')
    await technician.open('/unmatched')
    await technician.should_see(marker=f'assign-{study_id}')
    technician.find(marker=f'assign-{study_id}').click()
    await technician.should_see(marker='assign-search')
    technician.find(marker='assign-search').type('Okafor')
    await technician.should_see(marker='patient-choice', retries=20)
    technician.find(marker='patient-choice').click()
    await technician.should_see('Study assigned')
    await technician.should_see(marker='none-unmatched')


async def test_upload_stores_files_and_a_zip_and_reports_every_file(technician: User, clinic: Clinic) -> None:
    await technician.open('/upload')
    ct = Path(get_testdata_file(CT)).read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(get_testdata_file('MR_small.dcm'), 'study/IM0001')
        bundle.write(get_testdata_file('DICOMDIR'), 'DICOMDIR')
        bundle.writestr('readme.txt', 'not an image')
    files = [
        SmallFileUpload('ct.dcm', 'application/dicom', ct),
        SmallFileUpload('again.dcm', 'application/dicom', ct),
        SmallFileUpload('folder.zip', 'application/zip', archive.getvalue()),
        SmallFileUpload('notes.pdf', 'application/pdf', b'%PDF-1.4 not dicom'),
    ]
    upload = technician.find(ui.upload).elements.pop()
    await upload.handle_uploads(files)
    await technician.should_see(marker='upload-summary')
    await technician.should_see('already stored')
    await technician.should_see('folder.zip: study/IM0001')
    await technician.should_see('not a DICOM file')
    await technician.should_see('2 images stored')  # the notice once every file is done (readme.txt is refused first)
    summary = technician.find(marker='upload-summary').elements.pop().text
    assert 'stored: 2' in summary and 'refused: 2' in summary and 'duplicate: 1' in summary
    assert 'index: 1' in summary
    assert len(storage.stored_files()) == 2


async def test_a_file_without_a_meta_header_is_stored_with_one(technician: User, clinic: Clinic) -> None:
    await technician.open('/upload')
    raw = Path(get_testdata_file('ExplVR_BigEndNoMeta.dcm')).read_bytes()
    upload = technician.find(ui.upload).elements.pop()
    await upload.handle_uploads([SmallFileUpload('plan', '', raw)])
    await technician.should_see('stored: 1')
    stored = storage.stored_files()
    assert len(stored) == 1 and pydicom.dcmread(stored[0]).file_meta.TransferSyntaxUID


async def test_a_zip_bomb_is_refused_without_unpacking(technician: User, clinic: Clinic) -> None:
    await technician.open('/upload')
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr('zeros.dcm', b'\x00' * (64 * 1024 * 1024))
    upload = technician.find(ui.upload).elements.pop()
    await upload.handle_uploads([SmallFileUpload('bomb.zip', 'application/zip', archive.getvalue())])
    await technician.should_see('zip bomb')
    assert storage.stored_files() == []


async def test_an_admin_enters_a_modality(admin: User) -> None:
    await admin.open('/admin/modalities')
    await admin.should_see(marker='no-modalities')
    admin.find(marker='add-modality').click()
    await admin.should_see(marker='ae-title')
    admin.find(marker='ae-title').type('US_ROOM2')
    admin.find(marker='host').type('10.1.1.20')
    admin.find(marker='save-modality').click()
    await admin.should_see(marker='modality-ae-title', content='US_ROOM2')  # its onboarding page opens
    assert modalities.is_allowed('US_ROOM2')
    await admin.open('/admin/modalities')
    await admin.should_see(marker='modality-US_ROOM2')


async def test_a_bad_ae_title_is_refused_with_a_reason_and_the_form_kept(admin: User) -> None:
    await admin.open('/admin/modalities')
    admin.find(marker='add-modality').click()
    await admin.should_see(marker='ae-title')
    admin.find(marker='ae-title').type('BAD\\AE')
    admin.find(marker='host').type('scanner')
    admin.find(marker='save-modality').click()
    await admin.should_see('printable ASCII')
    assert admin.find(marker='ae-title').elements.pop().value == 'BAD\\AE'


async def test_qido_finds_studies_series_and_instances_with_basic_auth(screens: User, clinic: Clinic) -> None:
    study_id = arrive(clinic)
    make_ready(study_id)
    arrive(clinic, 'MR_small.dcm')
    auth = (clinic.radiologist.username, clinic.radiologist.password)
    found = (
        await screens.http_client.get('/dicomweb/studies?PatientName=compressed*&ModalitiesInStudy=CT', auth=auth)
    ).json()
    assert len(found) == 1 and found[0]['00100010']['Value'] == [{'Alphabetic': 'CompressedSamples^CT1'}]
    uid = found[0]['0020000D']['Value'][0]
    assert found[0]['00201208']['Value'] == [1]
    series = (await screens.http_client.get(f'/dicomweb/studies/{uid}/series', auth=auth)).json()
    assert series[0]['00080060']['Value'] == ['CT']
    series_uid = series[0]['0020000E']['Value'][0]
    instances = await screens.http_client.get(
        f'/dicomweb/studies/{uid}/series/{series_uid}/instances?includefield=Manufacturer', auth=auth
    )
    assert instances.headers['content-type'].startswith('application/dicom+json')
    assert instances.json()[0]['00080070']['Value'] == ['GE MEDICAL SYSTEMS']
    by_date = (await screens.http_client.get('/dicomweb/studies?StudyDate=20040101-20041231', auth=auth)).json()
    assert len(by_date) == 2
    assert (await screens.http_client.get('/dicomweb/studies?00100020=nobody', auth=auth)).json() == []
    assert (await screens.http_client.get('/dicomweb/studies')).status_code == 401
    reception = (clinic.receptionist.username, clinic.receptionist.password)
    assert (await screens.http_client.get('/dicomweb/studies', auth=reception)).status_code == 403
    assert (await screens.http_client.get('/dicomweb/studies?limit=x', auth=auth)).status_code == 400


def _multipart(*parts: bytes, boundary: str = 'clinicpacs-boundary') -> tuple[bytes, dict[str, str]]:
    body = (
        b''.join(
            b'--' + boundary.encode() + b'\r\nContent-Type: application/dicom\r\n\r\n' + part + b'\r\n'
            for part in parts
        )
        + b'--'
        + boundary.encode()
        + b'--\r\n'
    )
    return body, {'Content-Type': f'multipart/related; type="application/dicom"; boundary={boundary}'}


async def test_stow_rs_stores_each_part_and_names_the_ones_it_refused(screens: User, clinic: Clinic) -> None:
    body, headers = _multipart(Path(get_testdata_file(CT)).read_bytes(), b'not a dicom file at all')
    auth = (clinic.technician.username, clinic.technician.password)
    response = await screens.http_client.post('/dicomweb/studies', content=body, headers=headers, auth=auth)
    assert response.status_code == 202, response.text
    answer = response.json()
    stored_uid = pydicom.dcmread(get_testdata_file(CT)).SOPInstanceUID
    assert answer['00081199']['Value'][0]['00081155']['Value'] == [stored_uid]
    assert answer['00081198']['Value'][0]['00081197']['Value'] == [0xC000]
    assert len(storage.stored_files()) == 1
    radiologist = (clinic.radiologist.username, clinic.radiologist.password)
    refused = await screens.http_client.post('/dicomweb/studies', content=body, headers=headers, auth=radiologist)
    assert refused.status_code == 403
    wrong = await screens.http_client.post(
        '/dicomweb/studies', content=b'x', auth=auth, headers={'Content-Type': 'application/json'}
    )
    assert wrong.status_code == 415


async def test_dicomweb_answers_json_for_unknown_paths_and_406_for_what_it_cannot_serve(
    screens: User, clinic: Clinic
) -> None:
    auth = (clinic.technician.username, clinic.technician.password)
    unknown = await screens.http_client.get('/dicomweb/no-such-resource', auth=auth)
    assert unknown.status_code == 404
    assert unknown.headers['content-type'].startswith('application/json') and unknown.json()['detail']
    page = await screens.http_client.get('/no-such-screen')
    assert page.status_code == 404 and page.headers['content-type'].startswith('text/html')  # the web UI's own page
    for accept in ('application/dicom+json', 'application/json', '*/*', 'image/png, application/dicom+json;q=0.5'):
        answer = await screens.http_client.get('/dicomweb/studies', auth=auth, headers={'Accept': accept})
        assert answer.status_code == 200, accept
    for accept in ('image/png', 'application/dicom+xml', 'application/dicom+json;q=0'):
        refused = await screens.http_client.get('/dicomweb/studies', auth=auth, headers={'Accept': accept})
        assert refused.status_code == 406, accept


async def test_qido_answers_400_for_a_date_or_number_it_cannot_read(screens: User, clinic: Clinic) -> None:
    auth = (clinic.technician.username, clinic.technician.password)
    for query in ('StudyDate=yesterday', 'StudyDate=20261301', 'StudyDate=-', 'PatientBirthDate=1990-01-01'):
        refused = await screens.http_client.get(f'/dicomweb/studies?{query}', auth=auth)
        assert refused.status_code == 400, query
        assert refused.json()['detail']
    refused = await screens.http_client.get('/dicomweb/series?SeriesNumber=two', auth=auth)
    assert refused.status_code == 400
    for query in ('StudyDate=20261201', 'StudyDate=20261101-', 'StudyDate=-20261201', 'StudyDate=20261101-20261201'):
        assert (await screens.http_client.get(f'/dicomweb/studies?{query}', auth=auth)).status_code == 200, query
    assert (await screens.http_client.get('/dicomweb/series?SeriesNumber=2', auth=auth)).status_code == 200


async def test_an_urgent_study_carries_its_badge_in_the_list(technician: User, clinic: Clinic) -> None:
    study_id = arrive(clinic)
    await technician.open('/studies')
    await technician.should_see(marker=f'study-{study_id}')
    await technician.should_not_see(marker=f'urgent-{study_id}')
    reading.set_urgent(study_id, True, by=clinic.radiologist.actor)
    await technician.open('/studies')
    await technician.should_see(marker=f'urgent-{study_id}')
