"""STOW-RS (PS3.18 10.5): parts parsed as they arrive, stored through the C-STORE pipeline, each one answered."""

from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import httpx
import pydicom
import pytest
from nicegui import app
from nicegui.testing import User

from dicom import storage, stow
from tests.conftest import Clinic
from tests.dicom.conftest import instance_rows, sample
from ui import asgi, register_pages

CT, MR = 'CT_small.dcm', 'MR_small.dcm'
BOUNDARY = 'clinicpacs-stow-boundary'
RELATED = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


@pytest.fixture
async def client(user: User, clinic: Clinic) -> AsyncIterator[httpx.AsyncClient]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    register_pages()
    asgi.install(app)  # the edge refuses malformed UIDs in the path
    yield user.http_client
    assert len(storage.stored_files()) == instance_rows(), 'files on disk and instance rows disagree'


def _auth(clinic: Clinic, role: str = 'technician') -> tuple[str, str]:
    account = clinic.account(role)
    return (account.username, account.password)


def _part(data: bytes, content_type: str = 'application/dicom') -> bytes:
    return f'--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n'.encode() + data + b'\r\n'


def _body(*parts: bytes) -> bytes:
    return b''.join(parts) + f'--{BOUNDARY}--\r\n'.encode()


def _dicom(name: str) -> bytes:
    return sample(name).read_bytes()


def _uid(name: str, keyword: str) -> str:
    return str(pydicom.dcmread(sample(name), stop_before_pixels=True)[keyword].value)


def _scratch_left() -> list[Path]:
    return list((storage.data_dir() / storage.INCOMING).iterdir())


async def _post(client: httpx.AsyncClient, clinic: Clinic, body: object, path: str = '/dicomweb/studies', **kw: object):
    headers = {'Content-Type': RELATED, **kw.pop('headers', {})}  # type: ignore[dict-item]
    return await client.post(path, content=body, headers=headers, auth=kw.pop('auth', _auth(clinic)))  # type: ignore[arg-type]


async def test_each_part_is_stored_or_named_with_its_failure(client: httpx.AsyncClient, clinic: Clinic) -> None:
    body = _body(_part(_dicom(CT)), _part(b'not a dicom file at all'), _part(_dicom(MR), 'application/json'))
    response = await _post(client, clinic, body)
    assert response.status_code == 202, response.text
    assert response.headers['content-type'].startswith('application/dicom+json')
    answer = response.json()
    stored = answer['00081199']['Value']
    assert [item['00081155']['Value'] for item in stored] == [[_uid(CT, 'SOPInstanceUID')]]
    retrieve = stored[0]['00081190']['Value'][0]
    study, series, instance = (_uid(CT, k) for k in ('StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'))
    assert retrieve.endswith(f'/dicomweb/studies/{study}/series/{series}/instances/{instance}')
    assert [item['00081197']['Value'] for item in answer['00081198']['Value']] == [[0xC000], [0xC000]]
    assert instance_rows() == 1 and len(storage.stored_files()) == 1
    assert _scratch_left() == []


async def test_all_parts_stored_is_200_and_none_stored_is_409(client: httpx.AsyncClient, clinic: Clinic) -> None:
    both = await _post(client, clinic, _body(_part(_dicom(CT)), _part(_dicom(MR))))
    assert both.status_code == 200, both.text
    assert len(both.json()['00081199']['Value']) == 2 and '00081198' not in both.json()
    again = await _post(client, clinic, _body(_part(_dicom(CT))))  # the same image twice is stored once
    assert again.status_code == 200 and instance_rows() == 2
    none = await _post(client, clinic, _body(_part(b'rubbish')))
    assert none.status_code == 409 and '00081199' not in none.json()


async def test_a_study_url_stores_only_parts_of_that_study(client: httpx.AsyncClient, clinic: Clinic) -> None:
    study = _uid(CT, 'StudyInstanceUID')
    response = await _post(client, clinic, _body(_part(_dicom(MR)), _part(_dicom(CT))), f'/dicomweb/studies/{study}')
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer['00081190']['Value'][0].endswith(f'/dicomweb/studies/{study}')
    assert [i['00081155']['Value'] for i in answer['00081199']['Value']] == [[_uid(CT, 'SOPInstanceUID')]]
    failed = answer['00081198']['Value']
    assert [(i['00081155']['Value'], i['00081197']['Value']) for i in failed] == [
        ([_uid(MR, 'SOPInstanceUID')], [0xA900])
    ]
    assert instance_rows() == 1 and _scratch_left() == []


