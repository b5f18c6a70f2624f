"""Attack 9 and cross-origin POST: only this server's own pages (and PACS_CORS_ORIGINS, formerly PACS_ALLOWED_ORIGINS)
may open its socket or change anything; machine clients that name no origin pass. CORS itself: test_cors.py."""

import logging

import httpx
import pytest
from nicegui import app
from nicegui.testing import User
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from ui import asgi
from ui.edge_security import EdgeSecurity

HANDSHAKE = '/_nicegui_ws/socket.io/?EIO=4&transport=polling'
VIEWER = 'https://viewer.clinic.lan:3000'


@pytest.fixture
def edge(user: User) -> httpx.AsyncClient:
    """NiceGUI's app behind the real edge, with one state-changing route; requests go to http://clinic.lan:8080."""

    @app.post('/probe')
    def probe() -> dict[str, str]:
        return {'changed': 'yes'}

    asgi.install(app, origins=[VIEWER])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='http://clinic.lan:8080')


async def test_a_socket_handshake_from_another_site_is_refused(
    edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger='ui.edge_security'):
        response = await edge.get(HANDSHAKE, headers={'Origin': 'http://evil.example'})
    assert response.status_code == 403
    assert 'access-control-allow-origin' not in response.headers
    assert 'access-control-allow-credentials' not in response.headers
    assert 'origin http://evil.example is not this server' in caplog.text


async def test_a_socket_handshake_from_our_own_page_or_an_allowed_site_opens(edge: httpx.AsyncClient) -> None:
    for origin in ('http://clinic.lan:8080', VIEWER):
        response = await edge.get(HANDSHAKE, headers={'Origin': origin})
        assert response.status_code == 200, origin
        assert response.text.startswith('0{'), response.text[:100]  # engine.io's "open" packet


async def test_a_socket_handshake_over_https_is_judged_against_the_https_origin(user: User) -> None:
    asgi.install(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='https://clinic.lan') as edge:
        assert (await edge.get(HANDSHAKE, headers={'Origin': 'https://clinic.lan'})).status_code == 200
        assert (await edge.get(HANDSHAKE, headers={'Origin': 'http://clinic.lan'})).status_code == 403


async def test_a_post_from_another_site_is_refused(edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger='ui.edge_security'):
        by_origin = await edge.post('/probe', headers={'Origin': 'http://evil.example'})
        by_referer = await edge.post('/probe', headers={'Referer': 'http://evil.example/form.html'})
        opaque = await edge.post('/probe', headers={'Origin': 'null'})
    assert (by_origin.status_code, by_referer.status_code, opaque.status_code) == (403, 403, 403)
    assert caplog.text.count('POST /probe refused') == 3


async def test_a_post_from_our_own_page_or_an_allowed_site_passes(edge: httpx.AsyncClient) -> None:
    assert (await edge.post('/probe', headers={'Origin': 'http://clinic.lan:8080'})).status_code == 200
    assert (await edge.post('/probe', headers={'Referer': 'http://clinic.lan:8080/patients'})).status_code == 200
    assert (await edge.post('/probe', headers={'Origin': VIEWER})).status_code == 200


async def test_a_machine_client_naming_no_origin_passes(edge: httpx.AsyncClient) -> None:
    assert (await edge.post('/probe', auth=('admin', 'secret'))).status_code == 200


async def test_a_plain_get_from_another_site_is_not_an_origin_question(edge: httpx.AsyncClient) -> None:
    response = await edge.get('/_nicegui/no-such-thing', headers={'Origin': 'http://evil.example'})
    assert response.status_code == 404


def _socket_app() -> Starlette:
    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text('open')
        await socket.close()

    return Starlette(routes=[WebSocketRoute('/_nicegui_ws/socket', echo)], middleware=[Middleware(EdgeSecurity)])


def test_a_websocket_from_another_site_is_refused() -> None:
    client = TestClient(_socket_app())  # its WebSocket requests name the host `testserver`
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect('/_nicegui_ws/socket', headers={'Origin': 'http://evil.example'}):
            pass
    assert refused.value.code == 1008
    with client.websocket_connect('/_nicegui_ws/socket', headers={'Origin': 'http://testserver'}) as socket:
        assert socket.receive_text() == 'open'
