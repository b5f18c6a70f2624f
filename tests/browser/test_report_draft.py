"""A report draft in real chromium: what was typed just before the tab closed is there when it reopens."""

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.keys import Keys

from domain import access, db, reporting, users
from domain.access import Actor
from domain.settings import Settings
from tests.browser.conftest import Served, log_in, wait_for
from tests.conftest import WAIT_S
from tests.report_fixtures import make_study, template_id

pytestmark = pytest.mark.browser

TYPED = 'Spleen 104 mm on review'
FINDINGS = '.nicegui-editor .q-editor__content'  # the first editor on the page; markers are not in the DOM


@pytest.fixture(scope='module')
def draft_id(served: Served) -> Iterator[int]:
    """A draft report by the admin, written straight into the served clinic's database."""
    db.configure(
        Settings(_env_file=None, data_dir=served.data_dir, database_url=None, redis_url=None)  # type: ignore[call-arg]
    )
    try:
        admin = users.get_by_username('admin', by=access.system('test'))
        actor = Actor(role='admin', username='admin', user_id=admin.id)
        yield reporting.start(make_study().study_id, template_id('free'), by=actor).id
    finally:
        db.dispose()


def test_text_typed_just_before_the_tab_closes_is_there_when_it_reopens(served: Served, browser, draft_id: int) -> None:
    log_in(browser, served.url)
    page = f'{served.url}/reports/{draft_id}'
    browser.get(page)
    findings = wait_for(browser, FINDINGS)
    findings.click()
    findings.send_keys(Keys.END, f' {TYPED}')
    log = served.data_dir.parent / 'serve.log'
    logged_before = log.stat().st_size
    browser.get(f'{served.url}/reports')  # leave at once: the autosave comes only every AUTOSAVE_S
    deadline = time.monotonic() + WAIT_S
    while TYPED not in _findings_on_reopening(browser, page):
        assert time.monotonic() < deadline, 'the findings typed before leaving were lost'
    with log.open() as lines:
        lines.seek(logged_before)
        assert not [line for line in lines if ' ERROR ' in line]  # the save on leaving worked (the autosave may also)


def _findings_on_reopening(browser, page: str) -> str:
    browser.get(page)
    return wait_for(browser, FINDINGS).text
