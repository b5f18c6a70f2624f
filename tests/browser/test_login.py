"""A person signs in and out in real chromium."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, log_in, wait_for
from tests.conftest import WAIT_S

pytestmark = pytest.mark.browser


def test_an_admin_signs_in_sees_the_menu_and_signs_out(served: Served, browser) -> None:
    log_in(browser, served.url)
    assert 'Welcome, admin' in wait_for(browser, 'header').find_element(By.XPATH, '//body').text
    drawer_text = browser.find_element(By.CSS_SELECTOR, '.q-drawer').text
    assert 'Users' in drawer_text
    assert 'Audit' in drawer_text
    browser.save_screenshot(str(served.data_dir.parent / 'home.png'))
    browser.find_element(By.XPATH, '//header//button[.//span[contains(text(), "admin")]]').click()
    menu = wait_for(browser, '.q-menu')
    menu.find_element(By.XPATH, '//div[contains(@class, "q-item")][.//div[text()="Sign out"]]').click()
    WebDriverWait(browser, WAIT_S).until(lambda driver: '/login' in driver.current_url)
    browser.get(f'{served.url}/admin/users')
    WebDriverWait(browser, WAIT_S).until(lambda driver: '/login' in driver.current_url)
    assert 'next=%2Fadmin%2Fusers' in browser.current_url


def test_a_wrong_password_shows_the_message_in_the_browser(served: Served, browser) -> None:
    browser.get(f'{served.url}/login')
    wait_for(browser, 'input[autocomplete="username"]').send_keys('admin')
    browser.find_element(By.CSS_SELECTOR, 'input[autocomplete="current-password"]').send_keys('nope nope nope')
    browser.find_element(By.XPATH, '//button[.//span[text()="Sign in"]]').click()
    WebDriverWait(browser, WAIT_S).until(lambda driver: 'Wrong username or password' in driver.page_source)