async def test_a_study_url_that_is_no_uid_is_not_found(client: httpx.AsyncClient, clinic: Clinic) -> None:
    response = await _post(client, clinic, _body(_part(_dicom(CT))), '/dicomweb/studies/1.2.x')
    assert response.status_code == 404 and instance_rows() == 0


@pytest.mark.parametrize(
    'content_type',
    [
        'application/dicom',
        'multipart/related; type="application/dicom+json"; boundary=b',
        'multipart/mixed; boundary=b',
    ],
)
async def test_only_multipart_related_of_application_dicom_is_accepted(
    client: httpx.AsyncClient, clinic: Clinic, content_type: str
) -> None:
    response = await _post(client, clinic, _dicom(CT), headers={'Content-Type': content_type})
    assert response.status_code == 415 and instance_rows() == 0


async def test_a_body_announced_over_the_limit_is_refused_unread(client: httpx.AsyncClient, clinic: Clinic) -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for chunk in (_part(_dicom(CT)), f'--{BOUNDARY}--\r\n'.encode()):
            read.append(chunk)
            yield chunk

    headers = {'Content-Length': str(stow.MAX_BODY_BYTES + 1)}
    response = await _post(client, clinic, body(), headers=headers)
    assert response.status_code == 413
    assert read == [] and instance_rows() == 0


async def test_a_body_that_grows_over_the_limit_is_refused(
    client: httpx.AsyncClient, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stow, 'MAX_BODY_BYTES', 100_000)
    monkeypatch.setattr(stow, 'BATCH_BYTES', 10_000)
    chunks = _chunks(_body(*[_part(_dicom(CT))] * 5), 8192)  # chunked: no Content-Length
    response = await _post(client, clinic, _async(chunks))
    assert response.status_code == 413
    assert instance_rows() <= 1 and _scratch_left() == []  # the first part may be in before the limit is reached


async def test_a_role_that_may_not_store_is_refused_before_the_body_is_read(
    client: httpx.AsyncClient, clinic: Clinic
) -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        read.append(b'x')
        yield _body(_part(_dicom(CT)))

    response = await _post(client, clinic, body(), auth=_auth(clinic, 'radiologist'))
    assert response.status_code == 403
    assert read == [] and instance_rows() == 0
    receptionist = await _post(client, clinic, _body(_part(_dicom(CT))), auth=_auth(clinic, 'receptionist'))
    assert receptionist.status_code == 403
    assert (await _post(client, clinic, _body(_part(_dicom(CT))), auth=('nobody', 'x'))).status_code == 401


async def test_a_body_that_is_not_multipart_is_a_bad_request(client: httpx.AsyncClient, clinic: Clinic) -> None:
    assert (await _post(client, clinic, b'')).status_code == 400
    assert (await _post(client, clinic, b'no boundary anywhere in here')).status_code == 400
    broken = f'--{BOUNDARY}\r\nContent-Type application/dicom\r\n\r\n'.encode()  # a header line without a colon
    assert (await _post(client, clinic, broken)).status_code == 400
    assert instance_rows() == 0 and _scratch_left() == []


async def test_a_body_cut_off_inside_a_part_stores_the_parts_before(client: httpx.AsyncClient, clinic: Clinic) -> None:
    cut = _part(_dicom(CT)) + _part(_dicom(MR))[:5000]
    response = await _post(client, clinic, cut)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert [i['00081155']['Value'] for i in answer['00081199']['Value']] == [[_uid(CT, 'SOPInstanceUID')]]
    assert [i['00081197']['Value'] for i in answer['00081198']['Value']] == [[0xC000]]
    assert instance_rows() == 1 and _scratch_left() == []


async def test_parts_split_anywhere_between_reads_arrive_whole(
    client: httpx.AsyncClient, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stow, 'BATCH_BYTES', 1)  # every chunk is parsed on its own
    body = _body(_part(_dicom(CT)), _part(_dicom(MR)))
    response = await _post(client, clinic, _async(_chunks(body, 7)))  # boundaries fall across chunks
    assert response.status_code == 200, response.text
    assert {p.read_bytes() for p in storage.stored_files()} == {_dicom(CT), _dicom(MR)}


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


async def _async(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
