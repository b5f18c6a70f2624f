"""Server CPU per page view of the board, the patients list and a patient page, and per live change.

    .venv/bin/python bench/screen_cpu.py [--views 40] [--patients 2000] [--database-url postgresql+psycopg://...]
                                         [--profile OUT.pstats] [--watchers 20]

A demo clinic day plus generated patients (and a patient with studies and thumbnails) in a new data directory;
`main.py serve` in a process of its own (under bench/profiled_serve.py with --profile). Each page view is what a
browser does: GET the page with the session cookie, open NiceGUI's socket (implicit handshake), wait for the
page to settle, leave; the server's CPU time (utime+stime from /proc) over the views, minus what it spends idle
over as long, divided by the views, is the figure. The client is dropped by the server `reconnect_timeout` after
it left, which the measurement waits for, so the cost of deleting a page is counted too.

`move:NAME` (e.g. --pages board,move:board) shows the screen by moves within one open page instead (ui.sub_pages,
what a click on a menu entry or a row does): the CPU per move, the screen built and the last one deleted.

"Live change" opens --watchers board pages and keeps their sockets, then moves appointments from a second
process through the Redis relay (with --redis-url) or not at all: the server CPU per move over all watchers.
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import socketio
from sqlalchemy import insert, text

from bench.reception import patient_row
from bench.uiload_client import page_elements

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')
SETTLE_S = 0.4  # after the socket connected: what the page still sends (timers, awaited parts) arrives meanwhile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--views', type=int, default=40)
    parser.add_argument('--patients', type=int, default=2000)
    parser.add_argument('--database-url', default='')
    parser.add_argument('--redis-url', default='')
    parser.add_argument('--profile', default='')
    parser.add_argument('--watchers', type=int, default=0)
    parser.add_argument('--moves', type=int, default=10)
    parser.add_argument('--pages', default='board,patients,patients?search,patient,studies')
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix='bench-screens-'))
    try:
        environment, token, patient_id = _prepare(work, args)
        port = _free_port()
        environment['PACS_HTTP_PORT'] = str(port)
        command = [sys.executable, 'main.py', 'serve']
        if args.profile:
            command = [sys.executable, 'bench/profiled_serve.py', str(Path(args.profile).resolve()), 'serve']
        server = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=open(work / 'serve.log', 'wb')
        )
        try:
            asyncio.run(_measure(server.pid, port, token, patient_id, args=args, env=environment))
        finally:
            server.terminate()
            server.wait(60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _measure(pid: int, port: int, token: str, patient_id: int, *, args: argparse.Namespace, env: dict) -> None:
    base = f'http://127.0.0.1:{port}'
    async with httpx.AsyncClient(base_url=base, cookies={'pacs_session': token}, timeout=60) as http:
        for _ in range(600):
            try:
                if (await http.get('/health')).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        paths = {
            'board': '/board',
            'patients': '/patients',
            'patients?search': '/patients',  # the list after typing a name: one search round trip
            'patient': f'/patients/{patient_id}',
            'studies': '/studies',
            'account': '/account',  # the shell and a small form: what every page costs at least
        }
        print(f'load average {os.getloadavg()[0]:.2f}; {args.views} views per page', flush=True)
        for name in filter(None, args.pages.split(',')):
            if name.startswith('move:'):
                await _moves(pid, base, http, name, paths[name.removeprefix('move:')], views=args.views)
                continue
            for _ in range(3):  # warm: imports, caches, first queries
                await _view(http, base, paths[name], search=name.endswith('?search'))
            await _settle()
            idle = await _idle_rate(pid)
            before, started = _cpu_s(pid), time.monotonic()
            walls = []
            for _ in range(args.views):
                begun = time.monotonic()
                await _view(http, base, paths[name], search=name.endswith('?search'))
                walls.append(time.monotonic() - begun - SETTLE_S)
            await _settle()
            spent = _cpu_s(pid) - before - idle * (time.monotonic() - started)
            print(
                f'{name:16} {1000 * spent / args.views:7.1f} ms CPU per view '
                f'(wall p50 {1000 * statistics.median(walls):.0f} ms, idle {1000 * idle:.1f} ms/s)',
                flush=True,
            )
        if args.watchers:
            await _live(pid, base, http, args, env)


async def _live(pid: int, base: str, http: httpx.AsyncClient, args: argparse.Namespace, env: dict) -> None:
    """Board pages kept open while a second process moves appointments (the Redis relay carries the events)."""
    sockets = [await _open(http, base, '/board') for _ in range(args.watchers)]
    await asyncio.sleep(2)
    idle = await _idle_rate(pid)
    script = (
        'import sys, time\n'
        'from domain import appointments, db\n'
        'from domain.access import system\n'
        'from domain.settings import Settings\n'
        'from jobs import relay\n'
        'settings = Settings()\n'
        'db.configure(settings)\n'
        'bridge = relay.start(settings.redis_url)\n'
        'actor = system("bench")\n'
        'cards = [c for c in appointments.day(appointments.today(), by=actor) if c.state == "scheduled"]\n'
        f'for n in range({args.moves}):\n'
        '    card = cards[n % len(cards)]\n'
        '    appointments.move(card.id, "waiting" if (n // len(cards)) % 2 == 0 else "scheduled", by=actor)\n'
        '    time.sleep(0.5)\n'
        'bridge.close()\n'
        f'print({args.moves})\n'
    )
    before, started = _cpu_s(pid), time.monotonic()
    done = subprocess.run(
        [sys.executable, '-c', script], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300
    )
    await asyncio.sleep(2)
    moves = int(done.stdout.strip() or 0)
    spent = _cpu_s(pid) - before - idle * (time.monotonic() - started)
    print(f'live move       {1000 * spent / max(1, moves):7.1f} ms CPU per move with {args.watchers} boards open')
    for client in sockets:
        await client.disconnect()


async def _moves(pid: int, base: str, http: httpx.AsyncClient, name: str, path: str, *, views: int) -> None:
    """A screen shown by moves within one open page (ui.sub_pages: what a click on a menu entry or a row does), to
    the same screen with a query it ignores, so that each move builds it again and deletes the last one."""
    page = await _open(http, base, path)
    for n in range(3):  # warm
        await page.move(f'{path}?view={n}')
        await asyncio.sleep(SETTLE_S)
    await asyncio.sleep(2)
    idle = await _idle_rate(pid)
    before, started = _cpu_s(pid), time.monotonic()
    for n in range(views):
        await page.move(f'{path}?view={n + 3}')
        await asyncio.sleep(SETTLE_S)
    spent = _cpu_s(pid) - before - idle * (time.monotonic() - started)
    print(f'{name:16} {1000 * spent / views:7.1f} ms CPU per move (idle {1000 * idle:.1f} ms/s)', flush=True)
    await page.disconnect()


async def _view(http: httpx.AsyncClient, base: str, path: str, *, search: bool = False) -> None:
    client = await _open(http, base, path)
    if search:
        await asyncio.sleep(SETTLE_S / 2)
        await _type(client, 'Search', 'smi')
    await asyncio.sleep(SETTLE_S)
    await client.disconnect()


async def _open(http: httpx.AsyncClient, base: str, path: str) -> 'PageSocket':
    response = await http.get(path)
    response.raise_for_status()
    match = re.search(r'[\'"]client_id[\'"]:\s*[\'"]([^\'"]+)[\'"]', response.text)
    if match is None:
        raise RuntimeError(f'{path}: no NiceGUI client in the answer ({response.status_code})')
    page = PageSocket(match.group(1), response.text)
    await page.connect(base, http)
    return page


class PageSocket:
    """A page's socket as nicegui.js opens it (implicit handshake)."""

    def __init__(self, client_id: str, html: str) -> None:
        self.client_id = client_id
        self.elements: dict[str, dict] = page_elements(html) or {}  # as the page's HTML sent them
        self.sio = socketio.AsyncClient(reconnection=False)

    async def connect(self, base: str, http: httpx.AsyncClient) -> None:
        query = (
            f'client_id={self.client_id}&next_message_id=0&implicit_handshake=true'
            f'&document_id={uuid.uuid4()}&tab_id={uuid.uuid4()}&old_tab_id='
        )
        cookie = '; '.join(f'{k}={v}' for k, v in http.cookies.items())
        await self.sio.connect(
            f'{base}?{query}',
            socketio_path='/_nicegui_ws/socket.io',
            transports=['websocket'],
            headers={'Cookie': cookie},
        )

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def move(self, path: str) -> None:
        """Go to `path` within the page, as sub_pages.js does on a click on a link (the page's own event)."""
        layout = self.elements.get('0', {})
        listener = next((e for e in layout.get('events', []) if e['type'] == 'sub_pages_navigate'), None)
        if listener is None:
            raise RuntimeError('this page has no moves within it (ui.sub_pages)')
        message = {
            'id': 0,
            'client_id': self.client_id,
            'listener_id': listener['listener_id'],
            'args': [json.dumps(path)],
        }
        await self.sio.emit('event', message)


