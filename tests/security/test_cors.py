"""CORS for a viewer on another site (OHIF): only the listed origins may read DICOMweb answers, with credentials;
every other origin gets no CORS header at all, its preflight is refused, and `*` is never an answer."""

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from nicegui import app
from nicegui.testing import User
from pydicom.data import get_testdata_file
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from dicom import storage
from domain.settings import SettingsError, load
from tests.conftest import Clinic
from ui import asgi, register_pages
from ui.cors import Cors

VIEWER = 'https://viewer.clinic.lan:3000'
EVIL = 'https://evil.example'
SERVER = 'http://clinic.lan:8080'
BOUNDARY = 'cors-boundary'


@pytest.fixture
async def edge(user: User, clinic: Clinic) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app behind the real edge with VIEWER listed; requests go to http://clinic.lan:8080."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    register_pages()
    asgi.install(app, origins=[VIEWER])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=SERVER) as client:
        yield client


def _basic(clinic: Clinic) -> tuple[str, str]:
    return (clinic.technician.username, clinic.technician.password)


def _preflight(origin: str, method: str = 'GET', headers: str = 'authorization, accept') -> dict[str, str]:
    return {'Origin': origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers}


def _cors_headers(response: httpx.Response) -> list[str]:
    return [name for name in response.headers if name.lower().startswith('access-control-')]


def _stow_body() -> tuple[bytes, dict[str, str]]:
    data = open(get_testdata_file('CT_small.dcm'), 'rb').read()  # type: ignore[arg-type]
    body = (
        f'--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n'.encode() + data + f'\r\n--{BOUNDARY}--\r\n'.encode()
    )
    return body, {'Content-Type': f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}


@pytest.mark.parametrize(
    'path', ['/dicomweb/studies', '/dicomweb/studies/1.2.3/series/1.2.3.4/metadata', '/dicomweb/no-such-thing']
)
async def test_a_listed_origins_preflight_is_answered(edge: httpx.AsyncClient, path: str) -> None:
    response = await edge.options(path, headers=_preflight(VIEWER, 'GET', 'authorization, accept'))
    assert response.status_code == 204 and response.content == b''
    headers = response.headers
    assert headers['access-control-allow-origin'] == VIEWER
    assert headers['access-control-allow-credentials'] == 'true'
    assert {m.strip() for m in headers['access-control-allow-methods'].split(',')} >= {'GET', 'POST', 'OPTIONS'}
    allowed = {h.strip().lower() for h in headers['access-control-allow-headers'].split(',')}
    assert allowed >= {'authorization', 'accept', 'content-type'}
    assert int(headers['access-control-max-age']) > 0
    assert 'origin' in headers['vary'].lower()
    assert headers['x-content-type-options'] == 'nosniff'  # the edge's headers on this answer too


async def test_a_listed_origins_stow_preflight_allows_content_type(edge: httpx.AsyncClient) -> None:
    response = await edge.options(
        '/dicomweb/studies', headers=_preflight(VIEWER, 'POST', 'authorization, content-type')
    )
    assert response.status_code == 204
    assert 'content-type' in response.headers['access-control-allow-headers'].lower()


async def test_a_preflight_from_another_origin_is_refused_without_cors_headers(
    edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger='ui.cors'):
        for origin in (EVIL, 'null', SERVER, '*', 'https://viewer.clinic.lan:3001', 'https://viewer.clinic.lan.evil'):
            response = await edge.options('/dicomweb/studies', headers=_preflight(origin))
            assert response.status_code == 403, origin
            assert _cors_headers(response) == [], origin
    assert f'origin {EVIL}' in caplog.text


async def test_a_preflight_for_another_method_is_refused(edge: httpx.AsyncClient) -> None:
    for method in ('DELETE', 'PUT', 'PATCH'):
        response = await edge.options('/dicomweb/studies', headers=_preflight(VIEWER, method))
        assert response.status_code == 403 and _cors_headers(response) == [], method


async def test_a_listed_origin_reads_a_get_with_basic_credentials(edge: httpx.AsyncClient, clinic: Clinic) -> None:
    response = await edge.get('/dicomweb/studies', headers={'Origin': VIEWER}, auth=_basic(clinic))
    assert response.status_code == 200
    assert response.headers['access-control-allow-origin'] == VIEWER
    assert response.headers['access-control-allow-credentials'] == 'true'
    exposed = {h.strip().lower() for h in response.headers['access-control-expose-headers'].split(',')}
    assert exposed >= {'content-type', 'content-length'}
    assert 'origin' in response.headers['vary'].lower()


