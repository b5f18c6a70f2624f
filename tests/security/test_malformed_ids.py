"""Attack 11: a malformed id in a URL (out of range, negative, not a number, junk UIDs) is a 404, never a 500."""

import inspect
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from nicegui import app
from nicegui.testing import User
from starlette.routing import Route

from tests.conftest import Clinic, sign_in
from ui import asgi, errors, health, live, register_pages

MALFORMED_IDS = ('99999999999999999999999', str(2**63), '0', '-1', 'abc', '1.5', '1e3', '%20')
JUNK_UIDS = ('junk', '1.2.x', '1' * 80, '%2e%2e', '-1', "1'--")


def _int_params(route: Route) -> set[str]:
    names = set(re.findall(r'\{(\w+)\}', route.path))
    signature = inspect.signature(route.endpoint)
    return {p.name for p in signature.parameters.values() if p.name in names and p.annotation in (int, 'int')}


def _with_ids(path: str) -> list[str]:
    return [re.sub(r'\{(\w+)\}', '1', path.replace(f'{{{name}}}', value, 1)) for name, value in _bad(path)]


def _bad(path: str) -> list[tuple[str, str]]:
    route = next(r for r in app.routes if isinstance(r, Route) and r.path == path)
    return [(name, value) for name in sorted(_int_params(route)) for value in MALFORMED_IDS]


def _id_paths() -> list[str]:
    return sorted({r.path for r in app.routes if isinstance(r, Route) and _int_params(r)})


@pytest.fixture
async def edge(user: User, clinic: Clinic) -> AsyncIterator[User]:
    """Every page and route registered behind the real edge, nobody signed in."""
    register_pages()
    health.register(clinic.data_dir, {})
    asgi.install(app)
    live.start_bridge()
    yield user
    live.stop_bridge()


async def test_every_page_and_route_answers_a_malformed_id_with_404_for_an_admin(edge: User, clinic: Clinic) -> None:
    await sign_in(edge, clinic.admin)
    paths = _id_paths()
    assert {'/studies/thumbnails/{series_id}', '/patients/{patient_id}', '/viewer/{study_id}'} <= set(paths)
    answers = {url: (await edge.http_client.get(url)).status_code for path in paths for url in _with_ids(path)}
    assert {url: status for url, status in answers.items() if status != 404} == {}


async def test_a_malformed_id_is_404_for_nobody_signed_in_too(edge: User) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='http://test') as stranger:
        answers = {url: (await stranger.get(url)).status_code for path in _id_paths() for url in _with_ids(path)}
    assert {url: status for url, status in answers.items() if status != 404} == {}


async def test_the_thumbnail_of_a_huge_series_id_is_404_not_500(edge: User, clinic: Clinic) -> None:
    await sign_in(edge, clinic.technician)
    response = await edge.http_client.get('/studies/thumbnails/99999999999999999999999')
    assert response.status_code == 404
    assert 'Traceback' not in response.text


async def test_dicomweb_answers_junk_uids_with_404(edge: User, clinic: Clinic) -> None:
    await sign_in(edge, clinic.radiologist)
    paths = sorted(
        r.path for r in app.routes if isinstance(r, Route) and r.path.startswith('/dicomweb/studies/{study}')
    )
    assert len(paths) >= 4
    answers = {}
    for path in paths:
        for uid in JUNK_UIDS:
            url = path.replace('{study}', uid, 1).replace('{frame}', '1')
            url = re.sub(r'\{(\w+)\}', '1.2.3', url)
            answers[url] = (await edge.http_client.get(url)).status_code
    assert {url: status for url, status in answers.items() if status != 404} == {}


async def test_any_other_unparsable_path_parameter_is_404_not_422(user: User) -> None:
    errors.register()

    @app.get('/probe/{size}')
    def probe(size: float) -> dict[str, float]:
        return {'size': size}

    assert (await user.http_client.get('/probe/2.5')).status_code == 200
    assert (await user.http_client.get('/probe/large')).status_code == 404
