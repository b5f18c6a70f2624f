"""WADO-RS with a third-party client: dicomweb-client against `main.py serve`, every resource, real files.

The images (a JPEG baseline colour image, an explicit VR big endian MR, a two-frame US loop, a ten-frame JPEG 2000
MR and a three-image CT series) are C-STOREd into the served ClinicPACS with fresh UIDs; what comes back is
compared with pydicom's own reading of the original files.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from nicegui.testing import User
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from dicom import accept, dicom_json, storage, wado
from domain import audit, db, events, patients
from domain.models import PatientCreate, Study
from tests.browser.conftest import ADMIN_PASSWORD, Served, served  # noqa: F401 - the served ClinicPACS
from tests.conftest import Clinic, eventually, wait_until
from tests.ui.conftest import screens  # noqa: F401 - pages on the simulated user
from tests.viewer.studies import ingest

FILES = {
    'jpeg': 'SC_rgb_jpeg_dcmtk.dcm',
    'big_endian': 'MR_small_bigendian.dcm',
    'us_cine': 'OBXXXX1A_2frame.dcm',
    'j2k_frames': 'emri_small_jpeg_2k_lossless.dcm',
}
OCTET = (('application/octet-stream', ExplicitVRLittleEndian),)


@dataclass(frozen=True)
class Stored:
    study: str
    series: str
    instance: str
    original: pydicom.Dataset

    @property
    def uids(self) -> tuple[str, str, str]:
        return self.study, self.series, self.instance


@pytest.fixture(scope='module')
def stored(served: Served) -> dict[str, Stored]:  # noqa: F811
    """Each file under its own study (fresh UIDs), and a CT series of three images, C-STOREd into the server."""
    found: dict[str, Stored] = {}
    datasets = []
    for name, file in FILES.items():
        dataset = _fresh(pydicom.dcmread(get_testdata_file(file)), generate_uid(), generate_uid())
        datasets.append(dataset)
        found[name] = Stored(dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID, dataset)
    study, series = generate_uid(), generate_uid()
    for number in (1, 2, 3):
        dataset = _fresh(pydicom.dcmread(get_testdata_file('CT_small.dcm')), study, series)
        dataset.InstanceNumber = number
        datasets.append(dataset)
        found[f'ct{number}'] = Stored(study, series, dataset.SOPInstanceUID, dataset)
    _store(served, datasets)
    client = _client(served)
    wait_until(lambda: len(client.search_for_instances()) >= len(datasets), 'every image indexed')
    return found


@pytest.fixture(scope='module')
def client(served: Served) -> DICOMwebClient:  # noqa: F811
    return _client(served)


def test_series_metadata_has_every_instance_and_bulk_data_uris_that_answer(
    client: DICOMwebClient,
    stored: dict[str, Stored],
    served: Served,  # noqa: F811
) -> None:
    ct = stored['ct1']
    metadata = client.retrieve_series_metadata(ct.study, ct.series)
    assert sorted(item['00080018']['Value'][0] for item in metadata) == sorted(
        stored[f'ct{n}'].instance for n in (1, 2, 3)
    )
    first = next(item for item in metadata if item['00080018']['Value'][0] == ct.instance)
    assert (
        pydicom.Dataset.from_json(first, bulk_data_uri_handler=lambda _uri: b'').PatientName == ct.original.PatientName
    )
    assert first['00280010']['Value'] == [128]
    uri = first['7FE00010']['BulkDataURI']
    assert uri.startswith(f'{served.url}/dicomweb/studies/{ct.study}/series/{ct.series}/instances/{ct.instance}/')
    assert client.retrieve_bulkdata(uri) == [ct.original.PixelData]


def test_study_and_instance_metadata(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    assert len(client.retrieve_study_metadata(stored['ct1'].study)) == 3
    mr = stored['big_endian']
    metadata = client.retrieve_instance_metadata(*mr.uids)
    assert metadata['00280010']['Value'] == [64]
    assert metadata['00083002']['Value'] == ['1.2.840.10008.1.2.2']
    (pixels,) = client.retrieve_bulkdata(metadata['7FE00010']['BulkDataURI'])
    assert pixels == _native(mr.original.pixel_array)


def test_a_study_comes_as_explicit_little_endian_by_default(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    for name in ('jpeg', 'big_endian'):
        original = stored[name].original
        (received,) = client.retrieve_study(stored[name].study)
        assert received.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert received.SOPInstanceUID == stored[name].instance
        assert np.array_equal(received.pixel_array, original.pixel_array), name


def test_a_series_with_transfer_syntax_star_comes_as_stored(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    jpeg = stored['jpeg']
    (received,) = client.retrieve_series(jpeg.study, jpeg.series, media_types=(('application/dicom', '*'),))
    assert received.file_meta.TransferSyntaxUID == jpeg.original.file_meta.TransferSyntaxUID
    assert received.PixelData == jpeg.original.PixelData
    series = client.retrieve_series(
        stored['ct1'].study, stored['ct1'].series, media_types=(('application/dicom', '*'),)
    )
    assert sorted(item.InstanceNumber for item in series) == [1, 2, 3]


def test_an_instance_by_default_and_as_stored(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    cine = stored['us_cine']
    default = client.retrieve_instance(*cine.uids)
    as_stored = client.retrieve_instance(*cine.uids, media_types=(('application/dicom', '*'),))
    for received in (default, as_stored):
        assert received.NumberOfFrames == 2
        assert np.array_equal(received.pixel_array, cine.original.pixel_array)
    j2k = stored['j2k_frames']
    assert client.retrieve_instance(*j2k.uids, media_types=(('application/dicom', '*'),)).PixelData == (
        j2k.original.PixelData
    )


def test_uncompressed_frames_match_pydicoms_decoding(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    cine = stored['us_cine']
    frames = client.retrieve_instance_frames(*cine.uids, frame_numbers=[1, 2], media_types=OCTET)
    assert frames == [_native(cine.original.pixel_array[0]), _native(cine.original.pixel_array[1])]
    for name in ('jpeg', 'big_endian'):
        (frame,) = client.retrieve_instance_frames(*stored[name].uids, frame_numbers=[1], media_types=OCTET)
        assert frame == _native(stored[name].original.pixel_array), name
    j2k = stored['j2k_frames']
    frames = client.retrieve_instance_frames(*j2k.uids, frame_numbers=[1, 3, 5], media_types=OCTET)
    assert frames == [_native(j2k.original.pixel_array[n]) for n in (0, 2, 4)]


def test_compressed_frames_are_the_stored_fragments(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    j2k = stored['j2k_frames']
    expected = list(generate_frames(j2k.original.PixelData, number_of_frames=10))
    as_jp2 = client.retrieve_instance_frames(
        *j2k.uids, frame_numbers=[1, 3, 10], media_types=(('image/jp2', '1.2.840.10008.1.2.4.90'),)
    )
    star = client.retrieve_instance_frames(
        *j2k.uids, frame_numbers=[2], media_types=(('application/octet-stream', '*'),)
    )
    assert as_jp2 == [expected[0], expected[2], expected[9]]
    assert star == [expected[1]]
    jpeg = stored['jpeg']
    (frame,) = client.retrieve_instance_frames(*jpeg.uids, frame_numbers=[1], media_types=('image/jpeg',))
    assert frame.rstrip(b'\x00') == next(generate_frames(jpeg.original.PixelData, number_of_frames=1)).rstrip(b'\x00')


def test_frames_in_a_form_the_server_cannot_give_are_406(
    client: DICOMwebClient,
    stored: dict[str, Stored],
    served: Served,  # noqa: F811
) -> None:
    j2k, ct = stored['j2k_frames'], stored['ct1']
    with pytest.raises(requests.HTTPError) as refused:
        client.retrieve_instance_frames(*j2k.uids, frame_numbers=[1], media_types=('image/jpeg',))
    assert refused.value.response.status_code == 406
    with pytest.raises(requests.HTTPError) as refused:
        client.retrieve_instance(*ct.uids, media_types=(('application/dicom', '1.2.840.10008.1.2.4.90'),))
    assert refused.value.response.status_code == 406


def test_thumbnails_and_renderings_at_every_level(
    client: DICOMwebClient,
    stored: dict[str, Stored],
    served: Served,  # noqa: F811
) -> None:
    ct = stored['ct1']
    assert _image(client.retrieve_series_rendered(ct.study, ct.series, media_types=('image/jpeg',))).shape == (
        128,
        128,
    )
    assert _image(client.retrieve_instance_rendered(*ct.uids, media_types=('image/png',))).shape == (128, 128)
    session = _session()
    base = f'{served.url}/dicomweb/studies/{ct.study}'
    for url in (
        f'{base}/thumbnail',
        f'{base}/series/{ct.series}/thumbnail',
        f'{base}/series/{ct.series}/instances/{ct.instance}/thumbnail',
    ):
        answer = session.get(url, headers={'Accept': 'image/jpeg'}, timeout=10)
        assert answer.status_code == 200, url
        assert answer.headers['content-type'] == 'image/jpeg'
        assert max(_image(answer.content).shape[:2]) <= 256
    rendered = session.get(f'{base}/rendered', headers={'Accept': 'multipart/related; type="image/png"'}, timeout=10)
    assert rendered.headers['content-type'].startswith('multipart/related; type="image/png"')
    parts = list(client._decode_multipart_message(rendered, stream=False))
    assert len(parts) == 3 and all(_image(part).shape == (128, 128) for part in parts)


def test_qido_rs_searches_at_every_level(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    ct = stored['ct1']
    studies = client.search_for_studies(search_filters={'StudyInstanceUID': ct.study})
    assert [item['0020000D']['Value'][0] for item in studies] == [ct.study]
    assert studies[0]['00201208']['Value'] == [3]  # NumberOfStudyRelatedInstances
    series = client.search_for_series(ct.study)
    assert [item['0020000E']['Value'][0] for item in series] == [ct.series]
    instances = client.search_for_instances(ct.study, ct.series, search_filters={'InstanceNumber': '2'})
    assert [item['00080018']['Value'][0] for item in instances] == [stored['ct2'].instance]
    assert client.search_for_studies(search_filters={'StudyInstanceUID': generate_uid()}) == []


def test_a_rendered_frame(client: DICOMwebClient, stored: dict[str, Stored]) -> None:
    cine = stored['us_cine']
    frame = client.retrieve_instance_frames_rendered(*cine.uids, frame_numbers=[2], media_types=('image/png',))
    assert _image(frame).shape[:2] == cine.original.pixel_array.shape[1:3]


# ---------------------------------------------------------------- helpers


def _client(served: Served) -> DICOMwebClient:  # noqa: F811
    return DICOMwebClient(url=f'{served.url}/dicomweb', session=_session())


def _session() -> requests.Session:
    session = requests.Session()
    session.auth = ('admin', ADMIN_PASSWORD)
    return session


def _fresh(dataset: pydicom.Dataset, study: str, series: str) -> pydicom.Dataset:
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study, series
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.PatientID = 'WADO1'
    return dataset


def _store(served: Served, datasets: list[pydicom.Dataset]) -> None:  # noqa: F811
    ae = AE(ae_title='WADOTEST')
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    for dataset in datasets:
        ae.add_requested_context(dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID)
    assoc = ae.associate('127.0.0.1', served.dicom_port, ae_title='CLINICPACS')
    assert assoc.is_established
    try:
        statuses = [int(assoc.send_c_store(dataset).Status) for dataset in datasets]
    finally:
        assoc.release()
    assert statuses == [0] * len(datasets)


def _native(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array.astype(array.dtype.newbyteorder('<'))).tobytes()


def _image(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


# ---------------------------------------------------------------- in-process: the metadata cache


@pytest.fixture
async def pages(screens: User, clinic: Clinic) -> User:  # noqa: F811
    storage.configure(clinic.data_dir)
    wado.sources.clear()
    return screens


async def test_metadata_is_made_while_the_study_arrives(pages: User, clinic: Clinic) -> None:
    study = ingest(clinic, Path(get_testdata_file('CT_small.dcm')))
    events.publish(events.StudyReady(study.id or 0))
    cached = clinic.data_dir / dicom_json.CACHE_DIR
    await eventually(lambda: any(cached.rglob('*.json')), 'the metadata made ahead')
    made = dicom_json.cache.made
    auth = (clinic.radiologist.username, clinic.radiologist.password)
    answer = await pages.http_client.get(f'/dicomweb/studies/{study.study_instance_uid}/metadata', auth=auth)
    assert answer.status_code == 200 and len(answer.json()) == 1
    assert dicom_json.cache.made == made
    assert audit.search(by=clinic.admin.actor, action='study.view').rows[0].username == 'radiologist1'


async def test_a_matched_study_answers_with_the_clinics_patient(pages: User, clinic: Clinic) -> None:
    study = ingest(clinic, Path(get_testdata_file('CT_small.dcm')))
    patient = patients.register(
        PatientCreate(family_name='Иванова', given_name='Анна', birth_date=date(1970, 5, 6), sex='F'),
        by=clinic.receptionist.actor,
    )
    auth = (clinic.radiologist.username, clinic.radiologist.password)
    url = f'/dicomweb/studies/{study.study_instance_uid}/metadata'
    (before,) = (await pages.http_client.get(url, auth=auth)).json()
    assert before['00100010']['Value'] == [{'Alphabetic': 'CompressedSamples^CT1'}]
    with db.transaction() as session:
        row = session.get(Study, study.id)
        assert row is not None
        row.patient_ref_id = patient.id
        session.add(row)
    (after,) = (await pages.http_client.get(url, auth=auth)).json()
    assert after['00100010']['Value'] == [{'Alphabetic': 'Иванова^Анна'}]
    assert (after['00100020']['Value'], after['00100030']['Value']) == ([patient.patient_id], ['19700506'])
    assert {key: value for key, value in after.items() if not key.startswith('0010')} == {
        key: value for key, value in before.items() if not key.startswith('0010')
    }


async def test_frames_of_deflated_and_subsampled_uncompressed_images(pages: User, clinic: Clinic) -> None:
    auth = (clinic.radiologist.username, clinic.radiologist.password)
    for name in ('image_dfl.dcm', 'SC_ybr_full_422_uncompressed.dcm'):
        original = pydicom.dcmread(get_testdata_file(name))
        study = ingest(clinic, Path(get_testdata_file(name)))
        url = f'/dicomweb/studies/{study.study_instance_uid}/series/{original.SeriesInstanceUID}'
        answer = await pages.http_client.get(f'{url}/instances/{original.SOPInstanceUID}/frames/1', auth=auth)
        assert answer.status_code == 200, name
        boundary = answer.headers['content-type'].split('boundary=')[1]
        frame = answer.content.split(b'\r\n\r\n', 1)[1].rsplit(f'\r\n--{boundary}--'.encode(), 1)[0]
        expected = original.PixelData if name.startswith('SC_ybr') else _native(original.pixel_array)
        assert frame == expected, name


def test_accept_ranges_are_read_in_the_clients_order_of_preference() -> None:
    ranges = accept.parse(
        'application/dicom;q=0.5, multipart/related; type="image/jp2"; transfer-syntax=1.2.840.10008.1.2.4.90,'
        ' multipart/related; type="application/octet-stream"; q=0, */*;q=0.1'
    )
    assert [(r.media_type, r.transfer_syntax, r.multipart) for r in ranges] == [
        ('image/jp2', '1.2.840.10008.1.2.4.90', True),
        ('application/dicom', '', False),
        ('*/*', '', False),
    ]
    assert accept.parse('') == [accept.MediaRange('*/*', '', False)]
    assert accept.parse('multipart/related')[0].names('application/dicom')
    assert not accept.parse('image/*')[0].names('application/dicom')
