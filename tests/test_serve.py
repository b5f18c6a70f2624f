"""`main.py serve` as a deployment starts it: the web process with or without its own DICOM listener."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.browser.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _serve(data_dir: Path, **env: str) -> tuple[subprocess.Popen, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    http_port = free_port()
    environment.update(
        PACS_DATA_DIR=str(data_dir),
        PACS_HTTP_HOST='127.0.0.1',
        PACS_HTTP_PORT=str(http_port),
        PACS_ADMIN_PASSWORD='serve admin password',
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'serve'],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f'http://127.0.0.1:{http_port}/health'


def _health(process: subprocess.Popen, url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, 'serve exited'
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError('serve never answered /health')


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(('127.0.0.1', port)) == 0


def test_serve_can_leave_the_listener_to_a_separate_scp_process(tmp_path: Path) -> None:
    dicom_port = free_port()
    process, url = _serve(tmp_path / 'data', PACS_DICOM_PORT=str(dicom_port), PACS_DICOM_LISTENER='false')
    try:
        response = _health(process, url)
        assert response.status_code == 200
        assert response.json()['dicom'] == 'off'
        assert not _listening(dicom_port)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_runs_the_listener_by_default(tmp_path: Path) -> None:
    dicom_port = free_port()
    process, url = _serve(tmp_path / 'data', PACS_DICOM_PORT=str(dicom_port))
    try:
        response = _health(process, url)
        assert response.json()['dicom'] == 'ok'
        assert _listening(dicom_port)
    finally:
        process.terminate()
        process.wait(timeout=10)
