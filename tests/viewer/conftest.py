"""The viewer's tests: every page and route registered, the storage pointed at the clinic's data directory."""

from collections.abc import AsyncIterator

import pytest
from nicegui.testing import User

from dicom import storage, wado
from domain import viewing
from tests.conftest import Clinic
from ui import live, register_pages


@pytest.fixture
async def pages(user: User, clinic: Clinic) -> AsyncIterator[User]:
    storage.configure(clinic.data_dir)
    viewing.forget_views()
    wado.frames.clear()
    wado.sources.clear()
    register_pages()
    live.start_bridge()
    yield user
    live.stop_bridge()
