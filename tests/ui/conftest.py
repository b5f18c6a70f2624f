"""Screens run on SQLite with the simulated user; each test registers a fresh set of pages."""

from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from tests.conftest import Clinic, sign_in
from ui import live, register_pages


@pytest.fixture
async def screens(user: User, clinic: Clinic) -> AsyncIterator[User]:
    """Every page registered and the live bridge running; nobody signed in yet."""
    register_pages()
    live.start_bridge()
    yield user
    live.stop_bridge()


@pytest.fixture
async def receptionist(screens: User, clinic: Clinic) -> User:
    await sign_in(screens, clinic.receptionist)
    return screens


@pytest.fixture
async def technician(screens: User, clinic: Clinic) -> User:
    await sign_in(screens, clinic.technician)
    return screens


@pytest.fixture
async def radiologist(screens: User, clinic: Clinic) -> User:
    await sign_in(screens, clinic.radiologist)
    return screens


@pytest.fixture
async def admin(screens: User, clinic: Clinic) -> User:
    await sign_in(screens, clinic.admin)
    return screens
