"""/health of real processes: the embedded server counts itself as the worker; in the scaled mode (its own Redis)
the web process is degraded until a `main.py worker` beats, and again once that worker stops."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, listening, need_tool, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis server of this test's own on a free port (never the shared one)."""
    port = free_port()
    server = subprocess.Popen(
        [need_tool('redis-server'), '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listening(port), 'redis-server to listen')
        yield f'redis://127.0.0.1:{port}/0'
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_embedded_server_counts_itself_as_the_job_worker(tmp_path: Path) -> None:
    with _running(tmp_path, 'serve', PACS_DICOM_LISTENER='false') as url:
        body = _health(url, lambda body: body.get('workers_alive') == 1)
    assert (body['status'], body['mode'], body['broker_latency_ms']) == ('ok', 'embedded', 0)
    assert body['database_latency_ms'] >= 0


def test_a_scaled_web_process_is_degraded_until_a_worker_beats_and_again_after_it_stops(
    tmp_path: Path, redis_url: str
) -> None:
    scaled = {'PACS_REDIS_URL': redis_url, 'PACS_DICOM_LISTENER': 'false'}
    with _running(tmp_path, 'serve', **scaled) as url:
        alone = _health(url, lambda body: 'workers_alive' in body)
        assert (alone['status'], alone['mode'], alone['reason']) == ('degraded', 'scaled', 'no job worker alive')
        assert (alone['workers_alive'], alone['processes_alive']) == (0, 1)  # the web process beats, runs no jobs
        assert alone['broker'] == 'ok' and alone['broker_latency_ms'] >= 0
        with _running(tmp_path, 'worker', **scaled):
            joined = _health(url, lambda body: body['status'] == 'ok')
            assert (joined['workers_alive'], joined['processes_alive']) == (1, 2)
        left = _health(url, lambda body: body['workers_alive'] == 0)  # a clean stop removes its heartbeat at once
        assert left['reason'] == 'no job worker alive'


class _running:
    """`main.py COMMAND` in the test's data directory, stopped with SIGTERM as a service manager does."""

    def __init__(self, root: Path, command: str, **env: str) -> None:
        self.root, self.command, self.env = root, command, env
        self.http_port = free_port()

    def __enter__(self) -> str:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
        environment.update(
            PACS_DATA_DIR=str(self.root / 'data'),
            PACS_HTTP_HOST='127.0.0.1',
            PACS_HTTP_PORT=str(self.http_port),
            PACS_DICOM_PORT=str(free_port()),
            PACS_ADMIN_PASSWORD='served admin password',
            **self.env,
        )
        self.log = (self.root / f'{self.command}.log').open('w')
        self.process = subprocess.Popen(
            [sys.executable, 'main.py', self.command],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return f'http://127.0.0.1:{self.http_port}/health'

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def _health(url: str, wanted: Callable[[dict], bool]) -> dict:
    """Poll /health until its JSON body satisfies `wanted`."""

    def answer() -> dict | None:
        try:
            body = httpx.get(url, timeout=5).json()
        except httpx.HTTPError:
            return None
        return body if wanted(body) else None

    return wait_until(answer, f'/health to answer as wanted at {url}', timeout=60)
