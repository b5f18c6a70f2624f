"""Retrieve always delivers, tried with real peers: Orthanc pulling a study with an image in every transfer syntax the
listener accepts (C-MOVE), DCMTK's getscu (C-GET) with and without JPEG, movescu to a storescp that takes only
implicit VR little endian. Each image arrives, as stored when the peer takes that, else with the same pixels."""

import json
import subprocess
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian, JPEGBaseline8Bit, JPEGLossless, generate_uid

from dicom import scp, transcode
from domain import modalities
from domain.modalities import ModalityCreate
from tests.conftest import free_port, listening, need_tool, wait_until
from tests.dicom.conftest import SCU_AE, Pacs, sample, send

# One image per transfer syntax (JPEG Lossless P14 is made with DCMTK's dcmcjpeg: no sample file holds it).
MIXED = {
    '1.2.840.10008.1.2': 'MR_small_implicit.dcm',
    '1.2.840.10008.1.2.1': 'CT_small.dcm',
    '1.2.840.10008.1.2.1.99': 'image_dfl.dcm',
    '1.2.840.10008.1.2.2': 'MR_small_bigendian.dcm',
    '1.2.840.10008.1.2.4.50': 'SC_rgb_jpeg_dcmtk.dcm',
    '1.2.840.10008.1.2.4.51': 'JPGExtended.dcm',
    '1.2.840.10008.1.2.4.70': 'JPEG-LL.dcm',
    '1.2.840.10008.1.2.4.80': 'MR_small_jpeg_ls_lossless.dcm',
    '1.2.840.10008.1.2.4.81': 'JPEGLSNearLossless_16.dcm',
    '1.2.840.10008.1.2.4.90': 'MR_small_jp2klossless.dcm',
    '1.2.840.10008.1.2.4.91': 'JPEG2000.dcm',
    '1.2.840.10008.1.2.5': 'MR_small_RLE.dcm',
}
JPEG_STUDY = ('SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_small_odd_jpeg.dcm', 'SC_jpeg_no_color_transform.dcm')
UNCOMPRESSED_ONLY = [str(syntax) for syntax in transcode.UNCOMPRESSED]


@dataclass
class Study:
    uid: str
    files: list[Path]  # as stored in the PACS

    def originals(self) -> dict[str, pydicom.Dataset]:
        """SOP Instance UID -> the data set as stored."""
        return {dataset.SOPInstanceUID: dataset for dataset in map(_read, self.files)}


@pytest.fixture
def mixed_study(pacs: Pacs, tmp_path: Path) -> Study:
    """A study holding one image in each of the thirteen transfer syntaxes the listener accepts, stored in the PACS."""
    made = tmp_path / 'p14.dcm'
    subprocess.run(
        [need_tool('dcmcjpeg'), '+el', str(sample('CT_small.dcm')), str(made)], check=True, capture_output=True
    )
    study = _study(pacs, tmp_path, [sample(name) for name in MIXED.values()] + [made])
    syntaxes = {str(dataset.file_meta.TransferSyntaxUID) for dataset in study.originals().values()}
    assert syntaxes == set(scp.TRANSFER_SYNTAXES) == {*MIXED, JPEGLossless}
    return study


@pytest.fixture
def jpeg_study(pacs: Pacs, tmp_path: Path) -> Study:
    return _study(pacs, tmp_path, [sample(name) for name in JPEG_STUDY])


# ---------------------------------------------------------------- Orthanc pulls (C-MOVE)


@pytest.mark.parametrize('accepted', [None, UNCOMPRESSED_ONLY], ids=['orthanc-defaults', 'uncompressed-only'])
def test_orthanc_pulls_every_image_of_a_study_in_every_transfer_syntax(
    pacs: Pacs, mixed_study: Study, tmp_path: Path, accepted: list[str] | None
) -> None:
    with _orthanc(pacs, tmp_path / 'orthanc', accepted) as orthanc:
        answer = orthanc.post(
            '/modalities/pacs/move',
            json={
                'Level': 'Study',
                'Resources': [{'StudyInstanceUID': mixed_study.uid}],
                'TargetAet': 'ORTHANC',
                'Timeout': 120,
            },
        )
        assert answer.status_code == 200, answer.text
        [found] = orthanc.post('/tools/lookup', content=mixed_study.uid).json()
        instances = orthanc.get(f'/studies/{found["ID"]}/instances').json()
        arrived = [pydicom.dcmread(_bytes(orthanc.get(f'/instances/{item["ID"]}/file'))) for item in instances]
    originals = mixed_study.originals()
    assert sorted(dataset.SOPInstanceUID for dataset in arrived) == sorted(originals)
    for dataset in arrived:
        original = originals[dataset.SOPInstanceUID]
        if accepted is not None:
            assert dataset.file_meta.TransferSyntaxUID in accepted
        assert np.array_equal(dataset.pixel_array, original.pixel_array), original.file_meta.TransferSyntaxUID.name


# ---------------------------------------------------------------- DCMTK getscu (C-GET) and movescu (C-MOVE)


def test_getscu_asking_for_jpeg_gets_the_jpeg_study_as_jpeg(pacs: Pacs, jpeg_study: Study, tmp_path: Path) -> None:
    received = _getscu(pacs, jpeg_study, tmp_path / 'got', '+xy')
    assert sorted(received) == sorted(jpeg_study.originals())
    for uid, dataset in received.items():
        assert dataset.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
        assert dataset.PixelData == jpeg_study.originals()[uid].PixelData  # the stored bytes, not re-encoded


