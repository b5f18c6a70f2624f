"""Series thumbnails on a patient's timeline, as cacheable URLs instead of images inside the page's socket.

`/thumbnails/{series_id}` answers the signed-in staff who may see patients (domain.access.ROUTES), and only for a
series of a study filed under a patient; the content hash is its ETag, and the page asks with `?v=<hash>`, so a
browser keeps the image (privately) until the thumbnail is rebuilt.
"""

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from nicegui import app

from domain import patient_search
from domain.access import Actor
from domain.errors import DomainError

from .guard import route_guard
from .shell import fetch

log = logging.getLogger(__name__)

ROUTE = '/thumbnails/{series_id}'
CACHE_CONTROL = 'private, max-age=86400'


def register() -> None:
    """The thumbnail route (a patient page's register() calls this)."""
    guard = route_guard(ROUTE)

    @app.get(ROUTE, include_in_schema=False)
    async def thumbnail(series_id: int, request: Request, actor: Annotated[Actor, Depends(guard)]) -> Response:
        try:
            found = await fetch(patient_search.patient_thumbnail, series_id, by=actor)
        except DomainError:
            raise HTTPException(status_code=403, detail='Your role may not use this') from None
        if found is None:
            raise HTTPException(status_code=404, detail='No thumbnail')
        tag = f'"{found.sha256}"' if found.sha256 else None
        if tag is not None and request.headers.get('if-none-match') == tag:
            return Response(status_code=304, headers={'ETag': tag, 'Cache-Control': CACHE_CONTROL})
        from dicom import storage

        try:
            data = await fetch(storage.read_file, found.path)  # decrypted when kept encrypted at rest
        except OSError:  # gone from disk (or not a file): the timeline shows the study without it
            log.warning('thumbnail of series %s missing', series_id)
            raise HTTPException(status_code=404, detail='No thumbnail') from None
        kind = 'image/jpeg' if data[:2] == b'\xff\xd8' else 'image/png'
        headers = {'Cache-Control': CACHE_CONTROL, **({'ETag': tag} if tag else {})}
        return Response(data, media_type=kind, headers=headers)


def url(series_id: int, version: str) -> str:
    """Where the page finds a series' thumbnail; the version changes the URL when the thumbnail is rebuilt."""
    return f'/thumbnails/{series_id}?v={version}' if version else f'/thumbnails/{series_id}'
