"""An administrator echoes a scanner from its modality page in real chromium, against DCMTK's storescp."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, log_in, wait_for
from tests.conftest import WAIT_S, free_port, listening, need_tool, run_main, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[int]:
    """DCMTK's storescp as the scanner's DICOM node, called STORE_SCP, listening on a free port."""
    command = need_tool('storescp')
    port = free_port()
    node = subprocess.Popen(
        [command, '-aet', 'STORE_SCP', '-od', str(tmp_path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listening(port), 'storescp listening')
        yield port
    finally:
        node.terminate()
        node.wait(timeout=10)


def test_an_admin_echoes_a_running_dicom_node_from_its_page(served: Served, browser, storescp: int) -> None:
    added = run_main(served.data_dir, 'modality', 'add', 'STORE_SCP', '127.0.0.1', str(storescp), '--modality', 'CT')
    assert added.returncode == 0, added.stderr
    log_in(browser, served.url)
    browser.get(f'{served.url}/admin/modalities')
    wait_for(browser, 'a[href^="/admin/modalities/"]')
    browser.find_element(By.LINK_TEXT, 'STORE_SCP').click()
    wait_for(browser, '.font-mono.select-all')  # the settings to enter on the scanner
    shown = [element.text for element in browser.find_elements(By.CSS_SELECTOR, '.font-mono.select-all')]
    assert shown[0] == 'CLINICPACS' and str(served.dicom_port) in shown and shown[-1] == 'STORE_SCP'
    browser.find_element(By.XPATH, '//button[.//span[text()="Echo"]]').click()
    WebDriverWait(browser, WAIT_S).until(lambda driver: 'answered the echo' in driver.page_source)
    answer = browser.find_element(By.XPATH, '//*[contains(text(), "answered the echo")]')
    assert answer.text.startswith('STORE_SCP answered the echo in ')
    assert 'text-positive' in (answer.get_attribute('class') or '')
