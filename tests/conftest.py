"""Shared fixtures: a fresh clinic (data directory, database, one user per role) for every test.

Variants: PACS_TEST_DATABASE_URL (PostgreSQL) runs the service tests under tests/domain and tests/jobs
on both SQLite and PostgreSQL; PACS_TEST_REDIS_URL switches the Redis tests on. PACS_REQUIRE_ALL=1
(set by .ci/run) turns every skip into a failure, so CI proves what a plain `make test` may skip.

Under pytest-xdist (`make test` runs two workers) each worker has its own of everything that lives outside the test's
tmp_path: its own PostgreSQL database (`test_gw0`, `test_gw1`: the configured name plus the worker id, created if
missing), its own Redis database (the configured number minus the worker's index: 15, 14) and its own share of free
ports. The worker's URLs are written back to PACS_TEST_DATABASE_URL and PACS_TEST_REDIS_URL before any test module
is imported, so a fixture that reads those variables (or PG_URL / REDIS_URL here) gets its worker's own.
"""

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from nicegui import ElementFilter, context
from nicegui.testing import User
from nicegui.testing.user_navigate import UserNavigate
from nicegui.testing.user_notify import UserNotify
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from domain import auth, centres, clock, db, events, models, options, users, viewing
from domain.access import Actor, system
from domain.models import Role, UserCreate
from domain.settings import Settings

WORKER = os.environ.get('PYTEST_XDIST_WORKER', '')  # 'gw0', 'gw1', ... in a pytest-xdist worker; '' in a serial run
WORKER_INDEX = int(WORKER.removeprefix('gw')) if WORKER.startswith('gw') else 0
WORKER_COUNT = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1')) if WORKER else 1
REDIS_DATABASES = 16  # Redis's default number of databases


def _worker_database_url(url: str) -> str:
    """The worker's own PostgreSQL database: the configured one with the worker id appended (`test` -> `test_gw1`)."""
    if not url or not WORKER:
        return url
    configured = make_url(url)
    return configured.set(database=f'{configured.database}_{WORKER}').render_as_string(hide_password=False)


def _worker_redis_url(url: str) -> str:
    """The worker's own Redis database: the configured number minus the worker's index (`/15` -> `/14` for gw1)."""
    if not url or not WORKER:
        return url
    parts = urlsplit(url)
    number = (int(parts.path.strip('/') or 0) - WORKER_INDEX) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f'/{number}'))


os.environ.update(
    {
        name: _worker_url(os.environ[name])
        for name, _worker_url in (
            ('PACS_TEST_DATABASE_URL', _worker_database_url),
            ('PACS_TEST_REDIS_URL', _worker_redis_url),
        )
        if os.environ.get(name)
    }
)
PG_URL = os.environ.get('PACS_TEST_DATABASE_URL', '')
REDIS_URL = os.environ.get('PACS_TEST_REDIS_URL', '')
REQUIRE_ALL = os.environ.get('PACS_REQUIRE_ALL') == '1'
BOTH_DATABASES = ('tests/domain', 'tests/jobs')
PASSWORD = 'correct horse battery'
# How long a test waits for what it expects: a wait ends as soon as the condition holds, so this only costs time on
# a loaded machine or when the test is about to fail. Speed is measured in bench/, never asserted here.
WAIT_S = 20.0
POLL_S = 0.05  # how often eventually / wait_until look again
T = TypeVar('T')

# Cheap argon2 parameters: the suite creates many accounts; production keeps passlib's defaults.
auth.passwords.update(argon2__memory_cost=1024, argon2__rounds=1, argon2__parallelism=1)


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str
    user_id: int

    @property
    def actor(self) -> Actor:
        """An actor for calling services directly (no login session to check), seeing its account's centres."""
        with db.reading() as session:
            staff = session.get(models.User, self.user_id)
        seen = centres.of_user(staff) if staff is not None else None
        return Actor(role=self.role, username=self.username, user_id=self.user_id, address='127.0.0.1', centres=seen)