async def _type(page: PageSocket, label_start: str, value: str) -> None:
    """Send an input's value change the way Quasar does, to the q-input whose label starts so."""
    for element_id, element in page.elements.items():
        if element.get('tag') == 'q-input' and str(element.get('props', {}).get('label', '')).startswith(label_start):
            for listener in element.get('events', []):
                if listener['type'] == 'update:model-value':
                    await page.sio.emit(
                        'event',
                        {
                            'id': int(element_id),
                            'client_id': page.client_id,
                            'listener_id': listener['listener_id'],
                            'args': [json.dumps(value)],
                        },
                    )
                    return


def _cpu_s(pid: int) -> float:
    """utime+stime of the process and its threads, in seconds."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def _idle_rate(pid: int, seconds: float = 3.0) -> float:
    before = _cpu_s(pid)
    await asyncio.sleep(seconds)
    return (_cpu_s(pid) - before) / seconds


async def _settle() -> None:
    await asyncio.sleep(11.0)  # main.py's reconnect_timeout (10 s): the views' clients are deleted meanwhile


def _prepare(work: Path, args: argparse.Namespace) -> tuple[dict[str, str], str, int]:
    """The data directory, database and session cookie; returns the server's environment, token, patient id."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith('PACS_')}
    environment.update(
        PACS_DATA_DIR=str(work),
        PACS_DICOM_PORT=str(_free_port()),
        PACS_ADMIN_PASSWORD='bench admin password 1',
        PACS_SECRET='bench-secret-' + 'x' * 32,
    )
    if args.database_url:
        from sqlalchemy import create_engine

        owner = create_engine(args.database_url, isolation_level='AUTOCOMMIT')
        name = f'bench_screens_{os.getpid()}'
        with owner.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS {name}'))
            connection.execute(text(f'CREATE DATABASE {name}'))
        owner.dispose()
        environment['PACS_DATABASE_URL'] = args.database_url.rsplit('/', 1)[0] + f'/{name}'
    if args.redis_url:
        environment['PACS_REDIS_URL'] = args.redis_url
    subprocess.run(
        [sys.executable, 'main.py', 'demo'], cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL
    )
    os.environ.update({k: v for k, v in environment.items() if k.startswith('PACS_')})
    from domain import auth, db, patient_search
    from domain.models import Patient, PatientToken, Series, Study, User
    from domain.settings import Settings

    settings = Settings()
    db.configure(settings)
    auth.configure(settings)
    _generate(args.patients, patient_search, Patient, PatientToken)
    with db.transaction() as session:
        study = session.exec(text('SELECT id, patient_ref_id FROM study WHERE patient_ref_id IS NOT NULL')).first()  # type: ignore[call-overload]
        study_id, patient_id = study[0], study[1]
        png = _png()
        (work / 'thumbnails').mkdir(exist_ok=True)
        for n in range(4):
            relative = f'thumbnails/bench-{n}.png'
            (work / relative).write_bytes(png)
            session.add(
                Series(
                    study_id=study_id,
                    series_instance_uid=f'1.2.826.0.1.3680043.8.498.{n + 1}.{random.randint(1, 10**9)}',
                    modality='CT',
                    series_number=n + 1,
                    num_instances=10,
                    thumbnail_path=relative,
                )
            )
        admin = session.exec(text('SELECT id FROM "user" WHERE role = \'admin\' ORDER BY id')).first()  # type: ignore[call-overload]
        user = session.get(User, admin[0])
        assert user is not None and isinstance(session.get(Study, study_id), Study)
    ticket = auth.open_session(user, address='127.0.0.1', browser='bench')
    result = auth.redeem(ticket, browser='bench')
    assert result is not None
    db.dispose()
    return environment, result.token, patient_id


