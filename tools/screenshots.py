"""The README's pictures, made from the demo so they stay current: `make screenshots`.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--language en] [--width 1400]

A new data directory gets `main.py demo`; `main.py serve` runs on a free port; headless chromium signs in as the
administrator and photographs the status board, the viewer with a CT and with an ultrasound cine, the report editor
and the first page of a finalised report's PDF (rendered by poppler's `pdftoppm`). Needs chromium and chromedriver
(Debian's packages) and poppler-utils, as the browser tests do.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import ADMIN_PASSWORD, free_port, serve_env  # noqa: E402 - after the path to the checkout

WAIT_S = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=str(ROOT / 'docs' / 'screenshots'))
    parser.add_argument('--language', default='en')
    parser.add_argument('--width', type=int, default=1400)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='clinicpacs-screenshots-'))
    try:
        environment = serve_env(work, free_port())  # bench/startup.py's: this data dir, free ports, its password
        made = subprocess.run(
            [sys.executable, 'main.py', 'demo'], cwd=ROOT, env=environment, check=True, capture_output=True, text=True
        )
        staff_password = re.search(r'share the password "([^"]+)"', made.stdout)
        if staff_password is None:
            raise SystemExit('main.py demo did not print the staff password')
        server = subprocess.Popen(
            [sys.executable, 'main.py', 'serve'],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=(work / 'serve.log').open('wb'),
        )
        try:
            url = f'http://127.0.0.1:{environment["PACS_HTTP_PORT"]}'
            _wait_healthy(url, server, work / 'serve.log')
            shots = Shots(url, out, args.language, args.width)
            try:
                shots.take_all(environment, staff_password.group(1))
            finally:
                shots.driver.quit()
        finally:
            server.terminate()
            server.wait(60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'screenshots written to {out}')
    return 0


class Shots:
    """One signed-in chromium and the pictures it takes."""

    def __init__(self, url: str, out: Path, language: str, width: int) -> None:
        self.url, self.out, self.language = url, out, language
        options = webdriver.ChromeOptions()
        for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', f'--window-size={width},1000'):
            options.add_argument(flag)
        options.add_argument(f'--lang={language}')
        options.add_experimental_option('prefs', {'intl.accept_languages': language})
        self.driver = webdriver.Chrome(options=options)

    def take_all(self, environment: dict[str, str], staff_password: str) -> None:
        studies = _demo_studies(environment)
        self.sign_in('admin', ADMIN_PASSWORD)
        self.page('/board', 'board', ready='.q-card')
        self.viewer(studies['ct'], 'viewer-ct')
        self.viewer(studies['us'], 'viewer-us-cine')
        self.pdf(studies['report_id'])
        self.driver.delete_all_cookies()  # the draft opens for editing to its author only
        self.sign_in(studies['draft_author'], staff_password)
        self.page(f'/studies/{studies["draft"]}/report', 'report-editor', ready='.q-editor')

    def sign_in(self, username: str, password: str) -> None:
        self.driver.get(f'{self.url}/login')
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, 'input[autocomplete=username]'))
        self.driver.find_element(By.CSS_SELECTOR, 'input[autocomplete=username]').send_keys(username)
        self.driver.find_element(By.CSS_SELECTOR, 'input[type=password]').send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, 'button.q-btn').click()
        self.wait(lambda d: '/login' not in d.current_url)

    def page(self, path: str, name: str, *, ready: str) -> None:
        self.driver.get(f'{self.url}{path}')
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ready))
        self.settled()
        self.save(name)

    def viewer(self, study_id: int, name: str) -> None:
        self.driver.get(f'{self.url}/viewer/{study_id}')
        self.wait(
            lambda d: (
                int(d.find_element(By.CSS_SELECTOR, '[data-testid="viewport-0"]').get_attribute('data-drawn') or 0) > 0
            )
        )
        self.settled()
        self.save(name)

    def pdf(self, report_id: int) -> None:
        cookies = {c['name']: c['value'] for c in self.driver.get_cookies()}
        answer = httpx.get(f'{self.url}/reports/{report_id}/pdf', cookies=cookies, timeout=60)
        answer.raise_for_status()
        with tempfile.TemporaryDirectory() as folder:
            pdf = Path(folder) / 'report.pdf'
            pdf.write_bytes(answer.content)
            subprocess.run(
                [
                    'pdftoppm',
                    '-png',
                    '-r',
                    '80',
                    '-f',
                    '1',
                    '-l',
                    '1',
                    '-singlefile',
                    str(pdf),
                    str(Path(folder) / 'p'),
                ],
                check=True,
            )
            shutil.copy(Path(folder) / 'p.png', self.out / f'report-pdf-{self.language}.png')

    def settled(self) -> None:
        """Fonts loaded and no request of the page still running."""
        self.wait(lambda d: d.execute_script('return document.fonts.status') == 'loaded')

    def save(self, name: str) -> None:
        self.driver.save_screenshot(str(self.out / f'{name}-{self.language}.png'))

    def wait(self, check: Callable[[WebDriver], object]) -> None:
        WebDriverWait(self.driver, WAIT_S).until(check)


def _demo_studies(environment: dict[str, str]) -> dict[str, Any]:
    """The demo's CT with the most images, its ultrasound cine, the report in progress and a finalised report (asked
    in a child process with the server's settings, so this tool needs no database code of its own)."""
    script = (
        'import json\n'
        'from sqlalchemy import func\n'
        'from sqlmodel import select\n'
        'from domain import db\n'
        'from domain.models import Instance, Report, Series, Study, User\n'
        'from domain.settings import Settings\n'
        'db.configure(Settings())\n'
        'with db.reading() as s:\n'
        '    def biggest(modality, multiframe=False):\n'
        '        q = (select(Study.id).join(Series, Series.study_id == Study.id)'
        '.join(Instance, Instance.series_id == Series.id).where(Series.modality == modality))\n'
        '        if multiframe:\n'
        '            q = q.where(Instance.number_of_frames > 1)\n'
        '        q = q.group_by(Study.id).order_by(func.count(Instance.id).desc())\n'
        '        return s.exec(q).first()\n'
        '    final = s.exec(select(Report).where(Report.state == "final").order_by(Report.id)).first()\n'
        '    draft = s.exec(select(Report).where(Report.state == "draft").order_by(Report.id)).first()\n'
        '    print(json.dumps({"ct": biggest("CT"), "us": biggest("US", True) or biggest("US"),'
        ' "draft": draft.study_id, "draft_author": s.get(User, draft.author_id).username, "report_id": final.id}))\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', script], cwd=ROOT, env=environment, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            said = log.read_text(errors='replace')[-2000:] if log.exists() else ''
            raise SystemExit(f'main.py serve ended with code {server.returncode}:\n{said}')
        try:
            if httpx.get(f'{url}/health', timeout=2).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit('main.py serve did not answer /health')


if __name__ == '__main__':
    raise SystemExit(main())
