"""MPR images for the viewer's canvas: `GET /mpr/{series}/{plane}/{mode}/{thickness}/{index}`.

The image is resliced on the server from the series' cached volume (dicom/volume.py, dicom/mpr.py) and answered
as JPEG, PNG or WebP with the same `window`, `viewport`, `quality` and `accept` parameters as the rendered-frame
routes (dicom/wado.py), so the canvas scrolls, windows and prefetches an MPR plane exactly as a series of frames.
`mode` is `mip`, `minip` or `avg` and `thickness` the slab in planes (1: a thin plane). Each request passes the
role check (route_guard, domain.access ROUTES) and the service's permission check; the first view of the study
by a user is audited by domain.viewing.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from nicegui import app, run

from domain import viewing
from domain.access import Actor
from domain.errors import InvalidInput, NotAllowed, NotFound

from . import mpr, render, storage, wado
from .volume import Volume, VolumeCache

log = logging.getLogger(__name__)

PATH = '/mpr/{series_id}/{plane}/{mode}/{thickness}/{index}'

volumes = VolumeCache(max_bytes=1024 * 1024 * 1024)


def register(route_guard: Callable[[str], Callable[..., Awaitable[Actor]]]) -> None:
    """Serve the MPR image route behind the given role guard (ui.viewer's register() passes ui.guard's)."""
    guard = route_guard(PATH)

    @app.get(PATH, include_in_schema=False)
    async def mpr_image(
        request: Request,
        *,
        series_id: int,
        plane: str,
        mode: str,
        thickness: int,
        index: int,
        actor: Annotated[Actor, Depends(guard)],
    ) -> Response:
        if plane not in mpr.PLANES or mode not in mpr.MODES or not 1 <= thickness <= mpr.MAX_THICKNESS:
            raise HTTPException(status_code=400, detail='plane, slab mode or thickness makes no sense')
        try:
            asked = wado.parse(1, request.query_params, request.headers.get('accept'))
        except ValueError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        except LookupError as error:
            raise HTTPException(status_code=406, detail=str(error)) from None
        try:
            data = await run.io_bound(_render_for, series_id, actor, (plane, mode, thickness, index), asked)
        except NotAllowed as error:
            raise HTTPException(status_code=403, detail=str(error)) from None
        except NotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        except IndexError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        except (InvalidInput, render.RenderError) as error:
            log.warning('MPR of series %s not shown: %s', series_id, error)
            raise HTTPException(status_code=422, detail=f'This series cannot be shown as MPR: {error}') from None
        return Response(
            data, media_type=render.MEDIA_TYPES[asked.media], headers={'Cache-Control': 'private, no-cache'}
        )


def volume_for(series_id: int, *, by: Actor) -> Volume:
    """The series' volume after the role check (read from the files the first time, then from the cache)."""
    files = viewing.series_files(series_id, by=by)
    # the UID and the files: a series that gains slices is read again, and so is a new series given a deleted one's id
    key = (files.series_instance_uid, hash(files.file_paths))
    found = volumes.cached(key)
    if found is not None:  # each image of a scrolled plane: no paths to resolve (300 resolve() calls cost ~15 ms)
        return found
    try:
        return volumes.get(key, [storage.absolute(path) for path in files.file_paths])
    except FileNotFoundError:
        raise render.RenderError('a file of this series is missing on the server') from None


# ---------------------------------------------------------------- private helpers


def _render_for(series_id: int, actor: Actor, where: tuple[str, str, int, int], asked: wado.Rendering) -> bytes:
    plane, mode, thickness, index = where
    return mpr.rendered(
        volume_for(series_id, by=actor),
        plane,
        index,
        thickness=thickness,
        mode=mode,
        window=asked.window,
        viewport=asked.viewport,
        media=asked.media,
        quality=asked.quality,
    )