def test_getscu_asking_for_uncompressed_gets_the_jpeg_study_decoded(
    pacs: Pacs, jpeg_study: Study, tmp_path: Path
) -> None:
    received = _getscu(pacs, jpeg_study, tmp_path / 'got')
    originals = jpeg_study.originals()
    assert sorted(received) == sorted(originals)
    for uid, dataset in received.items():
        assert not dataset.file_meta.TransferSyntaxUID.is_compressed
        assert dataset.PhotometricInterpretation == 'RGB'
        assert np.array_equal(dataset.pixel_array, originals[uid].pixel_array)


def test_movescu_to_a_storescp_taking_only_implicit_little_endian_gets_everything(
    pacs: Pacs, mixed_study: Study, tmp_path: Path
) -> None:
    folder = tmp_path / 'storescp'
    folder.mkdir()
    port = free_port()
    storescp = subprocess.Popen(
        [need_tool('storescp'), '+xi', '-aet', 'STORESCP', '-od', str(folder), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listening(port), 'storescp to listen')
        modalities.add(ModalityCreate(ae_title='STORESCP', host='127.0.0.1', port=port), by=pacs.clinic.admin.actor)
        result = subprocess.run(
            [
                need_tool('movescu'),
                '-S',
                '-aet',
                SCU_AE,
                '-aec',
                pacs.ae_title,
                '-aem',
                'STORESCP',
                '-k',
                'QueryRetrieveLevel=STUDY',
                '-k',
                f'StudyInstanceUID={mixed_study.uid}',
                '127.0.0.1',
                str(pacs.port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        storescp.terminate()
        storescp.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    received = {dataset.SOPInstanceUID: dataset for dataset in map(_read, folder.iterdir())}
    originals = mixed_study.originals()
    assert sorted(received) == sorted(originals)
    for uid, dataset in received.items():
        assert dataset.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
        assert np.array_equal(dataset.pixel_array, originals[uid].pixel_array)


# ---------------------------------------------------------------- helpers


def _study(pacs: Pacs, folder: Path, sources: list[Path]) -> Study:
    """The images made into one study of one patient (new UIDs, kept syntax), stored through the listener."""
    study_uid = generate_uid()
    files = []
    for number, source in enumerate(sources, start=1):
        dataset = _read(source)
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, generate_uid()
        dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        dataset.PatientID, dataset.PatientName, dataset.InstanceNumber = 'MIXED1', 'Mixed^Syntaxes', number
        path = folder / f'{number:02d}.dcm'
        dataset.save_as(path)
        files.append(path)
    assert send(pacs, *files) == [0] * len(files)
    return Study(study_uid, files)


def _getscu(pacs: Pacs, study: Study, folder: Path, *options: str) -> dict[str, pydicom.Dataset]:
    folder.mkdir()
    result = subprocess.run(
        [
            need_tool('getscu'),
            *options,
            '-S',
            '-aet',
            SCU_AE,
            '-aec',
            pacs.ae_title,
            '-od',
            str(folder),
            '-k',
            'QueryRetrieveLevel=STUDY',
            '-k',
            f'StudyInstanceUID={study.uid}',
            '127.0.0.1',
            str(pacs.port),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {dataset.SOPInstanceUID: dataset for dataset in map(_read, folder.iterdir())}


class _orthanc:
    """An Orthanc of our own on free ports, knowing the PACS as modality 'pacs' and entered in its modality list."""

    def __init__(self, pacs: Pacs, folder: Path, accepted: list[str] | None) -> None:
        self.pacs, self.folder, self.accepted = pacs, folder, accepted
        self.http_port, self.dicom_port = free_port(), free_port()

    def __enter__(self) -> httpx.Client:
        binary = need_tool('Orthanc')
        self.folder.mkdir()
        config = {
            'Name': 'retrieve-test',
            'StorageDirectory': str(self.folder / 'db'),
            'IndexDirectory': str(self.folder / 'db'),
            'HttpPort': self.http_port,
            'DicomPort': self.dicom_port,
            'DicomAet': 'ORTHANC',
            'RemoteAccessAllowed': False,
            'AuthenticationEnabled': False,
            'Plugins': [],
            'DicomScuTimeout': 120,
            'DicomModalities': {'pacs': [self.pacs.ae_title, '127.0.0.1', self.pacs.port]},
        }
        if self.accepted is not None:
            config['AcceptedTransferSyntaxes'] = self.accepted
        (self.folder / 'orthanc.json').write_text(json.dumps(config))
        self.log = (self.folder / 'orthanc.log').open('w')
        self.process = subprocess.Popen(
            [binary, str(self.folder / 'orthanc.json')], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.client = httpx.Client(base_url=f'http://127.0.0.1:{self.http_port}', timeout=180)
        wait_until(self._up, 'Orthanc to answer', timeout=60)
        modalities.add(
            ModalityCreate(ae_title='ORTHANC', host='127.0.0.1', port=self.dicom_port),
            by=self.pacs.clinic.admin.actor,
        )
        return self.client

    def __exit__(self, *_exc: object) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f'Orthanc stopped: {(self.folder / "orthanc.log").read_text()[-2000:]}')
        try:
            return self.client.get('/system').status_code == 200
        except httpx.TransportError:
            return False


def _bytes(response: httpx.Response) -> BytesIO:
    assert response.status_code == 200
    return BytesIO(response.content)


def _read(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return pydicom.dcmread(path)
