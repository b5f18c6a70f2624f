"""Two web processes behind HAProxy (PACS_WEB_PROCESSES=2, deploy/haproxy.cfg): sticky browsers, shared sessions,
and a board change made through one process reaching a browser held by the other.

Real processes throughout: Redis (its own redis-server on a free port: pub/sub channels are shared by every database
number of a server, so the suite's shared Redis would mix other tests' events in), `main.py demo` and `main.py serve`
as the command line runs them, HAProxy with the deploy configuration, and two headless chromium browsers.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import create_engine, make_url, text

from tests.browser.conftest import headless_chromium
from tests.conftest import PG_URL, WAIT_S, free_port, listening, need_tool, run_main, wait_until

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = 'web processes admin password'
START_S = 8 * WAIT_S  # two whole servers starting side by side on a loaded 2-core machine
COOKIE = 'pacs_web'  # deploy/haproxy.cfg's sticky cookie
PATIENT = 'Rossi'  # the demo day has this patient expected (scheduled) today


@dataclass(frozen=True)
class Cluster:
    proxy: str  # http://127.0.0.1:PORT, the address staff use
    ports: tuple[int, int]  # web1, web2
    http_port: int
    supervisor: subprocess.Popen
    log: Path

    def health(self, web: int) -> dict:
        """/health of one web process, asked directly (200, or 503 while no job worker runs)."""
        response = httpx.get(f'http://127.0.0.1:{self.ports[web - 1]}/health', timeout=10)
        assert response.status_code in (200, 503), response.text
        return response.json()


def test_several_web_processes_need_redis(tmp_path: Path) -> None:
    result = run_main(tmp_path / 'data', 'serve', PACS_WEB_PROCESSES='2')
    assert result.returncode == 2
    assert 'PACS_WEB_PROCESSES=2 needs PACS_REDIS_URL' in result.stderr


def test_several_web_processes_leave_https_to_the_proxy(tmp_path: Path) -> None:
    result = run_main(tmp_path / 'data', 'serve', PACS_WEB_PROCESSES='2', PACS_REDIS_URL='redis://x', PACS_TLS='auto')
    assert result.returncode == 2
    assert 'HTTPS ends at the proxy' in result.stderr


def test_the_supervisor_gives_each_process_its_part_and_stops_them_all(probes: Path) -> None:
    supervisor = _supervise_probes(probes, http_port=18000)
    try:
        seen = wait_until(lambda: len(found := _probes(probes)) == 3 and found, 'three processes to start')
    finally:
        supervisor.terminate()
        assert supervisor.wait(timeout=3 * WAIT_S) == 0
    assert sorted(seen.values()) == [
        'scp - - -',  # the listener: the environment as it was
        'serve 18001 1 false',  # web1: one process, no listener, PACS_HTTP_PORT+1
        'serve 18002 1 false',
    ]
    for pid in seen:
        assert not _running(pid), f'process {pid} outlived its supervisor'


def test_the_processes_end_with_a_supervisor_that_was_killed(probes: Path) -> None:
    supervisor = _supervise_probes(probes, http_port=18000)
    try:
        seen = wait_until(lambda: len(found := _probes(probes)) == 3 and found, 'three processes to start')
    finally:
        supervisor.kill()
        supervisor.wait()
    for pid in seen:
        wait_until(lambda p=pid: not _running(p), f'process {pid} to end with its supervisor')


def test_a_process_that_cannot_use_its_settings_stops_the_supervisor(probes: Path) -> None:
    supervisor = _supervise_probes(probes, http_port=18000, PROBE_EXIT='2')
    assert supervisor.wait(timeout=3 * WAIT_S) == 2
    assert 'cannot start with these settings' in (probes / 'supervisor.log').read_text()


@pytest.mark.browser
def test_a_board_change_through_one_process_reaches_a_browser_on_the_other(cluster: Cluster) -> None:
    if not shutil.which('chromium') or not shutil.which('chromedriver'):
        pytest.skip('chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)')
    first, second = headless_chromium('1600,900'), headless_chromium('1600,900')
    try:
        _pin(first, cluster, 'web1')
        _sign_in(first, cluster.proxy)
        first.get(f'{cluster.proxy}/board')
        _card(first)
        assert first.get_cookie(COOKIE)['value'] == 'web1'
        assert cluster.health(1)['ui_clients'] >= 1
        assert cluster.health(2)['ui_clients'] == 0  # nothing of the first browser reached web2

        _pin(second, cluster, 'web2')
        _sign_in(second, cluster.proxy)
        second.get(f'{cluster.proxy}/board')
        _button(_card(second), 'Check in')  # still expected
        assert second.get_cookie(COOKIE)['value'] == 'web2'
        assert cluster.health(2)['ui_clients'] >= 1
        second.execute_script('window.pacsProbe = "same page"')

        _click(first, 'Check in')  # through web1
        WebDriverWait(second, 2 * WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda _: _has_button(_card(second), 'Undo check-in')
        )
        assert second.execute_script('return window.pacsProbe') == 'same page'  # updated live, never reloaded

        # The sign-in made through web1 holds on web2 too: the session lives in the database.
        first.add_cookie({'name': COOKIE, 'value': 'web2', 'path': '/'})
        first.get(f'{cluster.proxy}/board')
        _button(_card(first), 'Undo check-in')
        assert '/login' not in first.current_url
    finally:
        first.quit()
        second.quit()


def test_the_compose_health_checks_pass_against_the_processes(cluster: Cluster) -> None:
    services = yaml.safe_load((ROOT / 'docker-compose.yml').read_text())['services']
    web = services['web']['healthcheck']['test']
    proxy = services['proxy']['healthcheck']['test']
    assert web[:3] == proxy[:3] == ['CMD', 'python', '-c']
    environment = {**os.environ, 'PACS_HTTP_PORT': str(cluster.http_port), 'PACS_WEB_PROCESSES': '2'}
    port = cluster.proxy.rsplit(':', 1)[1]
    for command in (web[3], proxy[3].replace(':8080/', f':{port}/')):
        check = subprocess.run(
            [sys.executable, '-c', command], env=environment, capture_output=True, timeout=60, check=False
        )
        assert check.returncode == 0, check.stderr.decode()[-500:]


def test_a_web_process_that_dies_is_started_again_and_its_browsers_go_to_the_other(cluster: Cluster) -> None:
    pid = _started_pid(cluster.log, 'web2')
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not listening(cluster.ports[1]), 'web2 to be gone')

    response = httpx.get(f'{cluster.proxy}/health', cookies={COOKIE: 'web2'}, timeout=30)
    assert response.status_code in (200, 503)
    assert 'ui_clients' in response.json()  # a web process answered, not the proxy
    assert response.cookies.get(COOKIE) == 'web1'  # the browser now sticks to web1

    wait_until(lambda: f'web2 (pid {pid}) exited' in cluster.log.read_text(), 'the supervisor to notice')
    wait_until(lambda: _started_pid(cluster.log, 'web2') != pid, 'web2 to be started again', timeout=START_S)
    wait_until(lambda: _answers(cluster.ports[1]), 'web2 to answer again', timeout=START_S)


# ---------------------------------------------------------------- the processes


@pytest.fixture(scope='module')
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Redis, a demo clinic, `serve` with two web processes and HAProxy in front, all on free ports."""
    haproxy = need_tool('haproxy')
    base = tmp_path_factory.mktemp('web-processes')
    redis_port, proxy_port = free_port(), free_port()
    ports = _web_ports({redis_port, proxy_port})
    http_port = ports[0] - 1  # the proxy's port in a deployment; in this test nothing listens there
    with _redis(base, redis_port) as redis_url, _database() as database_url:
        environment = {
            'PACS_REDIS_URL': redis_url,
            'PACS_ADMIN_PASSWORD': PASSWORD,
            **({'PACS_DATABASE_URL': database_url} if database_url else {}),
        }
        demo = run_main(base / 'data', 'demo', **environment)
        assert demo.returncode == 0, demo.stderr[-2000:]
        log = base / 'serve.log'
        supervisor = _start(
            [sys.executable, 'main.py', 'serve'],
            log,
            PACS_DATA_DIR=str(base / 'data'),
            PACS_WEB_PROCESSES='2',
            PACS_HTTP_HOST='127.0.0.1',
            PACS_HTTP_PORT=str(http_port),
            PACS_DICOM_LISTENER='false',
            **environment,
        )
        proxy = _start(
            [haproxy, '-db', '-f', str(ROOT / 'deploy' / 'haproxy.cfg')],
            base / 'haproxy.log',
            PACS_PROXY_BIND=f'127.0.0.1:{proxy_port}',
            PACS_WEB_PORT_1=str(ports[0]),
            PACS_WEB_PORT_2=str(ports[1]),
        )
        try:
            for port in ports:
                wait_until(lambda p=port: _alive(supervisor, log) and _answers(p), f'port {port}', timeout=START_S)
            url = f'http://127.0.0.1:{proxy_port}'
            wait_until(lambda: _proxy_ready(proxy, url), 'HAProxy to see both web processes', timeout=2 * WAIT_S)
            yield Cluster(url, ports, http_port, supervisor, log)
        finally:
            _stop(proxy)
            _stop(supervisor)
        for port in ports:  # the supervisor stopped its web processes on the way out
            assert not listening(port), f'a web process still listens on {port}'


