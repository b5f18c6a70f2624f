"""Who is asking over plain HTTP: the browser's session, or HTTP Basic for machine clients.

HTTP routes outside NiceGUI pages (DICOMweb, downloads) get `route_guard(path)` as a dependency; it
answers 401 without credentials and 403 for a role domain.access.ROUTES does not allow at that path.
"""

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from domain import access, audit, auth, machine_auth
from domain.access import Actor
from domain.errors import AccountLocked, LoginFailed

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
        except AccountLocked as error:  # throttled or locked: answered at once, never by waiting here
            raise HTTPException(
                status_code=429, detail=str(error), headers={'Retry-After': str(error.retry_after)}
            ) from None
        except LoginFailed:
            return None
    return None


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
        return actor

    return dependency
