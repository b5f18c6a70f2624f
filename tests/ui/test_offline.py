"""Clinics run offline: no page may load a script, style, font or image from another host."""

import re

from nicegui.testing import User

from tests.conftest import Clinic

REMOTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//(?!127\.0\.0\.1|localhost|test/)""", re.IGNORECASE)


async def test_the_login_page_loads_nothing_from_elsewhere(screens: User, clinic: Clinic) -> None:
    response = await screens.http_client.get('/login')
    assert response.status_code == 200
    assert 'socket.io' in response.text  # the check sees the real page
    assert not REMOTE.findall(response.text)


async def test_the_css_served_with_pages_imports_no_remote_fonts(screens: User, clinic: Clinic) -> None:
    page = (await screens.http_client.get('/login')).text
    for path in re.findall(r'href="(/_nicegui/[^"]+\.css)"', page):
        css = (await screens.http_client.get(path)).text
        assert not re.search(r'url\(\s*["\']?https?://', css), path
