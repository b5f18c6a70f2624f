"""STOW-RS against a real `main.py serve` process: a large body streams through without growing the server's memory,
and a third-party client (dicomweb-client) stores to the study-wide and the study-scoped URL.

The large STOW is 1 GiB (PACS_TEST_STOW_MB=1024 by default; a smaller one still tells streaming from the old parser,
which held the whole body in memory). Its data directory is removed afterwards, not left to pytest's temporary files.
"""

import io
import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pytest
import requests
from dicomweb_client import DICOMwebClient
from pydicom.uid import ExplicitVRLittleEndian

from tests.browser.conftest import free_port
from tests.dicom.conftest import sample
from tests.test_serve import _health, _serve

log = logging.getLogger(__name__)

ADMIN = ('admin', 'serve admin password')  # NOTE: the password tests/test_serve.py's _serve gives the server
STOW_MB = int(os.environ.get('PACS_TEST_STOW_MB', '1024'))
GROWTH_LIMIT = 100 * 1024 * 1024
EDGE = 1024  # a 1024 x 1024 16-bit image: 2 MiB of pixel data per part
BOUNDARY = 'clinicpacs-large-stow'


@dataclass
class Server:
    process: subprocess.Popen
    base: str  # http://127.0.0.1:PORT

    def memory(self, field: str) -> int:
        """The server process's VmRSS or VmHWM (its peak) in bytes, from /proc."""
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith(f'{field}:'):
                return int(line.split()[1]) * 1024
        raise AssertionError(f'{field} not in /proc/{self.process.pid}/status')

    def reset_peak(self) -> None:
        """Start VmHWM again from the present RSS, so the peak is this test's, not start-up's (Linux 4.0+)."""
        Path(f'/proc/{self.process.pid}/clear_refs').write_text('5')


@pytest.fixture(scope='module')
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp('stow') / 'data'
    process, health = _serve(data, PACS_DICOM_PORT=str(free_port()))
    try:
        assert _health(process, health).status_code == 200
        yield Server(process, health.removesuffix('/health'))
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)  # a gigabyte of images


def test_a_large_stow_streams_through_without_growing_the_servers_memory(server: Server) -> None:
    images = _Images()
    assert _stow(server, images, parts=1).status_code == 200  # the first STOW loads what any request loads
    server.reset_peak()
    before = server.memory('VmRSS')
    parts = (STOW_MB * 2**20 - 1000) // (len(images.template) + 1000)  # a body of at most STOW_MB MiB
    response = _stow(server, images, parts=parts)
    peak = server.memory('VmHWM')
    assert response.status_code == 200, response.text[:500]
    assert len(response.json()['00081199']['Value']) == parts
    growth = peak - before
    log.info('STOW of %d MB: server RSS %d MB before, peak %d MB, growth %d MB', STOW_MB, before >> 20, peak >> 20,
             growth >> 20)  # fmt: skip
    assert growth < GROWTH_LIMIT, f'the server grew by {growth >> 20} MB for a {STOW_MB} MB STOW'


def test_dicomweb_client_stores_to_the_study_and_to_the_study_url(server: Server) -> None:
    session = requests.Session()
    session.auth = ADMIN
    client = DICOMwebClient(f'{server.base}/dicomweb', session=session)
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    mr = pydicom.dcmread(sample('MR_small.dcm'))
    answer = client.store_instances([ct])
    assert [item.ReferencedSOPInstanceUID for item in answer.ReferencedSOPSequence] == [ct.SOPInstanceUID]
    with pytest.raises(requests.HTTPError) as refused:  # 409: its only part belongs to another study
        client.store_instances([mr], study_instance_uid=ct.StudyInstanceUID)
    assert refused.value.response.status_code == 409
    failed = refused.value.response.json()['00081198']['Value'][0]
    assert failed['00081197']['Value'] == [0xA900]
    answer = client.store_instances([mr], study_instance_uid=mr.StudyInstanceUID)
    assert answer.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == mr.SOPInstanceUID
    found = httpx.get(f'{server.base}/dicomweb/studies?StudyInstanceUID={mr.StudyInstanceUID}', auth=ADMIN, timeout=30)
    assert found.status_code == 200 and len(found.json()) == 1


class _Images:
    """Part 10 CT images of one new study, 2 MiB each, made from one template by changing the SOP Instance UID."""

    def __init__(self) -> None:
        root = f'2.25.{secrets.randbelow(9 * 10**19) + 10**19}'
        self.stand_in_uid = f'{root}9999999999'.encode()
        dataset = pydicom.dcmread(sample('CT_small.dcm'))
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = f'{root}1', f'{root}2'
        dataset.SOPInstanceUID = self.stand_in_uid.decode()
        dataset.Rows = dataset.Columns = EDGE
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
        dataset.PixelData = bytes(range(16)) * (EDGE * EDGE * 2 // 16)
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        self.template = buffer.getvalue()
        assert self.template.count(self.stand_in_uid) == 2  # the meta header and the data set
        self.root, self.made = root, 0

    def next(self) -> bytes:
        """The next image: the template with a new SOP Instance UID of the same length."""
        self.made += 1
        return self.template.replace(self.stand_in_uid, f'{self.root}{self.made:010d}'.encode())


def _stow(server: Server, images: _Images, *, parts: int) -> httpx.Response:
    head = f'--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n'.encode()
    tail = f'--{BOUNDARY}--\r\n'.encode()

    def body() -> Iterator[bytes]:  # made as it is sent: the test holds one image at a time, not the body
        for _ in range(parts):
            yield head
            yield images.next()
            yield b'\r\n'
        yield tail

    headers = {
        'Content-Type': f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
        'Content-Length': str(parts * (len(head) + len(images.template) + 2) + len(tail)),
    }
    return httpx.post(f'{server.base}/dicomweb/studies', content=body(), headers=headers, auth=ADMIN, timeout=300)
