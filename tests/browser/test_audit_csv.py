"""The audit viewer in real chromium: filter the trail, click Export CSV, and the downloaded file holds only the
filtered events."""

import csv
import io
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, log_in, wait_for
from tests.conftest import WAIT_S

pytestmark = pytest.mark.browser


def _downloaded(folder: Path) -> Path | bool:
    """The finished CSV in the download folder (chromium writes a .crdownload until it is complete)."""
    done = [path for path in folder.iterdir() if path.suffix == '.csv']
    return done[0] if done and not list(folder.glob('*.crdownload')) else False


def test_the_filtered_audit_trail_downloads_as_csv(served: Served, browser, tmp_path: Path) -> None:
    for _ in range(2):  # two failed sign-ins of someone guessing (three from one address before it must wait)
        refused = httpx.get(f'{served.url}/dicomweb/studies', auth=('mallory', 'guessed password'), timeout=WAIT_S)
        assert refused.status_code == 401
    downloads = tmp_path / 'downloads'
    downloads.mkdir()
    browser.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': str(downloads)})
    log_in(browser, served.url)
    browser.get(f'{served.url}/admin/audit')
    wait_for(browser, '[data-testid="audit-user"]').send_keys('mallory', Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(lambda driver: '1–2 of 2' in driver.find_element(By.TAG_NAME, 'body').text)
    wait_for(browser, '[data-testid="audit-export"]').click()
    exported = WebDriverWait(browser, WAIT_S).until(lambda _: _downloaded(downloads))
    assert isinstance(exported, Path)

    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding='utf-8-sig'))))
    assert [(row['user'], row['action'], row['outcome']) for row in rows] == [('mallory', 'login', 'failure')] * 2
    assert {row['dicom_event_id'] for row in rows} == {'(110114, DCM, "User Authentication")'}
