"""HTTPS built in, and the TLS downgrade: with PACS_TLS=auto a real server answers over HTTPS with the certificate it
made for this host, and its plain-HTTP port never serves a page or DICOMweb content, only redirects to HTTPS."""

import re
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from domain import tls
from tests.browser.conftest import free_port
from tests.conftest import WAIT_S, wait_until
from tests.test_serve import _serve


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen
    http: str
    https: str
    data_dir: Path
    log: Path

    def trusting(self) -> ssl.SSLContext:
        """A client context that trusts only the certificate the server made (as an installed tablet does)."""
        return ssl.create_default_context(cafile=self.data_dir / 'tls' / tls.CERT_NAME)


def _serve_tls(root: Path) -> Served:
    """`main.py serve` with PACS_TLS=auto on free ports, its data and log under `root` (not waited for)."""
    https_port = free_port()
    log = root / 'serve.log'
    process, health = _serve(
        root / 'data',
        log=log,
        PACS_TLS='auto',
        PACS_HTTPS_PORT=str(https_port),
        PACS_DICOM_PORT=str(free_port()),
        PACS_DICOM_TLS_PORT=str(free_port()),
    )
    return Served(process, health.removesuffix('/health'), f'https://127.0.0.1:{https_port}', root / 'data', log)


@pytest.fixture(scope='module')
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp('https')
    served = _serve_tls(root)
    process, log = served.process, served.log
    try:

        def answers_over_https() -> bool:
            assert process.poll() is None, f'serve exited: {log.read_text()[-3000:]}'
            if not (root / 'data' / 'tls' / tls.CERT_NAME).exists():
                return False
            try:
                httpx.get(f'{served.https}/health', verify=served.trusting(), timeout=2)
            except httpx.HTTPError:
                return False
            return True

        wait_until(answers_over_https, 'an HTTPS answer', timeout=3 * WAIT_S)  # a whole server starting
        yield served
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_https_serves_the_login_page_with_hsts_and_the_generated_certificate(served: Served) -> None:
    response = httpx.get(f'{served.https}/login', verify=served.trusting())
    assert response.status_code == 200
    assert response.headers['strict-transport-security'].startswith('max-age=')
    assert "connect-src 'self' wss://127.0.0.1:" in response.headers['content-security-policy']
    browser_id = response.headers['set-cookie'].lower()  # NiceGUI's browser id: only ever sent back over HTTPS
    assert browser_id.startswith('session=') and '; secure' in browser_id and 'httponly' in browser_id


def test_the_fingerprint_is_printed_at_start_and_shown_on_the_certificate_page(served: Served) -> None:
    fingerprint = tls.fingerprint(served.data_dir / 'tls' / tls.CERT_NAME)
    assert re.fullmatch(r'([0-9A-F]{2}:){31}[0-9A-F]{2}', fingerprint)
    assert f'TLS certificate SHA-256 fingerprint: {fingerprint}' in served.log.read_text()
    page = httpx.get(f'{served.https}/certificate', verify=served.trusting())
    assert page.status_code == 200 and fingerprint in page.text


def test_the_certificate_downloads_as_pem_for_tablets(served: Served) -> None:
    response = httpx.get(f'{served.https}/certificate.crt', verify=served.trusting())
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/x-x509-ca-cert'
    assert response.content == (served.data_dir / 'tls' / tls.CERT_NAME).read_bytes()


def test_the_key_is_readable_by_the_server_account_only(served: Served) -> None:
    assert (served.data_dir / 'tls' / tls.KEY_NAME).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    'path',
    ['/', '/login', '/health', '/patients/1?tab=history', '/dicomweb/studies?PatientID=1', '/certificate.crt'],
)
def test_plain_http_only_redirects_to_the_same_place_over_https(served: Served, path: str) -> None:
    response = httpx.get(f'{served.http}{path}', auth=('admin', 'serve admin password'))
    assert response.status_code == 307
    assert response.headers['location'] == f'{served.https}{path}'
    assert 'ClinicPACS' not in response.text and 'BEGIN CERTIFICATE' not in response.text


def test_plain_http_stores_nothing_over_dicomweb(served: Served) -> None:
    response = httpx.post(
        f'{served.http}/dicomweb/studies',
        content=b'not sent over plain HTTP',
        headers={'Content-Type': 'multipart/related; type="application/dicom"; boundary=x'},
        auth=('admin', 'serve admin password'),
    )
    assert response.status_code == 307
    assert response.headers['location'] == f'{served.https}/dicomweb/studies'


def test_plain_http_with_any_host_name_redirects_to_that_name(served: Served) -> None:
    response = httpx.get(f'{served.http}/board', headers={'Host': 'pacs.clinic.lan:8080'})
    assert response.status_code == 307
    assert response.headers['location'] == f'https://pacs.clinic.lan:{served.https.rsplit(":", 1)[1]}/board'


def test_the_server_stops_cleanly_and_closes_both_ports(tmp_path: Path) -> None:
    served = _serve_tls(tmp_path)
    process, log, http = served.process, served.log, served.http

    def redirects() -> bool:
        assert process.poll() is None, f'serve exited: {log.read_text()[-3000:]}'
        try:
            return httpx.get(f'{http}/health').status_code == 307
        except httpx.HTTPError:
            return False

    wait_until(redirects, 'the plain-HTTP redirect', timeout=3 * WAIT_S)
    process.terminate()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught: -15 is its clean exit
    assert process.wait(timeout=20) in (0, -15), log.read_text()[-3000:]
    for url in (http, served.https):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, verify=False)
    assert 'Traceback' not in log.read_text()
