"""The web server's front door: only our own pages may talk to it, every answer carries the security headers,
and a malformed id in a URL is a plain 404.

`EdgeSecurity` is plain ASGI and the outermost of ClinicPACS' own layers (ui.asgi.install), so it sees pages,
routes, static files, the socket.io handshake and the WebSocket, and the answers of the layers inside it.
- Origin: a state-changing request (POST, PUT, PATCH, DELETE) whose Origin (or, lacking one, Referer) names another
  site is refused with 403, and so is a socket.io handshake or WebSocket from another site; the server's own origin
  is the request's scheme and Host header, plus PACS_CORS_ORIGINS (whose pages ui.cors lets read DICOMweb answers).
  Requests with neither header (curl, dicomweb-client with Basic credentials) pass: a browser always names the page
  that sent a cross-site request.
- Headers: a Content-Security-Policy allowing only this server (NiceGUI needs inline scripts and Vue's template
  compiler), no framing, no MIME sniffing, referrers only to ourselves, and HSTS when the request came over HTTPS.
- Ids: a path parameter declared `int` must be 1..2**63-1 in plain digits and a UID parameter (`study`, `series`,
  `instance`) must look like a UID; anything else answers 404 before a route or page runs, so no database ever
  sees an id it cannot store.
"""

import inspect
import logging
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

STATE_CHANGING = frozenset({'POST', 'PUT', 'PATCH', 'DELETE'})
SOCKET_PATH = '/_nicegui_ws/'  # NOTE: where NiceGUI mounts socket.io (nicegui/nicegui.py)
LARGEST_ID = 2**63 - 1  # a signed 64-bit key, as PostgreSQL's bigint and SQLite's INTEGER store it
# NOTE: DICOMweb's routes (dicom/qido.py, dicom/wado*.py, dicom/stow.py) name their UID parameters so.
UID_PARAMS = frozenset({'study', 'series', 'instance'})
_UID = re.compile(r'(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*')  # PS3.5 9.1
_DIGITS = re.compile(r'[0-9]{1,19}')
_HOST = re.compile(r'[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?')
_DEFAULT_PORTS = {'http': '80', 'https': '443'}

POLICY = (
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",  # NiceGUI's inline page script; Vue compiles templates
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)
FIXED_HEADERS = (
    ('X-Content-Type-Options', 'nosniff'),
    ('Referrer-Policy', 'same-origin'),
    ('X-Frame-Options', 'DENY'),
)
HSTS = 'max-age=31536000'


def cookie_secure(request_or_scope: HTTPConnection | Scope) -> bool:
    """True when the request came over HTTPS, so a cookie set in the answer may carry `Secure`."""
    scope = request_or_scope.scope if isinstance(request_or_scope, HTTPConnection) else request_or_scope
    return scope.get('scheme') in ('https', 'wss')


def own_origin(scope: Scope) -> str:
    """This server's origin as the browser sees it: the request's scheme and Host header."""
    host = Headers(scope=scope).get('host', '')
    return normal_origin(f'{_web_scheme(scope)}://{host}')


def valid_host(host: str) -> bool:
    """True for a Host header that is a plain name or address with an optional port (nothing to inject)."""
    return bool(_HOST.fullmatch(host))


def content_security_policy(scope: Scope) -> str:
    """The policy for an answer to this request: this server only, its own WebSocket included."""
    host = Headers(scope=scope).get('host', '')
    socket = f' {"wss" if cookie_secure(scope) else "ws"}://{host}' if valid_host(host) else ''
    return '; '.join((*POLICY, f"connect-src 'self'{socket}"))


