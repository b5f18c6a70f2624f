"""Start-up and sign-in figures (issue 3), with Orthanc's start-up measured in the same run as reference.

- start-up: `main.py serve` in the embedded mode until GET /health answers 200 (fresh data directory,
  and again with an existing one), against Orthanc until GET /system answers;
- sign-in: server time from the login form to the home screen = auth.login (production argon2
  parameters) + building '/' for the new session, through NiceGUI's simulated user (no browser, no network).

Rounds are interleaved; medians are printed. Run: .venv/bin/python bench/startup.py [--rounds N]
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = 'bench admin password'
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f'{process.args} exited with {process.returncode}')
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError(url)


def serve_env(data_dir: Path, http_port: int) -> dict[str, str]:
    """The environment of a `main.py serve` of its own: this data dir, free ports, a known admin password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    env.update(
        PACS_DATA_DIR=str(data_dir),
        PACS_HTTP_HOST='127.0.0.1',
        PACS_HTTP_PORT=str(http_port),
        PACS_DICOM_PORT=str(free_port()),
        PACS_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    return env


def clinicpacs_startup(data_dir: Path) -> float:
    port = free_port()
    env = serve_env(data_dir, port)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'serve'], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_http(f'http://127.0.0.1:{port}/health', process)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


def orthanc_startup(work: Path) -> float | None:
    binary = shutil.which('Orthanc') or '/usr/sbin/Orthanc'
    if not Path(binary).exists():
        return None
    port = free_port()
    storage = work / f'orthanc-{port}'
    storage.mkdir()
    config = storage / 'orthanc.json'
    config.write_text(
        json.dumps(
            {
                'Name': 'bench',
                'StorageDirectory': str(storage / 'db'),
                'IndexDirectory': str(storage / 'db'),
                'HttpPort': port,
                'DicomPort': free_port(),
                'RemoteAccessAllowed': False,
                'AuthenticationEnabled': False,
                'Plugins': [],
            }
        )
    )
    started = time.perf_counter()
    process = subprocess.Popen([binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f'http://127.0.0.1:{port}/system', process)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


async def sign_in_rounds(rounds: int, work: Path) -> tuple[list[float], list[float]]:
    from nicegui.testing.user_simulation import user_simulation

    from domain import auth, db, users
    from domain.access import system
    from domain.models import UserCreate
    from domain.settings import Settings
    from ui import live, register_pages

    logins, homes = [], []
    db.configure(Settings(_env_file=None, data_dir=work / 'signin'))  # type: ignore[call-arg]
    db.upgrade()
    users.create(UserCreate(username='bench', role='radiologist', password='bench password 123'), by=system())
    async with user_simulation() as user:
        register_pages()
        live.start_bridge()
        await user.open('/login')
        from nicegui import app

        for _ in range(rounds):
            started = time.perf_counter()
            result = await asyncio.to_thread(auth.login, 'bench', 'bench password 123', address='127.0.0.1')
            logins.append(time.perf_counter() - started)
            app.storage.user['session'] = result.token
            started = time.perf_counter()
            response = await user.http_client.get('/')
            homes.append(time.perf_counter() - started)
            assert response.status_code == 200 and 'Welcome' in response.text, response.status_code
    db.dispose()
    return logins, homes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    fresh, existing, orthanc = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kept = work / 'kept'
        clinicpacs_startup(kept)  # create and migrate once
        for round_number in range(args.rounds):
            fresh.append(clinicpacs_startup(work / f'fresh-{round_number}'))
            existing.append(clinicpacs_startup(kept))
            if (measured := orthanc_startup(work)) is not None:
                orthanc.append(measured)
        logins, homes = asyncio.run(sign_in_rounds(args.rounds * 4, work))
    median = statistics.median
    print(f'start-up to healthy /health, fresh data dir:    {median(fresh):.2f} s (median of {len(fresh)})')
    print(f'start-up to healthy /health, existing data dir: {median(existing):.2f} s (target <= 3 s)')
    if orthanc:
        print(
            f'Orthanc start-up to /system (reference):        {median(orthanc):.2f} s  '
            f'ratio ClinicPACS/Orthanc = {median(existing) / median(orthanc):.2f}'
        )
    print(
        f'sign-in server time: login {median(logins) * 1000:.0f} ms + home screen {median(homes) * 1000:.0f} ms '
        f'= {(median(logins) + median(homes)) * 1000:.0f} ms (target <= 300 ms)'
    )


if __name__ == '__main__':
    main()
