"""A login storm must not slow the clinic (issue 12): pages and /health during 50 parallel wrong Basic logins.

One `main.py serve` (embedded mode, production argon2) with a demo day. Ten signed-in sessions each load a
screen (patients, board, appointments, reading worklist in turn) every 1-3 s and keep it open over socket.io as
a browser does, and a prober asks /health five times a second. In the storm phases a separate process runs 50
connections that send wrong HTTP Basic credentials to /dicomweb/studies as fast as the server answers. Calm and
storm phases alternate (interleaved); page and /health times are collected per phase kind and printed as p50 /
p95 with the storm/calm ratio, and the storm's own answers are counted (429 = refused at once, 401 = a password
was checked).

Targets: page p95 <= 300 ms and /health p95 <= 100 ms during the storm.

Run: .venv/bin/python bench/security.py [--rounds 3] [--calm 20] [--storm 30]
"""

import argparse
import asyncio
import multiprocessing
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import httpx
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import ADMIN_PASSWORD, free_port, serve_env, wait_http  # noqa: E402

SESSIONS = 10
STORM_CONNECTIONS = 50
SCREENS = ('/patients', '/board', '/appointments', '/reading')
THINK_S = (1.0, 3.0)  # a person reads a screen for 1-3 s before opening the next
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")  # in NiceGUI's page, as its own test client reads it


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = serve_env(data_dir, port)
    subprocess.run([sys.executable, 'main.py', 'demo'], cwd=ROOT, env=env, check=True, capture_output=True)
    log = (data_dir.parent / 'serve.log').open('w')
    process = subprocess.Popen([sys.executable, 'main.py', 'serve'], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f'http://127.0.0.1:{port}'
    wait_http(f'{url}/health', process)
    return process, url


def session_tokens(data_dir: Path) -> list[str]:
    """Ten sessions of the administrator, opened the way the login screen does (ticket, then the trade)."""
    from domain import auth, db, mfa
    from domain.settings import Settings

    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    db.configure(settings)
    auth.configure(settings)
    mfa.configure(settings)
    tokens = [auth.login('admin', ADMIN_PASSWORD, address='127.0.0.1').token for _ in range(SESSIONS)]
    db.dispose()
    return tokens


def storm(url: str, seconds: float, results: 'multiprocessing.Queue[dict[int, int]]') -> None:
    """50 connections sending wrong Basic credentials until the time is up (its own process: its own CPU)."""

    async def attacker(client: httpx.AsyncClient, n: int, until: float, counts: Counter[int]) -> None:
        attempt = 0
        while time.monotonic() < until:
            attempt += 1
            try:
                response = await client.get(f'{url}/dicomweb/studies', auth=(f'ghost{n}-{attempt}', 'wrong password'))
                counts[response.status_code] += 1
            except httpx.HTTPError:
                counts[0] += 1

    async def main() -> dict[int, int]:
        counts: Counter[int] = Counter()
        limits = httpx.Limits(max_connections=STORM_CONNECTIONS, max_keepalive_connections=STORM_CONNECTIONS)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            until = time.monotonic() + seconds
            await asyncio.gather(*(attacker(client, n, until, counts) for n in range(STORM_CONNECTIONS)))
        return dict(counts)

    results.put(asyncio.run(main()))


async def measure(url: str, tokens: list[str], seconds: float) -> tuple[list[float], list[float], int]:
    """Page times of the ten sessions and /health times, in ms, for `seconds`; and the count of wrong answers."""
    pages: list[float] = []
    health: list[float] = []
    errors = 0
    until = time.monotonic() + seconds

    async def reader(token: str, offset: int) -> None:
        nonlocal errors
        pace = random.Random(offset)
        socket: socketio.AsyncClient | None = None
        async with httpx.AsyncClient(cookies={'pacs_session': token}, timeout=30) as client:
            n = offset
            await asyncio.sleep(pace.uniform(0, THINK_S[1]))  # people do not all click at the same moment
            while time.monotonic() < until:
                started = time.perf_counter()
                response = await client.get(f'{url}{SCREENS[n % len(SCREENS)]}')
                pages.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:  # a lost session would be a redirect to /login
                    errors += 1
                n += 1
                if socket is not None:  # leaving the previous screen, as a browser does
                    await socket.disconnect()
                socket = await connect(token, response.text)
                await asyncio.sleep(pace.uniform(*THINK_S))
        if socket is not None:
            await socket.disconnect()

    async def connect(token: str, page: str) -> socketio.AsyncClient | None:
        """The page's socket.io connection, as NiceGUI's own script opens it (so the screen is live, not stale)."""
        found = CLIENT_ID.search(page)
        if found is None:
            return None
        socket = socketio.AsyncClient()
        query = urlencode(
            {
                'client_id': found.group(1),
                'tab_id': uuid.uuid4().hex,
                'document_id': uuid.uuid4().hex,
                'implicit_handshake': 'true',
            }
        )
        await socket.connect(
            f'{url}?{query}',
            socketio_path='/_nicegui_ws/socket.io',
            transports=['websocket'],
            headers={'Cookie': f'pacs_session={token}'},
        )
        return socket

    async def prober() -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() < until:
                started = time.perf_counter()
                response = await client.get(f'{url}/health')
                health.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(reader(token, i) for i, token in enumerate(tokens)), prober())
    return pages, health, errors


