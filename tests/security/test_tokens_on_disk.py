"""No session token on disk: a signed-in browser's token is in its cookie only, the server keeps a hash (attack 2).

Before, NiceGUI's storage file in the working directory (0644) held the plain token of every signed-in browser.
"""

import hashlib
import stat
import time
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser.conftest import ROOT, Served, log_in

pytestmark = pytest.mark.browser


def _files_under(*folders: Path, since: float) -> list[Path]:
    return [
        path
        for folder in folders
        if folder.exists()
        for path in folder.rglob('*')
        if path.is_file() and path.stat().st_mtime >= since and path.stat().st_size < 50_000_000
    ]


def test_a_signed_in_browsers_token_is_nowhere_on_disk(served: Served, browser: webdriver.Chrome) -> None:
    started = time.time() - 1
    log_in(browser, served.url)
    cookie = browser.get_cookie('pacs_session')
    assert cookie is not None and cookie['httpOnly'] and cookie['sameSite'] == 'Lax'
    token = cookie['value'].encode()
    written = _files_under(served.data_dir, ROOT / '.nicegui', since=started)
    assert written, 'the server wrote nothing since sign-in?'
    holding = [path for path in written if token in path.read_bytes()]
    assert not holding, f'the session token is stored in {holding}'
    hashed = hashlib.sha256(token).hexdigest().encode()
    assert any(hashed in path.read_bytes() for path in written if path.suffix == '.sqlite3' or 'sqlite' in path.name)


def test_the_servers_own_storage_is_in_the_data_directory_and_private(
    served: Served, browser: webdriver.Chrome
) -> None:
    log_in(browser, served.url)
    storage = served.data_dir / 'ui-storage'
    assert storage.is_dir()
    for path in [storage, *storage.rglob('*')]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f'{path} is {oct(mode)}'
