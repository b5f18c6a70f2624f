"""The HTTP edge: a browser that leaves mid-request is not an error; a real fault logs one line with an id; with TLS
on, the plain-HTTP port only sends browsers to HTTPS (`RedirectServer`).

`ClientEdge` is plain ASGI (not Starlette's BaseHTTPMiddleware) and sits inside NiceGUI's own middleware, so
it sees every route, page and static file. When a browser navigates away, a file answer stops before it
starts, and NiceGUI's BaseHTTPMiddleware layers would raise "No response returned." with a full traceback;
here that is noted at DEBUG and closed with an empty 499 the departed browser never reads.
"""

import logging
import secrets
import threading
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import quote

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .cors import Cors
from .edge_security import EdgeSecurity, valid_host
from .guard import ThrottledBasic

log = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that went away; nobody receives it


def install(app: Starlette, *, origins: Iterable[str] = ()) -> None:
    """Put the edge inside NiceGUI's middleware; call before ui.run, which must then add no gzip of its own.

    `origins` are the sites besides this server's own whose pages may call it and read its DICOMweb answers
    (PACS_CORS_ORIGINS).
    """
    # NOTE: gzip holds a response's start until its first body; it goes inside the edge so that the edge
    # knows whether an answer really began (ui.run(gzip_middleware_factory=None) in main.py).
    app.add_middleware(GZipMiddleware)
    app.add_middleware(ClientEdge)
    app.add_middleware(ThrottledBasic)  # a storm's refused attempts end here, with the edge's headers
    app.add_middleware(EdgeSecurity, origins=tuple(origins))  # outside: its headers reach ClientEdge's answers too
    app.add_middleware(Cors, origins=tuple(origins))  # outermost: the edge's refusals are readable by listed pages


class ClientEdge:
    """Answers for the whole web server when a route fails or the browser has already gone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        exchange = _Exchange()

        async def receive_watched() -> Message:
            message = await receive()
            if message['type'] == 'http.disconnect':
                exchange.left = True
            return message

        async def send_watched(message: Message) -> None:
            if message['type'] != 'http.response.start':
                await send(message)
                return
            # A file answer cancels its own sending when the browser leaves; a status line cut off half-way
            # would leave the layers outside without an answer, so it always goes out whole.
            with anyio.CancelScope(shield=True):
                await send(message)
            exchange.started = True

        try:
            await self.app(scope, receive_watched, send_watched)
        except Exception as error:
            if exchange.left or isinstance(error, ClientDisconnect):
                log.debug('%s %s: the browser left during the request', scope['method'], route_of(scope))
                await _close_quietly(exchange, send)
                return
            error_id = note_error(log, error, 'in route %s %s', scope['method'], route_of(scope))
            if not exchange.started:
                await error_response(error_id)(scope, receive, send)
            return
        if exchange.left:
            log.debug('%s %s: the browser left during the request', scope['method'], route_of(scope))
            await _close_quietly(exchange, send)


def route_of(scope: Scope) -> str:
    """The route's pattern (`/dicomweb/studies/{study}`) or else the path; never the query, which may name a patient."""
    route = scope.get('route')
    return str(getattr(route, 'path', None) or scope.get('path', '?'))


def new_error_id() -> str:
    """A short id that staff can read out and the administrator can find in the log."""
    return secrets.token_hex(4)


def note_error(logger: logging.Logger, error: BaseException, where: str, *args: object) -> str:
    """The error's id; the first edge that meets the error logs it, one line with its traceback, the others do not."""
    known = getattr(error, '_clinicpacs_error_id', None)
    if known:
        return str(known)
    error_id = new_error_id()
    with suppress(AttributeError):
        error._clinicpacs_error_id = error_id  # type: ignore[attr-defined]
    logger.error(f'error %s {where}', error_id, *args, exc_info=error)
    return error_id


def error_response(error_id: str) -> JSONResponse:
    """The 500 answer: no details, only the id of the log line."""
    return JSONResponse({'detail': 'Internal error', 'error_id': error_id}, status_code=500)


@dataclass
class _Exchange:
    left: bool = False  # the server told us the browser disconnected
    started: bool = False  # the answer's status line went out


async def _close_quietly(exchange: _Exchange, send: Send) -> None:
    if exchange.started:
        return
    exchange.started = True
    await send({'type': 'http.response.start', 'status': CLIENT_CLOSED_REQUEST, 'headers': []})
    await send({'type': 'http.response.body', 'body': b'', 'more_body': False})


class HttpsRedirect:
    """The plain-HTTP port when TLS is on: every request is sent to the same host, path and query over HTTPS."""

    def __init__(self, https_port: int) -> None:
        self.https_port = https_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            if scope['type'] == 'websocket':
                await send({'type': 'websocket.close', 'code': 1008})
            return
        host = Headers(scope=scope).get('host', '')
        if not valid_host(host):
            await PlainTextResponse('Use HTTPS', status_code=400)(scope, receive, send)
            return
        name = host.rsplit(':', 1)[0] if not host.endswith(']') else host
        port = '' if self.https_port == 443 else f':{self.https_port}'
        query = scope.get('query_string', b'').decode('latin-1')
        path = quote(scope.get('path', '/'), safe="/:@!$&'()*+,;=-._~")
        target = f'https://{name}{port}{path}' + (f'?{query}' if query else '')
        # 307: the same method and body over HTTPS; not cached for good, so TLS can be turned off again.
        await RedirectResponse(target, status_code=307)(scope, receive, send)


class RedirectServer:
    """A small uvicorn server on its own thread answering the plain-HTTP port with HttpsRedirect."""

    def __init__(self, host: str, port: int, https_port: int) -> None:
        config = uvicorn.Config(
            EdgeSecurity(HttpsRedirect(https_port)), host=host, port=port, log_level='warning', lifespan='off'
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name='https-redirect', daemon=True)

    def start(self) -> None:
        """Listen in the background (uvicorn installs no signal handlers off the main thread)."""
        self.thread.start()

    def stop(self) -> None:
        """Close the port and wait for the thread to end."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
