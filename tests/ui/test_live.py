"""A change made in one session, a service thread or another process shows in every open session, without a reload."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from nicegui.testing import User

from domain import users
from domain.models import UserCreate
from jobs import relay
from tests.conftest import REDIS_URL, Clinic, sign_in

ROOT = Path(__file__).resolve().parents[2]


async def _watching_users(create_user: Callable[[], User] | None, clinic: Clinic, watcher: User | None = None) -> User:
    watcher = watcher or create_user()  # type: ignore[misc]
    await sign_in(watcher, clinic.admin)
    await watcher.open('/admin/users')
    await watcher.should_see(marker='user-technician1')
    await watcher.should_not_see(marker='user-dr-novak')
    return watcher


async def test_a_change_in_one_session_appears_in_another(
    screens: User, create_user: Callable[[], User], clinic: Clinic
) -> None:
    watcher = await _watching_users(create_user, clinic)
    editor = create_user()
    await sign_in(editor, clinic.admin)
    await editor.open('/admin/users')
    editor.find(marker='add-user').click()
    editor.find(marker='new-username').type('dr-novak')
    editor.find(marker='new-password').type('a fine long password')
    editor.find(marker='add-save').click()
    await watcher.should_see(marker='user-dr-novak')  # pushed to the open page: the watcher never reloads


async def test_a_change_in_a_service_thread_appears_in_an_open_session(
    screens: User, create_user: Callable[[], User], clinic: Clinic
) -> None:
    import asyncio

    watcher = await _watching_users(create_user, clinic)
    await asyncio.to_thread(
        users.create,
        UserCreate(username='dr-novak', role='radiologist', password='a fine long password'),
        by=clinic.admin.actor,
    )
    await watcher.should_see(marker='user-dr-novak')


async def test_a_change_in_another_process_arrives_through_redis(screens: User, clinic: Clinic) -> None:
    if not REDIS_URL:
        pytest.skip('Redis variant off: set PACS_TEST_REDIS_URL')
    bridge = relay.start(REDIS_URL)
    try:
        watcher = await _watching_users(None, clinic, screens)
        script = textwrap.dedent(f"""
            from pathlib import Path
            from domain import db, users
            from domain.access import system
            from domain.models import UserCreate
            from domain.settings import Settings
            from jobs import relay
            db.configure(Settings(_env_file=None, data_dir=Path({str(clinic.data_dir)!r})))
            bridge = relay.start({REDIS_URL!r})
            users.create(UserCreate(username='dr-novak', role='radiologist', password='a fine long password'),
                         by=system('worker'))
            bridge.close()
        """)
        environment = {k: v for k, v in os.environ.items() if not k.startswith('PACS_')}
        result = subprocess.run(
            [sys.executable, '-c', script],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        await watcher.should_see(marker='user-dr-novak')
    finally:
        bridge.close()