def _generate(count: int, patient_search, Patient, PatientToken) -> None:
    from domain import db

    rng = random.Random(1)
    family = ['Smith', 'Müller', 'García', 'Иванов', 'Nguyen', 'Kowalski', 'Rossi', 'Dubois', 'Okafor', 'Novák']
    given = ['Jane', 'John', 'Jürgen', 'Lucía', 'Anna', 'Marco', 'Amélie', 'Chidi', 'Olga', 'Omar']
    now = datetime.now().astimezone()
    rows = []
    for n in range(1, count + 1):
        f, g = rng.choice(family), rng.choice(given)
        rows.append(patient_row(f'B{n:07d}', f, g, rng, now))
    with db.engine().begin() as connection:
        connection.execute(insert(Patient), rows)
        found = connection.execute(text("SELECT id, name_key, phone FROM patient WHERE patient_id LIKE 'B%'")).all()
        tokens = [
            {'patient_id': pid, 'token': token}
            for pid, key, phone in found
            for token in patient_search.tokens_of(Patient(name_key=key, phone=phone, patient_id='', family_name=''))
        ]
        connection.execute(insert(PatientToken), tokens)


def _png() -> bytes:
    """A 128×128 grey PNG (about what a series thumbnail weighs)."""
    import struct
    import zlib

    rows = b''.join(b'\x00' + bytes((x * 7 + y * 3) % 256 for x in range(128)) for y in range(128))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    header = struct.pack('>IIBBBBB', 128, 128, 8, 0, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


if __name__ == '__main__':
    main()