async def test_a_listed_origin_may_stow_with_basic_credentials(edge: httpx.AsyncClient, clinic: Clinic) -> None:
    body, headers = _stow_body()
    response = await edge.post(
        '/dicomweb/studies', content=body, headers={**headers, 'Origin': VIEWER}, auth=_basic(clinic)
    )
    assert response.status_code == 200, response.text
    assert response.headers['access-control-allow-origin'] == VIEWER


async def test_a_listed_origin_reads_refusals_too(edge: httpx.AsyncClient) -> None:
    unsigned = await edge.get('/dicomweb/studies', headers={'Origin': VIEWER})
    assert unsigned.status_code == 401 and unsigned.headers['access-control-allow-origin'] == VIEWER
    malformed = await edge.get('/dicomweb/studies/not-a-uid/series', headers={'Origin': VIEWER})
    assert malformed.status_code == 404 and malformed.headers['access-control-allow-origin'] == VIEWER


async def test_another_origin_gets_no_credentials_and_cannot_stow(edge: httpx.AsyncClient, clinic: Clinic) -> None:
    read = await edge.get('/dicomweb/studies', headers={'Origin': EVIL}, auth=_basic(clinic))
    assert _cors_headers(read) == []  # the browser keeps the answer from that page
    assert 'origin' in read.headers['vary'].lower()
    body, headers = _stow_body()
    stow = await edge.post('/dicomweb/studies', content=body, headers={**headers, 'Origin': EVIL}, auth=_basic(clinic))
    assert stow.status_code == 403 and _cors_headers(stow) == []
    assert storage.stored_files() == []


async def test_no_cors_outside_dicomweb(edge: httpx.AsyncClient) -> None:
    for path in ('/health', '/patients', '/dicomwebx'):
        response = await edge.options(path, headers=_preflight(VIEWER))
        assert response.status_code != 204 and _cors_headers(response) == [], path
        assert _cors_headers(await edge.get(path, headers={'Origin': VIEWER})) == [], path


async def test_a_wildcard_is_never_echoed_with_credentials() -> None:
    async def studies(_request: object) -> PlainTextResponse:
        return PlainTextResponse('[]', headers={'Access-Control-Allow-Origin': '*'})  # a careless route

    inner = Starlette(routes=[Route('/dicomweb/studies', studies)])
    for listed in (['*'], ['null'], [VIEWER]):
        transport = httpx.ASGITransport(Cors(inner, origins=listed))
        async with httpx.AsyncClient(transport=transport, base_url=SERVER) as client:
            for origin in (EVIL, '*', 'null'):
                answer = await client.get('/dicomweb/studies', headers={'Origin': origin})
                assert _cors_headers(answer) == [], (listed, origin)
                preflight = await client.options('/dicomweb/studies', headers=_preflight(origin))
                assert preflight.status_code == 403 and _cors_headers(preflight) == [], (listed, origin)
            answer = await client.get('/dicomweb/studies', headers={'Origin': VIEWER})
            assert answer.headers.get('access-control-allow-origin') in (None, VIEWER), listed


@pytest.mark.parametrize(
    'value', ['*', 'null', 'https://*.clinic.lan', 'https://viewer.clinic.lan/ohif', 'viewer:3000']
)
def test_origins_that_are_no_single_site_are_refused_at_start(value: str) -> None:
    for name in ('cors_origins', 'allowed_origins'):
        with pytest.raises(SettingsError, match=f'PACS_{name.upper()}'):
            load(**{name: value})


def test_the_older_name_pacs_allowed_origins_joins_the_same_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PACS_CORS_ORIGINS', f'{VIEWER}, http://10.0.0.9:3000/')
    monkeypatch.setenv('PACS_ALLOWED_ORIGINS', f'https://old.clinic.lan,{VIEWER}')
    assert load().origins == [VIEWER, 'http://10.0.0.9:3000', 'https://old.clinic.lan']
    monkeypatch.delenv('PACS_CORS_ORIGINS')
    assert load().origins == ['https://old.clinic.lan', VIEWER]
