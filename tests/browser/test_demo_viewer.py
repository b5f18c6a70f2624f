"""After `main.py demo`, a doctor in real chromium sees every demo study drawn and opens a finalised report's PDF."""

import base64
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import ROOT, log_in, marker, serving, wait_for
from tests.conftest import WAIT_S, free_port

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class DemoServed:
    url: str
    data_dir: Path
    password: str  # the demo staff's shared password


@pytest.fixture(scope='module')
def demo_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServed]:
    """`main.py demo` into a new data directory, then `main.py serve` on it."""
    data_dir = tmp_path_factory.mktemp('demo-served') / 'data'
    http_port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    environment.update(
        PACS_DATA_DIR=str(data_dir),
        PACS_HTTP_HOST='127.0.0.1',
        PACS_HTTP_PORT=str(http_port),
        PACS_DICOM_PORT=str(free_port()),
        PACS_ADMIN_PASSWORD='demo admin password',
    )
    filled = subprocess.run(
        [sys.executable, 'main.py', 'demo'],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert filled.returncode == 0, filled.stderr[-3000:]
    password = re.search(r'share the password "([^"]+)"', filled.stdout)
    assert password, filled.stdout
    with serving(environment, data_dir) as url:
        yield DemoServed(url, data_dir, password.group(1))


def query(served: DemoServed, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the demo's database, read-only (which studies and reports there are to open)."""
    with sqlite3.connect(f'file:{served.data_dir / "clinicpacs.sqlite3"}?mode=ro', uri=True) as connection:
        return connection.execute(sql).fetchall()


def painted(browser: webdriver.Chrome, element: WebElement) -> dict[str, float]:
    """How much of the middle of the viewport's canvas is image: lit pixels and their spread of grey."""
    return browser.execute_script(
        """
        const canvas = arguments[0].querySelector('canvas') || arguments[0];
        const w = canvas.width, h = canvas.height;
        const data = canvas.getContext('2d').getImageData(w / 4, h / 4, w / 2, h / 2).data;
        let lit = 0, sum = 0, squares = 0, n = data.length / 4;
        for (let i = 0; i < data.length; i += 4) {
          const v = (data[i] + data[i + 1] + data[i + 2]) / 3;
          if (v > 20) lit += 1;
          sum += v; squares += v * v;
        }
        const mean = sum / n;
        return {lit: lit / n, sd: Math.sqrt(Math.max(0, squares / n - mean * mean))};
        """,
        element,
    )


def drawn_on(canvas: WebElement) -> Callable[[Any], bool]:
    """True once the viewport has drawn an image (the viewer counts its draws in data-drawn)."""
    return lambda _: int(canvas.get_attribute('data-drawn') or 0) > 0


def test_a_doctor_sees_every_demo_study_drawn_in_the_viewer(demo_served: DemoServed, browser: webdriver.Chrome) -> None:
    studies = query(demo_served, 'SELECT id, modalities FROM study ORDER BY id')
    assert {m for _, m in studies} == {'CT', 'MR', 'DX', 'US'}
    log_in(browser, demo_served.url, 'doctor', demo_served.password)
    for study_id, modality in studies:
        browser.get(f'{demo_served.url}/viewer/{study_id}')
        canvas = wait_for(browser, marker('viewport-0'))
        WebDriverWait(browser, WAIT_S).until(drawn_on(canvas))
        seen = painted(browser, canvas)
        assert seen['lit'] > 0.2 and seen['sd'] > 8, (study_id, modality, seen)


def test_a_finalised_reports_pdf_opens_with_its_key_images(demo_served: DemoServed, browser: webdriver.Chrome) -> None:
    report_id, study_id = query(
        demo_served, "SELECT id, study_id FROM report WHERE kind = 'report' AND state = 'addended'"
    )[0]
    (keys,) = query(demo_served, f'SELECT count(*) FROM key_image WHERE study_id = {int(study_id)}')[0]
    log_in(browser, demo_served.url, 'doctor', demo_served.password)
    browser.get(f'{demo_served.url}/reports/{report_id}')
    WebDriverWait(browser, WAIT_S).until(
        expected_conditions.element_to_be_clickable((By.XPATH, '//button[.//span[text()="Open PDF"]]'))
    )
    browser.set_script_timeout(WAIT_S)
    encoded = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: 'same-origin'})
          .then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))
          .then(b => { let s = ''; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); done(btoa(s)); })
          .catch(e => done('failed ' + e));
        """,
        f'/reports/{report_id}/pdf',
    )
    assert not encoded.startswith('failed'), encoded
    data = base64.b64decode(encoded)
    assert data.startswith(b'%PDF')
    pdf = PdfReader(BytesIO(data))
    assert keys >= 1 and sum(len(page.images) for page in pdf.pages) >= keys
    assert 'Voraufnahme' in ''.join(page.extract_text() for page in pdf.pages)  # the addendum is printed too
