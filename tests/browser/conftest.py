"""Real-browser tests: ClinicPACS served by `main.py serve` in its own process, driven by headless chromium."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import WAIT_S, free_port, need_tool, wait_until

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = 'browser admin password'


@dataclass(frozen=True)
class Served:
    url: str
    data_dir: Path
    dicom_port: int

    def push(self, calling_ae: str, files: list[Path]) -> None:
        """Send the files to the served listener with DCMTK's storescu, as modality `calling_ae`."""
        storescu = need_tool('storescu')
        subprocess.run(
            [storescu, '-aet', calling_ae, '-aec', 'CLINICPACS', '127.0.0.1', str(self.dicom_port), *map(str, files)],
            check=True,
            capture_output=True,
            timeout=60,
        )


@pytest.fixture(scope='module')
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A whole ClinicPACS (embedded mode) on free ports, with admin / ADMIN_PASSWORD."""
    data_dir = tmp_path_factory.mktemp('served') / 'data'
    http_port, dicom_port = free_port(), free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    environment.update(
        PACS_DATA_DIR=str(data_dir),
        PACS_HTTP_HOST='127.0.0.1',
        PACS_HTTP_PORT=str(http_port),
        PACS_DICOM_PORT=str(dicom_port),
        PACS_ADMIN_PASSWORD=ADMIN_PASSWORD,
        PACS_ACCEPT_ANY_AE='true',
    )
    with serving(environment, data_dir) as url:
        yield Served(url, data_dir, dicom_port)


@contextmanager
def serving(environment: dict[str, str], data_dir: Path) -> Iterator[str]:
    """`main.py serve` with this environment for the block; yields its URL once /health answers (its output goes
    to serve.log beside the data directory, quoted when it ends or does not answer)."""
    log_path = data_dir.parent / 'serve.log'
    log = log_path.open('w')
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'serve'], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f'http://127.0.0.1:{environment["PACS_HTTP_PORT"]}'

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f'serve exited: {log_path.read_text()[-2000:]}')
        try:
            return httpx.get(f'{url}/health', timeout=1).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, f'serve to answer /health ({log_path})', timeout=3 * WAIT_S)  # a loaded machine
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Debian chromium through chromedriver."""
    driver = headless_chromium()
    yield driver
    driver.quit()


def headless_chromium(window: str = '1280,800') -> webdriver.Chrome:
    """A new headless Debian chromium through chromedriver (skips when either is not installed)."""
    chromium = shutil.which('chromium')
    driver_path = shutil.which('chromedriver')
    if not chromium or not driver_path:
        pytest.skip('chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)')
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        f'--window-size={window}',
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    return driver


def wait_for(driver: webdriver.Chrome, css: str, timeout: float = WAIT_S):
    """The element matching a CSS selector once it is visible."""
    return WebDriverWait(driver, timeout).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
    )


def marker(name: str) -> str:
    """The CSS selector of an element carrying a NiceGUI test marker."""
    return f'[data-testid="{name}"], .{name}'


def log_in(driver: webdriver.Chrome, url: str, username: str = 'admin', password: str = ADMIN_PASSWORD) -> None:
    """Sign in through the real login page."""
    driver.get(f'{url}/login')
    wait_for(driver, 'input[autocomplete="username"]').send_keys(username)
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete="current-password"]').send_keys(password)
    driver.find_element(By.XPATH, '//button[.//span[text()="Sign in"]]').click()
    wait_for(driver, 'header')
