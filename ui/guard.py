"""Who is asking over plain HTTP: the browser's session, or HTTP Basic for machine clients.

HTTP routes outside NiceGUI pages (DICOMweb, downloads) get `route_guard(path)` as a dependency; it
answers 401 without credentials and 403 for a role domain.access.ROUTES does not allow at that path.
"""

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from nicegui import app, run

from domain import access, audit, auth
from domain.access import Actor
from domain.errors import LoginFailed

log = logging.getLogger(__name__)

BASIC_CHALLENGE = {'WWW-Authenticate': 'Basic realm="ClinicPACS"'}


async def http_actor(request: Request) -> Actor | None:
    """The actor behind a request: a live browser session first, then HTTP Basic credentials."""
    address = request.client.host if request.client else ''
    token = None
    try:
        token = app.storage.user.get('session')
    except (RuntimeError, AssertionError, KeyError):
        token = None
    if token:
        actor = await run.io_bound(auth.resume, token, address=address)
        if actor is not None:
            return actor
    header = request.headers.get('authorization', '')
    if header.lower().startswith('basic '):
        try:
            username, _, password = base64.b64decode(header[6:]).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError):
            return None
        try:
            return await run.io_bound(auth.basic, username, password, address=address)
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
            await run.io_bound(audit.record_refusal, actor, 'route.denied', object_type='route', object_id=path)
            log.warning('route %s refused for user %s (%s)', path, actor.user_id, actor.role)
            raise HTTPException(status_code=403, detail='Your role may not use this')
        return actor

    return dependency
