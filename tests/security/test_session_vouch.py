"""A session checked as a screen starts stands for that screen's build only (domain.auth.vouch): never for another
browser's session, another task (a later event handler, another tab), or past its moment."""

import asyncio
import contextvars

import pytest

from domain import auth
from domain.errors import SessionExpired
from tests.conftest import PASSWORD, Clinic


def _ended_session() -> auth.Actor:
    actor = auth.login('receptionist1', PASSWORD, address='10.0.0.5').actor
    auth.logout(actor)
    return actor


def test_a_vouched_session_spares_the_builds_own_checks_only(clinic: Clinic) -> None:
    actor = _ended_session()
    with pytest.raises(SessionExpired):
        auth.check_session(actor)  # what every other context sees: the session is over

    def building() -> None:
        auth.vouch(actor)  # as the screen's start does, just after its own check
        auth.check_session(actor)  # the build's service calls, moments later

    contextvars.copy_context().run(building)
    with pytest.raises(SessionExpired):
        auth.check_session(actor)  # the vouch stayed in the build's context


def test_a_vouch_opens_no_other_session(clinic: Clinic) -> None:
    live = auth.login('technician1', PASSWORD, address='10.0.0.6').actor
    ended = _ended_session()

    def building() -> None:
        auth.vouch(live)
        with pytest.raises(SessionExpired):
            auth.check_session(ended)

    contextvars.copy_context().run(building)


def test_a_vouch_expires(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = _ended_session()
    monkeypatch.setattr(auth, 'VOUCH_S', 0.0)  # what a timer the build started sees seconds later

    def building() -> None:
        auth.vouch(actor)
        with pytest.raises(SessionExpired):
            auth.check_session(actor)

    contextvars.copy_context().run(building)


async def test_a_later_task_sees_no_vouch_from_a_finished_build(clinic: Clinic) -> None:
    actor = _ended_session()

    async def build() -> None:
        auth.vouch(actor)

    async def event_handler() -> None:
        with pytest.raises(SessionExpired):
            auth.check_session(actor)

    await asyncio.create_task(build())
    await asyncio.create_task(event_handler())
