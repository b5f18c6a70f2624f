"""perform(): the edge between a screen and a service; a cancelled call is "nothing happened", not success."""

import asyncio
import threading
from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from tests.conftest import eventually
from ui.shell import FAILED, perform


def _save_page(service: Callable[[], object], outcomes: list, tasks: list) -> None:
    @ui.page('/save')
    def save_page() -> None:
        async def save() -> None:
            tasks.append(asyncio.current_task())
            outcomes.append(await perform(service, success='Saved'))

        ui.button('Save', on_click=save)


async def test_a_call_cancelled_before_it_answers_returns_failed_without_the_success_notice(user: User) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_save() -> str:
        started.set()
        release.wait(30)
        return 'saved'

    outcomes: list = []
    tasks: list[asyncio.Task] = []
    _save_page(slow_save, outcomes, tasks)
    await user.open('/save')
    user.find('Save').click()
    try:
        await eventually(started.is_set, 'the service to start')
        tasks[0].cancel()  # what NiceGUI does to a handler when its browser goes away
        await eventually(lambda: outcomes, 'perform to return')
    finally:
        release.set()
    assert outcomes == [FAILED]
    await user.should_not_see('Saved')


async def test_a_service_that_answers_none_has_still_succeeded(user: User) -> None:
    outcomes: list = []
    _save_page(lambda: None, outcomes, [])
    await user.open('/save')
    user.find('Save').click()
    await user.should_see('Saved')
    assert outcomes == [None]
