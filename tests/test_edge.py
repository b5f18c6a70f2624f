"""The HTTP edge (ui.asgi.ClientEdge): a real fault in a route is one log line with its route and an id; the
plain-HTTP port redirects to HTTPS; the clinic's TLS certificate (domain.tls)."""

import hashlib
import ipaddress
import logging
import re
import socket
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from domain import tls
from domain.settings import Settings, SettingsError
from ui import asgi
from ui.edge_security import EdgeSecurity


async def _fails(_request: Request) -> PlainTextResponse:
    raise ZeroDivisionError('a fault someone must fix')


async def _answers(_request: Request) -> PlainTextResponse:
    return PlainTextResponse('fine')


@pytest.fixture
def edge() -> httpx.AsyncClient:
    routes = [Route('/studies/{study}/fails', _fails), Route('/fine', _answers)]
    app = Starlette(routes=routes, middleware=[Middleware(asgi.ClientEdge)])  # inside Starlette's error layer
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://clinic')


async def test_a_real_fault_logs_one_line_with_the_route_and_the_id_the_caller_gets(
    edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger='ui.asgi'):
        response = await edge.get('/studies/7/fails?PatientName=Doe')
    assert response.status_code == 500
    error_id = response.json()['error_id']
    assert re.fullmatch(r'[0-9a-f]{8}', error_id)
    records = [r for r in caplog.records if r.name == 'ui.asgi']
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].getMessage() == f'error {error_id} in route GET /studies/{{study}}/fails'
    assert records[0].exc_info is not None and records[0].exc_info[0] is ZeroDivisionError
    assert 'Doe' not in caplog.text


async def test_an_ordinary_answer_passes_untouched(edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger='ui.asgi'):
        response = await edge.get('/fine')
    assert (response.status_code, response.text) == (200, 'fine')
    assert not [r for r in caplog.records if r.name == 'ui.asgi']


# ---------------------------------------------------------------- the clinic's TLS certificate (domain.tls)


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / 'data', **values)  # type: ignore[call-arg]


def test_without_tls_there_are_no_certificate_files(tmp_path: Path) -> None:
    assert tls.certificate_files(_settings(tmp_path)) is None
    assert not (tmp_path / 'data' / 'tls').exists()


def test_auto_makes_a_certificate_for_this_host_once_and_reuses_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tls='auto')
    files = tls.certificate_files(settings)
    assert files is not None
    cert, key = files
    assert cert.parent == tmp_path / 'data' / 'tls'
    assert key.stat().st_mode & 0o777 == 0o600
    names = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert {'localhost', socket.gethostname()} <= set(names.value.get_values_for_type(x509.DNSName))
    assert ipaddress.ip_address('127.0.0.1') in names.value.get_values_for_type(x509.IPAddress)
    first = tls.fingerprint(cert)
    assert tls.certificate_files(settings) == files
    assert tls.fingerprint(cert) == first


def test_the_fingerprint_is_the_sha256_of_the_certificate_in_colon_hex(tmp_path: Path) -> None:
    files = tls.certificate_files(_settings(tmp_path, tls='auto'))
    assert files is not None
    der = ssl.PEM_cert_to_DER_cert(files[0].read_text())
    assert tls.fingerprint(files[0]) == ':'.join(f'{b:02X}' for b in hashlib.sha256(der).digest())


def test_a_given_certificate_and_key_are_used_after_checking_they_belong_together(tmp_path: Path) -> None:
    made = tls.certificate_files(_settings(tmp_path / 'made', tls='auto'))
    other = tls.certificate_files(_settings(tmp_path / 'other', tls='auto'))
    assert made is not None and other is not None
    given = _settings(tmp_path, tls_cert=made[0], tls_key=made[1])
    assert given.tls_enabled and tls.certificate_files(given) == made
    with pytest.raises(SettingsError, match='PACS_TLS_CERT'):
        tls.certificate_files(_settings(tmp_path, tls_cert=made[0], tls_key=other[1]))
    with pytest.raises(SettingsError, match='give both'):
        tls.certificate_files(_settings(tmp_path, tls_cert=made[0]))
    with pytest.raises(SettingsError, match='does not exist'):
        tls.certificate_files(_settings(tmp_path, tls_cert=tmp_path / 'none.crt', tls_key=made[1]))


def test_a_broken_generated_certificate_is_made_again(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tls='auto')
    files = tls.certificate_files(settings)
    assert files is not None
    files[0].write_text('not a certificate')
    again = tls.certificate_files(settings)
    assert again == files
    assert 'BEGIN CERTIFICATE' in files[0].read_text()


# ---------------------------------------------------------------- the plain-HTTP port with TLS on


@pytest.fixture
def plain_http() -> httpx.AsyncClient:
    app = EdgeSecurity(asgi.HttpsRedirect(8443))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://pacs.clinic.lan:8080')


@pytest.mark.parametrize(
    ('host', 'target'),
    [
        ('pacs.clinic.lan:8080', 'https://pacs.clinic.lan:8443/patients/7?tab=history&q=%C3%A9'),
        ('192.168.1.20', 'https://192.168.1.20:8443/patients/7?tab=history&q=%C3%A9'),
        ('[fd00::5]:8080', 'https://[fd00::5]:8443/patients/7?tab=history&q=%C3%A9'),
    ],
)
async def test_plain_http_redirects_to_the_same_host_path_and_query_over_https(
    plain_http: httpx.AsyncClient, host: str, target: str
) -> None:
    response = await plain_http.get('/patients/7?tab=history&q=%C3%A9', headers={'Host': host})
    assert (response.status_code, response.headers['location']) == (307, target)
    assert response.headers['x-content-type-options'] == 'nosniff'


async def test_plain_http_with_a_forged_host_header_is_not_redirected(plain_http: httpx.AsyncClient) -> None:
    response = await plain_http.get('/', headers={'Host': 'evil.example/x?'})
    assert response.status_code == 400
    assert 'location' not in response.headers
