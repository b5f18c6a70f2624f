"""/ohif/ serves files from the viewer's folder only: no path, absolute path or symbolic link reaches outside it."""

from pathlib import Path

import pytest

from ui.ohif import _answer


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / 'dist-ohif'
    folder.mkdir()
    (folder / 'index.html').write_text('<html>OHIF</html>')
    (tmp_path / 'secret.key').write_text('not for the browser')
    (folder / 'leak.key').symlink_to(tmp_path / 'secret.key')
    return folder


@pytest.mark.parametrize(
    'path',
    ['../secret.key', 'assets/../../secret.key', '%2e%2e/secret.key', 'leak.key', '/etc/passwd'],
)
def test_nothing_outside_the_viewers_folder_is_served(dist: Path, path: str) -> None:
    assert _answer(dist, path).status_code == 404
