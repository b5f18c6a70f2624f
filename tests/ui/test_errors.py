"""A fault in a screen is logged once, one line with an id and its traceback, and staff see that id."""

import logging
import re

import pytest
from nicegui import ui
from nicegui.testing import User

from ui import errors


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.get_records('call') if record.levelno >= logging.ERROR]


async def test_a_page_that_fails_to_build_logs_once_and_shows_the_error_id(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    errors.register()

    @ui.page('/broken')
    def broken() -> None:
        raise ValueError('a fault someone must fix')

    response = await user.http_client.get('/broken')
    assert response.status_code == 500
    logged = _errors(caplog)
    assert len(logged) == 1, [record.getMessage() for record in logged]
    error_id = re.fullmatch(r'error ([0-9a-f]{8}) while building page /broken', logged[0].getMessage())[1]
    assert logged[0].exc_info is not None and logged[0].exc_info[0] is ValueError
    assert f'({error_id})' in response.text
    assert 'a fault someone must fix' not in response.text
    caplog.clear()  # the one ERROR line was the point of this test


async def test_a_failing_button_logs_once_and_tells_staff_the_error_id(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    errors.register()

    @ui.page('/form')
    def form() -> None:
        ui.button('Save', on_click=lambda: 1 / 0)

    await user.open('/form')
    user.find('Save').click()
    await user.should_see('Something went wrong')
    logged = _errors(caplog)
    assert len(logged) == 1, [record.getMessage() for record in logged]
    error_id = re.fullmatch(r'error ([0-9a-f]{8}) in screen /form', logged[0].getMessage())[1]
    await user.should_see(f'({error_id})')
    caplog.clear()