@contextlib.contextmanager
def _redis(base: Path, port: int) -> Iterator[str]:
    server = need_tool('redis-server')
    process = _start(
        [server, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', str(base)],
        base / 'redis.log',
    )
    try:
        wait_until(lambda: listening(port), 'redis-server to listen')
        yield f'redis://127.0.0.1:{port}/0'
    finally:
        _stop(process)


@contextlib.contextmanager
def _database() -> Iterator[str | None]:
    """A schema of its own on the shared PostgreSQL when PACS_TEST_DATABASE_URL is set, else None (SQLite)."""
    if not PG_URL:
        yield None
        return
    schema = f'web_{uuid.uuid4().hex[:12]}'
    admin = create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA {schema}'))
    try:
        url = make_url(PG_URL).update_query_dict({'options': f'-csearch_path={schema}'})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA {schema} CASCADE'))
        admin.dispose()


def _start(argv: list[str], log: Path, **env: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    with log.open('w') as output:
        return subprocess.Popen(argv, cwd=ROOT, env={**environment, **env}, stdout=output, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=3 * WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _web_ports(taken: set[int]) -> tuple[int, int]:
    """Two ports in a row for the web processes (PACS_HTTP_PORT is the one before; the proxy takes its own).

    One comes from free_port, the other is its neighbour in the same pair (2k, 2k+1): under pytest-xdist free_port
    gives a worker the ports with port // 2 % workers == its index, so the pair belongs to this worker alone.
    """

    def pair() -> tuple[int, int] | None:
        given = free_port()
        first = given - given % 2
        other = first + 1 if given == first else first
        return None if other in taken or listening(other) or first < 1026 else (first, first + 1)

    return wait_until(pair, 'two free ports in a row')


def _alive(process: subprocess.Popen, log: Path) -> bool:
    assert process.poll() is None, f'serve exited: {log.read_text()[-3000:]}'
    return True


def _answers(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f'http://127.0.0.1:{port}/health', timeout=2).status_code in (200, 503)
    return False


def _proxy_ready(proxy: subprocess.Popen, url: str) -> bool:
    assert proxy.poll() is None, 'haproxy exited'
    with contextlib.suppress(httpx.HTTPError):
        first = httpx.get(f'{url}/health', cookies={COOKIE: 'web1'}, timeout=2)
        second = httpx.get(f'{url}/health', cookies={COOKIE: 'web2'}, timeout=2)
        return httpx.get(f'{url}/proxy-health', timeout=2).status_code == 200 and all(
            'ui_clients' in answer.text and COOKIE not in answer.cookies for answer in (first, second)
        )  # each cookie honoured (no new one): both servers are up in HAProxy's eyes
    return False


def _started_pid(log: Path, name: str) -> int:
    found = re.findall(rf'{name} started \(pid (\d+)', log.read_text())
    assert found, f'no {name} in the log'
    return int(found[-1])


@pytest.fixture
def probes(tmp_path: Path) -> Iterator[Path]:
    """A folder for the probe processes' notes; a probe a failed test left running is killed afterwards."""
    yield tmp_path
    for pid in _probes(tmp_path):
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


PROBE = """
import os, signal, sys
with open(os.path.join(os.environ['PROBE_DIR'], f'{os.getpid()}.probe'), 'w') as out:
    out.write(' '.join([sys.argv[-1]] + [os.environ.get(name) or '-' for name in
              ('PACS_HTTP_PORT', 'PACS_WEB_PROCESSES', 'PACS_DICOM_LISTENER')]))
if os.environ.get('PROBE_EXIT'):
    sys.exit(int(os.environ['PROBE_EXIT']))
signal.pause()
"""
SUPERVISE = """
import logging, sys
from domain.settings import Settings
import web_processes
logging.basicConfig(level=logging.INFO)
settings = Settings(_env_file=None, web_processes=2, redis_url='redis://127.0.0.1:1/0', http_port=int(sys.argv[1]))
sys.exit(web_processes.supervise(settings, [sys.executable, sys.argv[2]]))
"""


def _supervise_probes(tmp_path: Path, *, http_port: int, **env: str) -> subprocess.Popen:
    """web_processes.supervise itself, running probes that note what they were started as instead of main.py."""
    probe = tmp_path / 'probe.py'
    probe.write_text(PROBE)
    argv = [sys.executable, '-c', SUPERVISE, str(http_port), str(probe)]
    return _start(argv, tmp_path / 'supervisor.log', PROBE_DIR=str(tmp_path), **env)


def _probes(tmp_path: Path) -> dict[int, str]:
    return {int(path.stem): path.read_text() for path in tmp_path.glob('*.probe') if path.read_text()}


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (an orphan's exit is collected by whoever adopted it)."""
    try:
        return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------- the browsers


def _pin(driver: webdriver.Chrome, cluster: Cluster, server: str) -> None:
    """The proxy gives the browser its sticky cookie; the test then chooses which process it names."""
    driver.get(f'{cluster.proxy}/health')
    assert driver.get_cookie(COOKIE)['value'] in ('web1', 'web2')
    driver.add_cookie({'name': COOKIE, 'value': server, 'path': '/'})


def _sign_in(driver: webdriver.Chrome, url: str) -> None:
    driver.get(f'{url}/login')
    _visible(driver, (By.CSS_SELECTOR, 'input[autocomplete="username"]')).send_keys('admin')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete="current-password"]').send_keys(PASSWORD)
    driver.find_element(By.XPATH, '//button[.//span[text()="Sign in"]]').click()
    _visible(driver, (By.CSS_SELECTOR, 'header'))


def _card(driver: webdriver.Chrome):
    """The board card of the demo patient expected today."""
    return _visible(driver, (By.XPATH, f'//div[contains(@class, "q-card")][.//a[contains(., "{PATIENT}")]]'))


def _click(driver: webdriver.Chrome, label: str) -> None:
    """Click a button on the patient's card (found again if the board was redrawn meanwhile)."""

    def click(_: webdriver.Chrome) -> bool:
        _button(_card(driver), label).click()
        return True

    WebDriverWait(driver, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(click)


def _button(card, label: str):
    return card.find_element(By.XPATH, f'.//button[.//span[text()="{label}"]]')


def _has_button(card, label: str) -> bool:
    return bool(card.find_elements(By.XPATH, f'.//button[.//span[text()="{label}"]]'))


def _visible(driver: webdriver.Chrome, locator: tuple[str, str]):
    return WebDriverWait(driver, 3 * WAIT_S).until(expected_conditions.visibility_of_element_located(locator))
