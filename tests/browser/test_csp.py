"""The Content-Security-Policy in real chromium: every main screen loads with no violation in the console.

The policy allows only this server (plus inline scripts and Vue's template compiler, which NiceGUI needs); a screen
that loaded a script, style, font, image or socket from anywhere else, or that NiceGUI could not run under the
policy, would show "Refused to …" in the browser's console log.
"""

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from tests.browser.conftest import ROOT, Served, free_port, log_in, marker, wait_for
from tests.browser.test_viewer import _push_ct
from tests.conftest import WAIT_S
from ui.edge_security import EdgeSecurity

pytestmark = pytest.mark.browser

CT_STUDY_UID = '1.2.826.0.1.3680043.2.1125.77'  # NOTE: the study tests/browser/test_viewer.py's _push_ct sends

SCREENS = (
    '/',
    '/patients',
    '/patients/1',
    '/appointments',
    '/board',
    '/reading',
    '/studies',
    '/unmatched',
    '/upload',
    '/reports',
    '/viewer/{ct}',
    '/studies/{ct}/report',
    '/studies/1/report',
    '/account',
    '/admin/users',
    '/admin/audit',
    '/admin/jobs',
    '/admin/settings',
    '/admin/templates',
    '/admin/procedures',
    '/admin/modalities',
    '/kiosk',
)


def _violations(browser) -> list[str]:
    """The console's Content-Security-Policy complaints since the last look (reading the log empties it)."""
    return [
        entry['message']
        for entry in browser.get_log('browser')
        if 'Content Security Policy' in entry['message'] or 'Refused to' in entry['message']
    ]


def _drawn(canvas) -> bool:
    return int(canvas.get_attribute('data-drawn') or 0) > 0


def _settled(browser) -> None:
    """The page is loaded and NiceGUI's socket is connected (what it needs has been fetched and run)."""
    WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script('return document.readyState') == 'complete')
    WebDriverWait(browser, WAIT_S).until(
        lambda b: b.execute_script('return !!(window.socket && window.socket.connected)')
    )


@pytest.fixture(scope='module')
def clinic_day(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, int]]:
    """The served clinic with the demo's patients and appointments, and the id of a CT study with images."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    environment.update(PACS_DATA_DIR=str(served.data_dir), PACS_ADMIN_PASSWORD='unused: the admin exists')
    subprocess.run([sys.executable, 'main.py', 'demo'], cwd=ROOT, env=environment, check=True, capture_output=True)
    _push_ct(served, tmp_path_factory.mktemp('ct'))
    with closing(sqlite3.connect(served.data_dir / 'clinicpacs.sqlite3')) as database:
        (ct,) = database.execute('SELECT id FROM study WHERE study_instance_uid = ?', (CT_STUDY_UID,)).fetchone()
    yield served, ct


def test_the_console_shows_a_violation_when_a_page_loads_from_elsewhere(served: Served, browser) -> None:
    browser.get(f'{served.url}/login')
    wait_for(browser, 'input[autocomplete="username"]')
    browser.execute_script(
        "const s = document.createElement('script'); s.src = 'http://cdn.example.invalid/x.js';"
        ' document.head.append(s);'
    )
    WebDriverWait(browser, WAIT_S).until(lambda b: any('cdn.example.invalid' in v for v in _violations(b)))


def test_the_login_page_loads_with_no_violation(served: Served, browser) -> None:
    browser.get(f'{served.url}/login')
    wait_for(browser, 'input[autocomplete="username"]')
    _settled(browser)
    assert _violations(browser) == []


def test_every_main_screen_loads_with_no_violation(clinic_day: tuple[Served, int], browser, tmp_path: Path) -> None:
    served, ct = clinic_day
    log_in(browser, served.url)
    found = {}
    for path in (screen.format(ct=ct) for screen in SCREENS):
        browser.get(f'{served.url}{path}')
        wait_for(browser, 'header' if path != '/kiosk' else 'body')
        _settled(browser)
        if path.startswith('/viewer/'):  # the images too: drawn from fetched frames
            WebDriverWait(browser, WAIT_S).until(lambda b: _drawn(wait_for(b, marker('viewport-0'))))
        browser.save_screenshot(str(tmp_path / f'{path.strip("/").replace("/", "_") or "home"}.png'))
        if violations := _violations(browser):
            found[path] = violations
    assert found == {}


def test_the_report_editor_loads_with_no_violation(clinic_day: tuple[Served, int], browser) -> None:
    served, _ = clinic_day
    log_in(browser, served.url)
    browser.get(f'{served.url}/studies/1/report')
    wait_for(browser, 'header')
    _settled(browser)
    WebDriverWait(browser, WAIT_S).until(lambda b: b.find_elements(By.XPATH, '//button[contains(., "Start report")]'))[
        0
    ].click()
    WebDriverWait(browser, WAIT_S).until(lambda b: '/reports/' in b.current_url)
    wait_for(browser, '.q-editor')
    _settled(browser)
    assert _violations(browser) == []


def test_a_pdf_opens_in_the_browser_under_the_policy(browser, tmp_path: Path) -> None:
    pdf = tmp_path / 'report.pdf'
    pdf.write_bytes(PDF)

    async def report(_request: Request) -> FileResponse:
        return FileResponse(pdf, media_type='application/pdf', content_disposition_type='inline')

    port = free_port()
    app = Starlette(routes=[Route('/report.pdf', report)], middleware=[Middleware(EdgeSecurity)])
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='warning'))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        WebDriverWait(browser, WAIT_S).until(lambda _: server.started)
        browser.get(f'http://127.0.0.1:{port}/report.pdf')
        WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script('return document.contentType'))
        assert browser.execute_script('return document.contentType') == 'application/pdf'
        assert _violations(browser) == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# A one-page PDF with one line of text (what WeasyPrint makes is larger but no different to the browser).
PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R
/Resources << /Font << /F1 5 0 R >> >> >> endobj
4 0 obj << /Length 44 >> stream
BT /F1 18 Tf 20 40 Td (Report) Tj ET
endstream endobj
5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""
