"""The DICOMweb benchmark's corpus and peers: CT series from a real slice, ClinicPACS, Orthanc and storescp.

Each peer is a process of its own on free loopback ports with a temporary directory: `main.py serve` (an
admin with a known password; the SCU and the C-MOVE destination entered as modalities), Debian's Orthanc
with its DICOMweb plugin at the plugin's defaults (the same two AEs in DicomModalities, HTTP Basic on), and
DCMTK's storescp as the C-MOVE destination. Images reach both servers by C-STORE (storescu).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import data_store
import httpx
import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from startup import ADMIN_PASSWORD, free_port

ROOT = Path(__file__).resolve().parent.parent
CT_TEMPLATE = Path(data_store.__file__).parent / 'data' / '693_UNCR.dcm'  # a real 512×512 16-bit CT slice
ORTHANC_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so'
ORTHANC_USER = ('bench', 'bench orthanc password')
SCU_AE, DESTINATION_AE = 'BENCHSCU', 'BENCHDEST'


@dataclass
class Series:
    study: str
    series: str
    instances: list[str]
    files: list[Path]


@dataclass
class Peer:
    """A running server: its DICOMweb base URL, credentials, DICOM address and process."""

    name: str
    url: str
    dicomweb: str
    auth: tuple[str, str]
    ae_title: str
    dicom_port: int
    process: subprocess.Popen
    folder: Path
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------- corpus


def ct_series(folder: Path, slices: int = 200) -> Series:
    """A study of one CT series: the real slice, rolled by one row per slice, new UIDs and positions."""
    folder.mkdir(parents=True, exist_ok=True)
    template = pydicom.dcmread(CT_TEMPLATE)
    pixels = template.pixel_array
    study, series = generate_uid(), generate_uid()
    instances, files = [], []
    for n in range(slices):
        ds = template.copy()
        ds.PixelData = np.roll(pixels, n, axis=0).astype(pixels.dtype).tobytes()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PatientID, ds.PatientName, ds.AccessionNumber = 'BENCHWEB', 'Bench^Dicomweb', 'BENCHWEB'
        ds.InstanceNumber = n + 1
        ds.ImagePositionPatient = [0, 0, n * 1.25]
        ds.SliceLocation, ds.SliceThickness = n * 1.25, 1.25
        path = folder / f'ct-{n:03d}.dcm'
        ds.save_as(path, enforce_file_format=True)
        instances.append(ds.SOPInstanceUID)
        files.append(path)
    return Series(study, series, instances, files)


def store(peer: Peer, files: list[Path]) -> None:
    """C-STORE the files to the peer with DCMTK's storescu (one association)."""
    result = subprocess.run(
        ['storescu', '-aet', SCU_AE, '-aec', peer.ae_title, '127.0.0.1', str(peer.dicom_port), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f'storescu to {peer.name} failed: {result.stderr[-800:]}')


# ---------------------------------------------------------------- peers


def start_storescp(folder: Path) -> tuple[subprocess.Popen, int]:
    """DCMTK's storescp, the C-MOVE destination, writing what it receives into `folder`."""
    folder.mkdir(parents=True)
    port = free_port()
    process = subprocess.Popen(
        ['storescp', '-aet', DESTINATION_AE, '-od', str(folder), '+xa', str(port)],
        stdout=subprocess.DEVNULL,
        stderr=(folder.parent / 'storescp.log').open('wb'),
    )
    _wait_port(port, process)
    return process, port


def start_ours(folder: Path, destination_port: int, *, profile: Path | None = None) -> Peer:
    """`main.py serve` (under bench/profiled_serve.py when `profile` names the statistics file to write)."""
    folder.mkdir(parents=True)
    http, dicom = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    env.update(
        PACS_DATA_DIR=str(folder / 'data'),
        PACS_HTTP_HOST='127.0.0.1',
        PACS_HTTP_PORT=str(http),
        PACS_DICOM_PORT=str(dicom),
        PACS_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    main = [sys.executable, str(ROOT / 'main.py')]
    subprocess.run([*main, 'migrate'], cwd=ROOT, env=env, check=True, capture_output=True)
    for ae, port in ((SCU_AE, 4242), (DESTINATION_AE, destination_port)):
        subprocess.run(
            [*main, 'modality', 'add', ae, '127.0.0.1', str(port), '--description', 'bench'],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    if profile is not None:
        main = [sys.executable, str(ROOT / 'bench' / 'profiled_serve.py'), str(profile)]
    log = folder / 'pacs.log'
    process = subprocess.Popen([*main, 'serve'], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open('wb'))
    url = f'http://127.0.0.1:{http}'
    try:
        _wait_http(f'{url}/health', process)
    except (RuntimeError, TimeoutError) as error:
        raise RuntimeError(f'{error}; its log ends:\n{log.read_text()[-2000:]}') from error
    peer = Peer('ours', url, f'{url}/dicomweb', ('admin', ADMIN_PASSWORD), 'CLINICPACS', dicom, process, folder)
    peer.extra['env'] = json.dumps(env)
    return peer


def start_orthanc(folder: Path, destination_port: int) -> Peer:
    """Orthanc + DICOMweb plugin; the plugin's options are left at their defaults (SeriesMetadata: Full)."""
    binary = shutil.which('Orthanc') or '/usr/sbin/Orthanc'
    folder.mkdir(parents=True)
    http, dicom = free_port(), free_port()
    config = {
        'Name': 'bench',
        'StorageDirectory': str(folder / 'db'),
        'IndexDirectory': str(folder / 'db'),
        'HttpPort': http,
        'DicomPort': dicom,
        'DicomAet': 'ORTHANC',
        'RemoteAccessAllowed': False,
        'AuthenticationEnabled': True,
        'RegisteredUsers': {ORTHANC_USER[0]: ORTHANC_USER[1]},
        'KeepAlive': True,
        'Plugins': [ORTHANC_PLUGIN],
        'DicomWeb': {'Enable': True},  # Root /dicom-web/, StudiesMetadata and SeriesMetadata "Full"
        'DicomModalities': {
            SCU_AE: [SCU_AE, '127.0.0.1', 4242],
            DESTINATION_AE: [DESTINATION_AE, '127.0.0.1', destination_port],
        },
    }
    (folder / 'orthanc.json').write_text(json.dumps(config))
    process = subprocess.Popen(
        [binary, str(folder / 'orthanc.json')], stdout=subprocess.DEVNULL, stderr=(folder / 'orthanc.log').open('wb')
    )
    url = f'http://127.0.0.1:{http}'
    _wait_http(f'{url}/system', process, auth=ORTHANC_USER)
    peer = Peer('Orthanc', url, f'{url}/dicom-web', ORTHANC_USER, 'ORTHANC', dicom, process, folder)
    core = httpx.get(f'{url}/system', auth=ORTHANC_USER).json().get('Version', '?')
    plugin = httpx.get(f'{url}/plugins/dicom-web', auth=ORTHANC_USER).json().get('Version', '?')
    peer.extra['version'] = f'Orthanc {core} + DICOMweb plugin {plugin}'
    return peer


def wait_indexed(peer: Peer, studies: list[Series], timeout: float = 300) -> None:
    """Until the peer lists every instance of these studies and (ours) has no work pending."""
    expected = {s.study: len(s.instances) for s in studies}
    deadline = time.monotonic() + timeout
    with httpx.Client(auth=peer.auth, timeout=30) as client:
        while time.monotonic() < deadline:
            if _all_listed(client, peer, expected) and _idle(client, peer):
                return
            time.sleep(0.25)
    raise TimeoutError(f'{peer.name} did not index the corpus in {timeout:.0f} s')


def _all_listed(client: httpx.Client, peer: Peer, expected: dict[str, int]) -> bool:
    for study, count in expected.items():
        response = client.get(
            f'{peer.dicomweb}/studies',
            params={'StudyInstanceUID': study, 'includefield': 'NumberOfStudyRelatedInstances'},
            headers={'Accept': 'application/dicom+json'},
        )
        if response.status_code != 200 or not response.content.strip():
            return False
        found = response.json()
        value = found[0].get('00201208', {}).get('Value', [0]) if found else [0]
        if int(value[0]) != count:
            return False
    return True


def _idle(client: httpx.Client, peer: Peer) -> bool:
    if peer.name != 'ours':
        return True
    health = client.get(f'{peer.url}/health').json()
    return health.get('pending_instances') == 0 and health.get('queue_depth') == 0


def _wait_http(url: str, process: subprocess.Popen, *, auth: tuple[str, str] | None = None) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'{url}: the server exited with {process.returncode}')
        try:
            if httpx.get(url, timeout=1, auth=auth).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def _wait_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'storescp exited with {process.returncode}')
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f'port {port}')