@dataclass(frozen=True)
class Clinic:
    settings: Settings
    receptionist: Account
    technician: Account
    radiologist: Account
    admin: Account
    centre: Account  # the centre role, of the clinic's one centre

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def account(self, role: str) -> Account:
        return getattr(self, role)


# Files that start servers, browsers, peers or their own PostgreSQL/Redis, run first so the two xdist workers finish
# together (`make test` passes --no-loadscope-reorder: xdist's own order, most tests first, left these few-test,
# minute-long files for the end, one worker busy for minutes while the other had nothing left). Roughly longest first.
HEAVY_FIRST = (
    'tests/browser/',
    'tests/faults/',
    'tests/test_web_processes.py',
    'tests/domain/test_backup_during_push.py',
    'tests/dicom/test_stow_served.py',
    'tests/security/test_ops_access.py',
    'tests/test_cli.py',
    'tests/domain/test_demo.py',
    'tests/dicom/test_retrieve_peers.py',
    'tests/test_serve.py',
    'tests/test_health_served.py',
    'tests/security/test_dicom_limits.py',
    'tests/security/test_centre_isolation.py',
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """HEAVY_FIRST's files first, in its order; the rest as collected (a stable sort keeps each file's own order)."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split('::', 1)[0]
        return next((n for n, prefix in enumerate(HEAVY_FIRST) if path.startswith(prefix)), len(HEAVY_FIRST))

    items.sort(key=rank)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Service tests run on every configured database; the rest on SQLite."""
    if 'backend' in metafunc.fixturenames or 'clinic' in metafunc.fixturenames:
        path = Path(str(metafunc.definition.path)).as_posix()
        if any(f'/{part}/' in path for part in BOTH_DATABASES):
            metafunc.parametrize('backend', ['sqlite', 'postgres'], indirect=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    """A worker's own PostgreSQL database exists before its first test (created from template0 if missing)."""
    if not PG_URL or not WORKER:
        return
    name = make_url(PG_URL).database
    maintenance = create_engine(make_url(PG_URL).set(database='postgres'), isolation_level='AUTOCOMMIT')
    try:
        with maintenance.connect() as connection:
            if connection.execute(text('SELECT 1 FROM pg_database WHERE datname = :name'), {'name': name}).first():
                return
            try:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
            except ProgrammingError as error:  # another run's worker of the same id created it a moment ago
                if getattr(error.orig, 'sqlstate', None) != '42P04':  # duplicate_database
                    raise
    finally:
        maintenance.dispose()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    name = getattr(request, 'param', 'sqlite')
    if name == 'postgres' and not PG_URL:
        pytest.skip('PostgreSQL variant off: set PACS_TEST_DATABASE_URL')
    return name


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / 'data').mkdir()
    return Settings(
        _env_file=None,
        data_dir=tmp_path / 'data',
        database_url=None,
        redis_url=None,  # type: ignore[call-arg]
        dicom_port=0,
        http_port=8080,
    )


@contextmanager
def own_database(backend: str, settings: Settings) -> Iterator[Settings]:
    """An empty database configured for this test (a schema of its own on PostgreSQL), dropped after it."""
    schema = f't_{uuid.uuid4().hex[:12]}'
    if backend == 'postgres':
        admin_engine = create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA {schema}'))
        configured = settings.model_copy(update={'database_url': PG_URL})
        db.configure(configured, connect_args={'options': f'-csearch_path={schema}'})
    else:
        configured = settings
        db.configure(configured)
    try:
        yield configured
    finally:
        db.dispose()
        if backend == 'postgres':
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP SCHEMA {schema} CASCADE'))
            admin_engine.dispose()


@pytest.fixture
def database(backend: str, settings: Settings) -> Iterator[Settings]:
    """A migrated-shape, empty database for this test (a schema of its own on PostgreSQL)."""
    with own_database(backend, settings) as configured:
        db.create_all()
        auth.configure(configured)
        yield configured


@pytest.fixture
def clinic(database: Settings) -> Clinic:
    """A clinic with one active account per role, all with the password PASSWORD."""
    accounts = {}
    for role in Role:
        name = f'{role.value}1'
        created = users.create(
            UserCreate(username=name, full_name=f'Test {role.value}', role=role.value, password=PASSWORD),
            by=system('test'),
        )
        accounts[role.value] = Account(name, PASSWORD, role.value, created.id or 0)
    return Clinic(settings=database, **accounts)


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    yield
    centres.set_scope(None)  # a service called directly by a test as centre staff limited this thread's queries
    events.reset()
    options.clear_overrides()
    clock.reset()
    viewing.forget_views()  # which views were audited belongs to the test's database


async def eventually(check: Callable[[], T], what: str, *, timeout: float = WAIT_S) -> T:
    """Poll `check` until it returns something truthy (and return that) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(f'waited {timeout:.0f} s for {what}')
        await asyncio.sleep(POLL_S)
    return result


def wait_until(check: Callable[[], T | None], what: str, *, timeout: float = WAIT_S) -> T:
    """`eventually` for code outside the event loop (a server in another process): poll `check` until truthy."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(f'waited {timeout:.0f} s for {what}')
        time.sleep(POLL_S)  # the poll interval of this condition wait, not a wait for time to pass
    return result


def press(user: User, marker: str, action: str, id: str | int, value: str = '') -> None:
    """Click the `action` button of row `id` in a list drawn as one element (ui/html_actions.py): the event a browser
    sends when such a button is clicked."""
    user.find(marker=marker).trigger('click', {'action': action, 'id': str(id), 'value': value})


def shown_html(user: User, marker: str) -> str:
    """The HTML of the elements marked `marker` (a list drawn as one element), as the user's page holds it."""
    assert user.client is not None
    with user.client:
        return ''.join(str(e.content) for e in ElementFilter(marker=marker))


def pressable(user: User, marker: str, button_mark: str) -> bool:
    """Whether the list marked `marker` shows a button marked `button_mark` (ui/html_actions.py's data-mark)."""
    return f'data-mark="{button_mark}"' in shown_html(user, marker)


class PatientUser(User):
    """NiceGUI's simulated user, looking again until WAIT_S has passed instead of three looks 0.1 s apart.

    NiceGUI's default fails on a busy 2-core machine while the page is still on its way; `retries` is its public
    way to wait longer (one look, then 0.1 s for should_see and 0.05 s for should_not_see).
    """

    async def should_see(self, *args: Any, retries: int = 0, **kwargs: Any) -> None:  # type: ignore[override]
        await super().should_see(*args, retries=max(retries, int(WAIT_S / 0.1)), **kwargs)

    async def should_not_see(self, *args: Any, retries: int = 0, **kwargs: Any) -> None:  # type: ignore[override]
        await super().should_not_see(*args, retries=max(retries, int(WAIT_S / 0.05)), **kwargs)


_simulated_users: weakref.WeakSet[User] = weakref.WeakSet()


def _page_owner(fallback: User) -> User:
    """The simulated user whose open page is running this code (a handler, a timer), else `fallback`."""
    try:
        client = context.client
    except RuntimeError:  # not inside any page
        return fallback
    for user in list(_simulated_users):
        if object.__getattribute__(user, 'client') is client:  # without User.__getattribute__'s rebinding
            return user
    return fallback


class _OwnNavigate(UserNavigate):
    """ui.navigate for the user whose page navigates.

    NiceGUI's simulation has one global ui.navigate and ui.notify, rebound to whichever simulated user had an
    attribute read last; with several users open, a redirect or notice from one user's page (a sign-in, a live
    refresh) could reach another user. A real browser only ever navigates itself, so these send it to the page's own.
    """

    def to(self, target: Any, new_tab: bool = False) -> None:
        UserNavigate.to(self._own(), target, new_tab)

    def back(self) -> None:
        UserNavigate.back(self._own())

    def forward(self) -> None:
        UserNavigate.forward(self._own())

    def reload(self) -> None:
        UserNavigate.reload(self._own())

    def _own(self) -> UserNavigate:
        return object.__getattribute__(_page_owner(self.user), 'navigate')


class _OwnNotify(UserNotify):
    """ui.notify for the user whose page shows the notice (see _OwnNavigate)."""

    def __init__(self, user: User) -> None:
        super().__init__()
        self.user = user

    def __call__(self, message: str, **kwargs: Any) -> None:
        UserNotify.__call__(object.__getattribute__(_page_owner(self.user), 'notify'), message, **kwargs)


def _patient(user: User) -> PatientUser:
    user.__class__ = PatientUser  # the same object, so NiceGUI's fixture still tears it down
    user.navigate, user.notify = _OwnNavigate(user), _OwnNotify(user)
    _simulated_users.add(user)
    return user  # type: ignore[return-value]


@pytest.fixture
def user(user: User) -> PatientUser:
    """The user_plugin's simulated user, waiting patiently (every screen test gets it through this fixture)."""
    return _patient(user)


@pytest.fixture
def create_user(create_user: Callable[[], User]) -> Callable[[], PatientUser]:
    """The user_plugin's factory for more simulated users, each waiting patiently."""
    return lambda: _patient(create_user())


ROOT = Path(__file__).resolve().parent.parent


def run_main(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """`main.py ARGS` as the console runs it: this data directory, no PACS_* of the test run, the given variables."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith('PACS_')}
    environment.update({'PACS_DATA_DIR': str(data_dir), **env})
    return subprocess.run(
        [sys.executable, 'main.py', *args],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


_ports_given: set[int] = set()
EPHEMERAL = Path('/proc/sys/net/ipv4/ip_local_port_range')


def _server_ports() -> list[int]:
    """The ports a test's server may be given, shuffled: 20000 and up, outside the kernel's ephemeral range. An
    outgoing connection (to PostgreSQL, Redis, a served ClinicPACS) takes its local port from that range, so a port
    probed free there could be a client's a moment later, and the server given it failed to bind (seen in CI)."""
    try:
        low, high = (int(value) for value in EPHEMERAL.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    ports = [port for port in range(20000, 65536) if not low <= port <= high]
    random.shuffle(ports)
    return ports


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses (bound once, then released), never one an outgoing connection
    could take meanwhile (see _server_ports).

    Never the same port twice in one test process (a server started later still owns the port it was given), and
    under pytest-xdist only ports of this worker's share (port // 2 % workers == worker index), so two workers never
    give one port to two servers. Every test that starts a server of its own picks its ports here.
    """
    for port in _server_ports():
        if port in _ports_given or port // 2 % WORKER_COUNT != WORKER_INDEX:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(('127.0.0.1', port))
            except OSError:  # in use, or still in TIME_WAIT from an earlier server
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError('no free port of this worker left on 127.0.0.1')


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(('127.0.0.1', port)) == 0


@contextmanager
def job_worker() -> Iterator[None]:
    """Database jobs run by the in-process broker with two worker threads, as in the embedded server."""
    import dramatiq

    from jobs import broker, dispatch

    broker.setup(None)
    unsubscribe = dispatch.start()
    running = dramatiq.Worker(broker.broker, worker_threads=2, worker_timeout=50)
    running.start()
    try:
        yield
    finally:
        running.stop()
        unsubscribe()


async def sign_in(user: User, account: Account) -> None:
    """Fill in the real login page and wait for the home screen."""
    for _ in range(3):
        await user.open('/login')
        user.find(marker='username').type(account.username)
        user.find(marker='password').type(account.password)
        user.find(marker='sign-in').click()
        try:
            await user.should_see(marker='user-menu')
            return
        except AssertionError:
            # NOTE: NiceGUI's simulation keeps one global ui.navigate, bound to the simulated user whose attributes
            # were read last (a page of another open user running JavaScript rebinds it), so with several users open
            # the login's redirect to /auth/session may reach another of them, whose browser may not trade this
            # browser's ticket. Sign in again, as a person would; a login that really fails, fails three times.
            pass
    await user.should_see(marker='user-menu')


def need_tool(name: str) -> str:
    """The path of a command-line tool, or skip the test with the reason."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f'{name} is not installed (apt-get install {"dcmtk" if name.endswith("scu") else name})')
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, 'wasxfail'):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = 'failed'
        report.longrepr = f'skipped under PACS_REQUIRE_ALL=1: {reason}'