def p(values: list[float], q: float) -> float:
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--calm', type=float, default=20.0, help='seconds without the storm per round')
    parser.add_argument('--storm', type=float, default=30.0, help='seconds of storm per round')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / 'data'
        process, url = start_server(data_dir)
        try:
            tokens = session_tokens(data_dir)
            figures: dict[str, dict[str, list[float]]] = {
                kind: {'pages': [], 'health': []} for kind in ('calm', 'storm')
            }
            errors: Counter[str] = Counter()
            answers: Counter[int] = Counter()
            asyncio.run(measure(url, tokens, 10))  # warm-up: first builds of each screen, caches
            for round_ in range(args.rounds):
                pages, health, wrong = asyncio.run(measure(url, tokens, args.calm))
                figures['calm']['pages'] += pages
                figures['calm']['health'] += health
                errors['calm'] += wrong
                queue: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
                attacker = multiprocessing.Process(target=storm, args=(url, args.storm, queue))
                attacker.start()
                time.sleep(1)  # the storm is under way
                pages, health, wrong = asyncio.run(measure(url, tokens, args.storm - 2))
                answers.update(queue.get())
                attacker.join()
                figures['storm']['pages'] += pages
                figures['storm']['health'] += health
                errors['storm'] += wrong
                print(f'round {round_ + 1}/{args.rounds} done', flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f'\n{SESSIONS} signed-in sessions loading screens; storm = {STORM_CONNECTIONS} parallel wrong Basic logins')
    print(
        f'{"":8} {"pages n":>8} {"p50 ms":>8} {"p95 ms":>8} {"health n":>9} {"p50 ms":>8} {"p95 ms":>8} {"errors":>7}'
    )
    for kind in ('calm', 'storm'):
        page_times, health_times = figures[kind]['pages'], figures[kind]['health']
        print(
            f'{kind:8} {len(page_times):8d} {p(page_times, 0.5):8.0f} {p(page_times, 0.95):8.0f} '
            f'{len(health_times):8d} {p(health_times, 0.5):8.1f} {p(health_times, 0.95):8.1f} {errors[kind]:7d}'
        )
    calm, stormy = figures['calm'], figures['storm']
    print(
        f'storm/calm p95: pages {p(stormy["pages"], 0.95) / p(calm["pages"], 0.95):.2f}x, '
        f'/health {p(stormy["health"], 0.95) / p(calm["health"], 0.95):.2f}x'
    )
    total = sum(answers.values())
    seconds = args.rounds * args.storm
    print(
        f'storm answers: {total} in {seconds:.0f} s ({total / seconds:.0f}/s): '
        + ', '.join(f'{code or "failed"}: {count}' for code, count in sorted(answers.items()))
    )
    page_ok = p(stormy['pages'], 0.95) <= 300
    health_ok = p(stormy['health'], 0.95) <= 100
    verdict = {True: 'met', False: 'NOT met'}
    print(f'targets: page p95 <= 300 ms {verdict[page_ok]}; /health p95 <= 100 ms {verdict[health_ok]}')
    print(f'(median of calm pages {statistics.median(calm["pages"]):.0f} ms)')


if __name__ == '__main__':
    main()
