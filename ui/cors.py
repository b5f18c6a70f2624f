"""Cross-origin DICOMweb for a viewer served from another site (OHIF): CORS answered to the listed origins only.

`Cors` is plain ASGI and the outermost of ClinicPACS' own layers (ui.asgi.install), so every answer under /dicomweb to
a listed page can be read by it: a route's, and the edge's, the guard's and a fault's refusals alike.
- Preflight (OPTIONS with Access-Control-Request-Method) under /dicomweb: a listed origin asking for GET, HEAD or POST
  gets 204 with that exact origin, the methods, the request headers a DICOMweb viewer sends (Authorization, Accept,
  Content-Type, ...), credentials allowed, Max-Age and Vary: Origin. Any other origin, or another method, gets 403
  without a single CORS header, and a WARNING line.
- Other answers under /dicomweb to a listed origin carry Access-Control-Allow-Origin (that origin, never `*`),
  -Allow-Credentials and -Expose-Headers; to any other origin none of them, so that page cannot read the answer.
  All of them say Vary: Origin, so a cache keeps one copy per origin.
The list is PACS_CORS_ORIGINS (and its older name PACS_ALLOWED_ORIGINS): the same list EdgeSecurity lets send
state-changing requests. CORS only decides which pages may read an answer; whether it may change anything is the
edge's question, and who is asking is the route guard's.
"""

import logging
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .edge_security import normal_origin, with_security_headers

log = logging.getLogger(__name__)

PATH = '/dicomweb'
METHODS = ('GET', 'POST', 'OPTIONS')
SIMPLE = frozenset({'GET', 'HEAD', 'POST'})  # what a preflight may ask for (HEAD is GET without the body)
REQUEST_HEADERS = (
    'Authorization',
    'Accept',
    'Content-Type',
    'Cache-Control',
    'Pragma',
    'If-None-Match',
    'If-Modified-Since',
    'Range',
    'X-Requested-With',
)
EXPOSED_HEADERS = (
    'Content-Type',
    'Content-Length',
    'Content-Location',
    'Content-Disposition',
    'Content-Encoding',
    'Location',
    'ETag',
    'Last-Modified',
    'Retry-After',
    'Warning',
    'WWW-Authenticate',
)
MAX_AGE_S = 600
CORS_HEADERS = (
    'access-control-allow-origin',
    'access-control-allow-credentials',
    'access-control-allow-methods',
    'access-control-allow-headers',
    'access-control-expose-headers',
    'access-control-max-age',
    'access-control-allow-private-network',
)


class Cors:
    """Answers preflights under /dicomweb and marks answers there readable by the listed origins only."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] = ()) -> None:
        self.app = app
        # a wildcard or an opaque origin is never listed: the answer would go to any page, with credentials
        self.origins = frozenset(normal_origin(o) for o in origins if o.strip() not in ('*', 'null', ''))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or not _cross_origin_path(scope['path']):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get('origin')
        listed = origin is not None and normal_origin(origin) in self.origins
        if scope['method'] == 'OPTIONS' and origin is not None and 'access-control-request-method' in headers:
            await self._preflight(scope, receive, send, origin if listed else None)
            return
        await self.app(scope, receive, _marked(send, origin if listed else None))

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, listed: str | None) -> None:
        headers = Headers(scope=scope)
        method = headers['access-control-request-method'].strip().upper()
        if listed is None or method not in SIMPLE:
            log.warning(
                'CORS preflight for %s %s refused: origin %s', method[:20], scope['path'], headers['origin'][:200]
            )
            refusal = JSONResponse({'detail': 'Cross-origin request refused'}, status_code=403)
            refusal.headers['Vary'] = 'Origin'
            await refusal(scope, receive, with_security_headers(scope, send))
            return
        answer = Response(status_code=204)
        answer.headers.update(
            {
                'Access-Control-Allow-Origin': listed,
                'Access-Control-Allow-Credentials': 'true',
                'Access-Control-Allow-Methods': ', '.join(METHODS),
                'Access-Control-Allow-Headers': ', '.join(REQUEST_HEADERS),
                'Access-Control-Max-Age': str(MAX_AGE_S),
                'Vary': 'Origin',
            }
        )
        if headers.get('access-control-request-private-network') == 'true':  # Chrome's Private Network Access
            answer.headers['Access-Control-Allow-Private-Network'] = 'true'
        await answer(scope, receive, with_security_headers(scope, send))


def _marked(send: Send, listed: str | None) -> Send:
    """The answer's headers: CORS for a listed origin, none at all for any other; Vary: Origin either way."""

    async def send_marked(message: Message) -> None:
        if message['type'] == 'http.response.start':
            headers = MutableHeaders(scope=message)
            for name in CORS_HEADERS:  # only this layer speaks CORS
                del headers[name]
            headers.add_vary_header('Origin')
            if listed is not None:
                headers['Access-Control-Allow-Origin'] = listed
                headers['Access-Control-Allow-Credentials'] = 'true'
                headers['Access-Control-Expose-Headers'] = ', '.join(EXPOSED_HEADERS)
        await send(message)

    return send_marked


def _cross_origin_path(path: str) -> bool:
    return path == PATH or path.startswith(f'{PATH}/')
