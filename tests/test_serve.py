"""`main.py serve` as a deployment starts it: the web process with or without its own DICOM listener."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from nicegui import __version__ as nicegui_version

from tests.browser.conftest import free_port
from tests.conftest import WAIT_S, listening, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _serve(data_dir: Path, *options: str, log: Path | None = None, **env: str) -> tuple[subprocess.Popen, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    http_port = free_port()
    environment.update(
        PACS_DATA_DIR=str(data_dir),
        PACS_HTTP_HOST='127.0.0.1',
        PACS_HTTP_PORT=str(http_port),
        PACS_ADMIN_PASSWORD='serve admin password',
        # every listener on a port of its own, never the defaults another test's server may hold (pytest-xdist)
        PACS_DICOM_PORT=str(free_port()),
        PACS_HTTPS_PORT=str(free_port()),
        PACS_DICOM_TLS_PORT=str(free_port()),
    )
    environment.update(env)
    output = log.open('w') if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, 'main.py', *options, 'serve'],
        cwd=ROOT,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    return process, f'http://127.0.0.1:{http_port}/health'


def _health(process: subprocess.Popen, url: str) -> httpx.Response:
    def answer() -> httpx.Response | None:
        assert process.poll() is None, 'serve exited'
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            return None

    return wait_until(answer, 'serve to answer /health', timeout=3 * WAIT_S)  # a whole server starting, as served()


def test_serve_can_leave_the_listener_to_a_separate_scp_process(tmp_path: Path) -> None:
    dicom_port = free_port()
    process, url = _serve(tmp_path / 'data', PACS_DICOM_PORT=str(dicom_port), PACS_DICOM_LISTENER='false')
    try:
        response = _health(process, url)
        assert response.status_code == 200
        assert response.json()['dicom'] == 'off'
        assert not listening(dicom_port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_runs_the_listener_by_default(tmp_path: Path) -> None:
    dicom_port = free_port()
    process, url = _serve(tmp_path / 'data', PACS_DICOM_PORT=str(dicom_port))
    try:
        response = _health(process, url)
        assert response.json()['dicom'] == 'ok'
        assert listening(dicom_port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_judges_free_disk_against_pacs_min_free_disk_mb(tmp_path: Path) -> None:
    process, url = _serve(tmp_path / 'data', PACS_DICOM_PORT=str(free_port()), PACS_MIN_FREE_DISK_MB=str(10**12))
    try:
        response = _health(process, url)
        assert response.status_code == 503
        assert response.json()['reason'] == f'free disk below {10**12} MB'
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_browser_that_leaves_mid_request_leaves_no_traceback_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / 'serve.log'
    process, url = _serve(tmp_path / 'data', '--verbose', log=log, PACS_DICOM_PORT=str(free_port()))
    try:
        assert _health(process, url).status_code == 200
        port = int(url.split(':')[2].split('/')[0])
        for attempt in range(10):  # a page's script, asked for and abandoned at once, as when a person clicks on
            encoding = b'Accept-Encoding: gzip\r\n' if attempt % 2 else b''
            with socket.create_connection(('127.0.0.1', port)) as browser:
                browser.sendall(
                    f'GET /_nicegui/{nicegui_version}/static/nicegui.js HTTP/1.1\r\nHost: clinic\r\n'.encode()
                    + encoding
                    + b'\r\n'
                )
        wait_until(lambda: 'the browser left during the request' in log.read_text(), 'the departure noted', timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = log.read_text()
    assert 'Traceback' not in text, text[text.index('Traceback') - 500 :][:3000]
    assert ' ERROR ' not in text and 'ERROR:' not in text
