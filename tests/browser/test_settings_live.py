"""A setting changed in one real browser reaches another browser that was already signed in, without a restart."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import ADMIN_PASSWORD, Served, headless_chromium, log_in, wait_for
from tests.conftest import WAIT_S

pytestmark = pytest.mark.browser

TITLE = 'Welcome to Sunrise Imaging'


def test_a_new_kiosk_title_appears_on_the_waiting_room_screen_already_open(served: Served, browser) -> None:
    wall = headless_chromium()
    try:
        wall.get(f'{served.url}/login?next=/kiosk')  # the waiting-room tablet signs in for its own, longer session
        wait_for(wall, 'input[autocomplete="username"]').send_keys('admin')
        wall.find_element(By.CSS_SELECTOR, 'input[autocomplete="current-password"]').send_keys(ADMIN_PASSWORD)
        wall.find_element(By.XPATH, '//button[.//span[text()="Sign in"]]').click()
        heading = wait_for(wall, '[data-testid="kiosk-heading"]')
        WebDriverWait(wall, WAIT_S).until(lambda _: heading.text == 'ClinicPACS')

        log_in(browser, served.url)
        browser.get(f'{served.url}/admin/settings')
        wait_for(browser, 'input[data-testid="kiosk-title"], [data-testid="kiosk-title"] input').send_keys(TITLE)
        wait_for(browser, '[data-testid="save-kiosk"]').click()
        WebDriverWait(browser, WAIT_S).until(lambda b: 'Saved' in b.find_element(By.TAG_NAME, 'body').text)

        WebDriverWait(wall, WAIT_S).until(lambda _: heading.text == TITLE)  # live: the wall was not reloaded
        assert '/kiosk' in wall.current_url
    finally:
        wall.quit()