class EdgeSecurity:
    """Refuses other sites and malformed ids; puts the security headers on every answer."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] = ()) -> None:
        self.app = app
        self.origins = frozenset(normal_origin(origin) for origin in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        if foreign := self._foreign_origin(scope):
            log.warning('%s %s refused: origin %s is not this server', _method(scope), scope['path'], foreign[:200])
            await _refuse(scope, receive, send, 403, 'Cross-origin request refused')
            return
        if scope['type'] == 'http' and _malformed_id(scope):
            await _refuse(scope, receive, send, 404, 'Not Found')
            return
        await self.app(scope, receive, with_security_headers(scope, send))

    def _foreign_origin(self, scope: Scope) -> str | None:
        """The other site a browser says this request comes from, if it needs checking and is not allowed."""
        headers = Headers(scope=scope)
        origin = headers.get('origin')
        if scope['type'] == 'http' and scope['method'] not in STATE_CHANGING:
            if not scope['path'].startswith(SOCKET_PATH):
                return None
        elif origin is None and scope['type'] == 'http' and (referer := headers.get('referer')):
            parts = urlsplit(referer)
            origin = f'{parts.scheme}://{parts.netloc}'
        if origin is None:
            return None
        normal = normal_origin(origin)
        return None if normal == own_origin(scope) or normal in self.origins else origin


def with_security_headers(scope: Scope, send: Send) -> Send:
    """`send` with the security headers added to the answer's start (ui.cors answers preflights with them too)."""

    async def send_with_headers(message: Message) -> None:
        if message['type'] == 'http.response.start':
            headers = MutableHeaders(scope=message)
            headers.setdefault('Content-Security-Policy', content_security_policy(scope))
            for name, value in FIXED_HEADERS:
                headers.setdefault(name, value)
            if cookie_secure(scope):
                headers.setdefault('Strict-Transport-Security', HSTS)
        await send(message)

    return send_with_headers


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    if scope['type'] == 'websocket':
        await send({'type': 'websocket.close', 'code': 1008})  # before accept: the server answers HTTP 403
        return
    await JSONResponse({'detail': detail}, status_code=status)(scope, receive, with_security_headers(scope, send))


def _malformed_id(scope: Scope) -> bool:
    """True when the route this path leads to declares an id the path does not carry in a usable form."""
    found = None
    for route in getattr(scope.get('app'), 'routes', ()):
        match, child = route.matches(scope)
        if match == Match.FULL:
            found = (route, child)
            break
        if match == Match.PARTIAL and found is None:  # the method differs: the router answers 405 unless one fits
            found = (route, child)
    if found is None:
        return False
    route, child = found
    params: dict[str, Any] = child.get('path_params', {})
    ints = _int_params(getattr(route, 'endpoint', None))
    return any(not _valid_id(params[n]) for n in ints if n in params) or any(
        not _valid_uid(params[n]) for n in UID_PARAMS if n in params
    )


def _valid_id(value: object) -> bool:
    text = str(value)
    return bool(_DIGITS.fullmatch(text)) and 1 <= int(text) <= LARGEST_ID


def _valid_uid(value: object) -> bool:
    text = str(value)
    return len(text) <= 64 and bool(_UID.fullmatch(text))


@lru_cache(maxsize=512)
def _int_params(endpoint: Callable[..., Any] | None) -> frozenset[str]:
    """The endpoint's parameters declared `int` (pages and routes alike; screen() copies its page's signature)."""
    if endpoint is None:
        return frozenset()
    try:
        parameters = inspect.signature(endpoint).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(p.name for p in parameters if p.annotation in (int, 'int'))


def normal_origin(origin: str) -> str:
    """An origin compared as browsers do: lower case, no default port, no trailing slash."""
    parts = urlsplit(origin.strip().lower().rstrip('/'))
    netloc = parts.netloc
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default and netloc.endswith(f':{default}'):
        netloc = netloc[: -len(default) - 1]
    return f'{parts.scheme}://{netloc}'


def _web_scheme(scope: Scope) -> str:
    return 'https' if cookie_secure(scope) else 'http'


def _method(scope: Scope) -> str:
    return str(scope.get('method', 'WEBSOCKET'))
