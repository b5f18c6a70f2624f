"""A browser that leaves: its page's disconnect callbacks run cleanly and the server lets go of the page."""

import time

import httpx
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, log_in

pytestmark = pytest.mark.browser

RECONNECT_TIMEOUT_S = 10.0  # NOTE: main.py's ui.run(reconnect_timeout=...)


def test_a_browser_that_leaves_is_forgotten_after_the_reconnect_timeout(served: Served, browser) -> None:
    log_in(browser, served.url)
    WebDriverWait(browser, 10).until(lambda driver: 'Welcome, admin' in driver.page_source)
    assert _ui_clients(served) >= 1
    browser.get('about:blank')  # the person closes the tab or goes elsewhere
    deadline = time.monotonic() + RECONNECT_TIMEOUT_S + 80  # a redirected request's page waits for the 60 s prune
    while (held := _ui_clients(served)) > 0:
        assert time.monotonic() < deadline, f'{held} pages still held after the browser left'
        time.sleep(0.2)
    log = (served.data_dir.parent / 'serve.log').read_text()
    assert 'Traceback' not in log, log[log.index('Traceback') - 300 :][:3000]
    assert ' ERROR ' not in log


def _ui_clients(served: Served) -> int:
    return httpx.get(f'{served.url}/health', timeout=5).json()['ui_clients']
