"""A person signs in and out in real chromium."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, headless_chromium, log_in, wait_for
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


def test_the_menu_moves_between_screens_in_the_open_page_and_closes_over_a_tablets_screen(served: Served) -> None:
    """A menu entry is a move within the page (ui.sub_pages): no page load (a mark left in the page survives), the
    address and the title follow, Back returns, and on a tablet the menu, open over the screen, closes itself."""
    tablet = headless_chromium('820,1100')
    try:
        log_in(tablet, served.url)
        wait_for(tablet, '.q-header')
        WebDriverWait(tablet, WAIT_S).until(lambda driver: 'Welcome, admin' in driver.page_source, 'the home screen')
        tablet.execute_script('window.pacsSamePage = true')
        tablet.find_element(By.XPATH, '//header//button[.//i[normalize-space()="menu"]]').click()
        wait_for(tablet, '.q-drawer a[href="/admin/users"]').click()
        WebDriverWait(tablet, WAIT_S).until(lambda driver: 'Add a user' in driver.page_source, 'the users screen')
        WebDriverWait(tablet, WAIT_S).until(lambda driver: driver.current_url.endswith('/admin/users'))
        WebDriverWait(tablet, WAIT_S).until(lambda driver: driver.title.startswith('Users'))
        WebDriverWait(tablet, WAIT_S).until(
            lambda driver: not driver.find_element(By.CSS_SELECTOR, '.q-drawer').is_displayed(), 'the menu closed'
        )
        assert tablet.execute_script('return window.pacsSamePage === true'), 'the move loaded a new page'
        tablet.back()
        WebDriverWait(tablet, WAIT_S).until(lambda driver: 'Welcome, admin' in driver.page_source, 'home again')
        assert tablet.execute_script('return window.pacsSamePage === true'), 'Back loaded a new page'
    finally:
        tablet.quit()
