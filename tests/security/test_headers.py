"""Every answer (page, route, static file, error, redirect) carries the security headers; HSTS only over HTTPS."""

import httpx
import pytest
from nicegui import __version__ as nicegui_version
from nicegui import app, ui
from nicegui.testing import User
from starlette.requests import Request

from tests.conftest import Clinic
from ui import asgi, edge_security, health, register_pages

ANSWERS = {
    'page': '/login',
    'route': '/health',
    'static file': f'/_nicegui/{nicegui_version}/static/nicegui.js',
    'not found': '/no/such/page',
    'redirect': '/patients',
    'refused': '/studies/thumbnails/1',
    'malformed id': '/patients/abc',
    'fault': '/broken',
}


@pytest.fixture
async def clinic_app(user: User, clinic: Clinic) -> User:
    register_pages()
    health.register(clinic.data_dir, {})

    @app.get('/broken')
    def broken() -> None:
        raise ZeroDivisionError('a fault someone must fix')

    asgi.install(app)
    return user


def _client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url=base_url)


async def test_every_kind_of_answer_carries_the_security_headers(
    clinic_app: User, caplog: pytest.LogCaptureFixture
) -> None:
    async with _client('http://clinic.lan:8080') as client:
        for kind, path in ANSWERS.items():
            response = await client.get(path)
            headers = response.headers
            assert headers.get('x-content-type-options') == 'nosniff', kind
            assert headers.get('referrer-policy') == 'same-origin', kind
            assert headers.get('x-frame-options') == 'DENY', kind
            policy = headers.get('content-security-policy', '')
            assert "default-src 'self'" in policy, kind
            assert "frame-ancestors 'none'" in policy, kind
            assert "connect-src 'self' ws://clinic.lan:8080" in policy, kind
            assert 'strict-transport-security' not in headers, kind
    caplog.clear()  # the fault's ERROR line was meant


async def test_the_policy_allows_nothing_from_elsewhere(clinic_app: User) -> None:
    async with _client('http://clinic.lan:8080') as client:
        policy = (await client.get('/login')).headers['content-security-policy']
    sources = {part for directive in policy.split(';') for part in directive.split()[1:]}
    assert sources <= {"'self'", "'unsafe-inline'", "'unsafe-eval'", "'none'", 'data:', 'blob:', 'ws://clinic.lan:8080'}


async def test_over_https_answers_carry_hsts_and_the_secure_socket(clinic_app: User) -> None:
    async with _client('https://clinic.lan') as client:
        response = await client.get('/login')
    assert response.headers['strict-transport-security'].startswith('max-age=')
    assert "connect-src 'self' wss://clinic.lan" in response.headers['content-security-policy']


async def test_cookies_are_secure_exactly_when_the_request_came_over_https(user: User) -> None:
    @ui.page('/probe')
    def probe(request: Request) -> None:
        ui.label(f'secure={edge_security.cookie_secure(request)} scope={edge_security.cookie_secure(request.scope)}')

    async with _client('https://clinic.lan') as client:
        assert 'secure=True scope=True' in (await client.get('/probe')).text
    async with _client('http://clinic.lan') as client:
        assert 'secure=False scope=False' in (await client.get('/probe')).text
