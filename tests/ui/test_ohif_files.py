"""ui/ohif.py's answers from a folder laid out like OHIF's dist: files, the generated configuration, OHIF's own
routes, and the 404 that says how to fetch a viewer that is missing."""

from pathlib import Path

import pytest

from ui.ohif import _answer


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / 'dist-ohif'
    (folder / 'assets').mkdir(parents=True)
    (folder / 'index.html').write_text('<html>OHIF</html>')
    (folder / 'app.bundle.0123.js').write_text('__webpack_require__.p = "/ohif/";')
    (folder / 'assets' / 'codec.wasm').write_bytes(b'\0asm')
    return folder


def test_files_are_served_with_their_types(dist: Path) -> None:
    answer = _answer(dist, 'app.bundle.0123.js')
    assert answer.status_code == 200
    assert answer.media_type == 'text/javascript'
    assert _answer(dist, 'assets/codec.wasm').media_type == 'application/wasm'


def test_app_config_points_at_this_origins_dicomweb_with_no_credentials(dist: Path) -> None:
    answer = _answer(dist, 'app-config.js')
    config = bytes(answer.body).decode()
    assert "window.location.origin + '/dicomweb'" in config
    assert "routerBasename: '/ohif'" in config
    assert 'Authorization' not in config and 'Basic' not in config
    assert answer.headers['cache-control'] == 'no-cache'


def test_ohif_routes_get_index_html_and_missing_assets_404(dist: Path) -> None:
    for route in ('', 'viewer', 'viewer/dicomweb'):
        answer = _answer(dist, route)
        assert answer.status_code == 200, route
        assert Path(answer.path).name == 'index.html'  # type: ignore[attr-defined]
    assert _answer(dist, 'app.bundle.missing.js').status_code == 404


def test_a_server_without_the_viewer_says_how_to_fetch_it(tmp_path: Path) -> None:
    answer = _answer(tmp_path / 'nothing', 'index.html')
    assert answer.status_code == 404
    assert b'tools/fetch_ohif.sh' in bytes(answer.body)
