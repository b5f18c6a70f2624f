"""Who is asking over plain HTTP: the browser's session, or HTTP Basic for machine clients.

HTTP routes outside NiceGUI pages (DICOMweb, downloads) get `route_guard(path)` as a dependency; it
answers 401 without credentials and 403 for a role domain.access.ROUTES does not allow at that path.
"""

import base64
import binascii
import logging
import math
import time
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from domain import access, audit, auth, centres, machine_auth, throttle
from domain.access import Actor
from domain.errors import AccountLocked, LoginFailed, Throttled

from . import session_cookie, threads

log = logging.getLogger(__name__)

BASIC_CHALLENGE = {'WWW-Authenticate': 'Basic realm="ClinicPACS"'}


async def http_actor(request: Request) -> Actor | None:
    """The actor behind a request: a live browser session first, then HTTP Basic credentials."""
    address = request.client.host if request.client else ''
    token = session_cookie.token_of(request)
    if token:
        actor = await threads.io(auth.resume, token, address=address)
        if actor is not None and not actor.kiosk:
            return actor
    header = request.headers.get('authorization', '')
    if header.lower().startswith('basic '):
        try:
            username, _, password = base64.b64decode(header[6:]).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError):
            return None
        try:
            return await threads.checking(machine_auth.basic, username, password, address=address)
        except Throttled as error:
            _remember_wait(address, error.retry_after)
            raise _too_many(str(error), error.retry_after) from None
        except AccountLocked as error:  # this account is locked: answered at once as well
            raise _too_many(str(error), error.retry_after) from None
        except LoginFailed:
            return None
    return None


# Addresses told to wait (Throttled), until when (monotonic): the database decided; this process only remembers it
# so that a storm's further attempts are answered by ThrottledBasic at no cost. Other processes ask the database once
# and learn it too.
_waiting: dict[str, float] = {}
MAX_WAITING = 10_000


class ThrottledBasic:
    """Plain ASGI: a request with Basic credentials from an address told to wait gets its 429 here, before routing.

    A storm of wrong logins is thousands of requests a minute; answered here, each costs no route, no dependency, no
    exception and no thread, and leaves next to nothing for the garbage collector (whose pauses every page feels).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] == 'http' and _waiting:
            client = scope.get('client')
            waiting = _waiting.get(client[0] if client else '', 0.0) - time.monotonic()
            if waiting > 0 and Headers(scope=scope).get('authorization', '').lower().startswith('basic '):
                seconds = math.ceil(waiting)
                await JSONResponse(
                    {'detail': str(throttle.must_wait(seconds))}, status_code=429, headers={'Retry-After': str(seconds)}
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _remember_wait(address: str, seconds: int) -> None:
    if len(_waiting) >= MAX_WAITING:
        now = time.monotonic()
        for stale in [a for a, until in _waiting.items() if until <= now]:
            del _waiting[stale]
        if len(_waiting) >= MAX_WAITING:
            _waiting.clear()
    _waiting[address] = time.monotonic() + seconds


def _too_many(message: str, seconds: int) -> HTTPException:
    return HTTPException(status_code=429, detail=message, headers={'Retry-After': str(max(1, seconds))})


def route_guard(path: str) -> Callable[[Request], Awaitable[Actor]]:
    """A FastAPI dependency that lets through only the roles domain.access.ROUTES allows at `path`."""
    if path not in access.ROUTES:
        raise KeyError(f'route {path} has no row in domain.access.ROUTES')

    async def dependency(request: Request) -> Actor:
        actor = await http_actor(request)
        if actor is None:
            raise HTTPException(status_code=401, detail='Sign in required', headers=BASIC_CHALLENGE)
        if not access.may_open(actor.role, path):
            await threads.io(audit.record_refusal, actor, 'route.denied', object_type='route', object_id=path)
            log.warning('route %s refused for user %s (%s)', path, actor.user_id, actor.role)
            raise HTTPException(status_code=403, detail='Your role may not use this')
        centres.set_scope(actor.centres)  # the route's own work (ui/threads copies it) sees only their centres
        return actor

    return dependency
