"""The administrator's home in real chromium, served by `main.py serve`: the arrivals chart is drawn by NiceGUI's own
ECharts (from this server, nothing from the internet) and the DICOM listener card names the port serve opened."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, log_in, wait_for
from tests.conftest import WAIT_S

pytestmark = pytest.mark.browser


def test_the_admin_home_draws_the_chart_and_shows_the_listener_of_serve(served: Served, browser) -> None:
    log_in(browser, served.url)
    browser.get(served.url + '/')
    chart = wait_for(browser, '.nicegui-echart canvas')  # ECharts drew on its canvas
    assert chart.size['width'] > 200 and chart.size['height'] > 100
    WebDriverWait(browser, WAIT_S).until(lambda driver: f'port {served.dicom_port}' in driver.page_source)
    listener = browser.find_element(By.XPATH, f'//*[contains(text(), "port {served.dicom_port}")]')
    assert listener.text == f'AE title CLINICPACS · port {served.dicom_port}'
    assert browser.find_elements(By.XPATH, '//*[normalize-space(text())="listening"]')  # the card's badge
    scripts = [element.get_attribute('src') or '' for element in browser.find_elements(By.TAG_NAME, 'script')]
    assert all(not src or src.startswith((served.url, '/')) for src in scripts), scripts
