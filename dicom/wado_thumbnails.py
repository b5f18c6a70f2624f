"""Rendered studies and series and thumbnails at DICOMweb's standard addresses (PS3.18 10.4.1.1.3-4, 8.3.5).

- `.../studies/{study}/rendered` and `.../series/{series}/rendered`: with an Accept of `multipart/related;
  type="image/jpeg"` (or png, webp), one rendered part per instance (its first frame) in reading order (PS3.18
  8.6: several representations make a multipart payload); with a plain image type or none, the first image alone
  (what most clients, dicomweb-client's `retrieve_series_rendered` among them, expect). `window`, `viewport` and
  `quality` apply to every image.
- `.../thumbnail` at study, series and instance level: the series thumbnail the media job drew (the study's first
  series'), as JPEG unless PNG is asked; an instance, or a series without one yet, is rendered from its middle
  frame (the series' middle instance) into `viewport` (256×256 by default).
Each route is guarded (ui.guard.route_guard, domain.access.ROUTES); the service checks READ_IMAGES and audits the
study's first view.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from domain import access, viewing
from domain.access import Actor
from domain.image_retrieval import Retrieval, StoredInstance

from . import accept, multipart, render, storage, wado
from .multipart import Part
from .wado_rs import images

log = logging.getLogger(__name__)

STUDY = '/dicomweb/studies/{study}'
SERIES = f'{STUDY}/series/{{series}}'
INSTANCE = f'{SERIES}/instances/{{instance}}'
ROUTES = (
    f'{STUDY}/thumbnail',
    f'{SERIES}/thumbnail',
    f'{INSTANCE}/thumbnail',
    f'{STUDY}/rendered',
    f'{SERIES}/rendered',
)
THUMBNAIL_EDGE = 256
HEADERS = {'Cache-Control': wado.CACHE_CONTROL}


def register(app: FastAPI, guard: Callable[[str], Callable[..., Any]]) -> None:
    """Serve the thumbnails and the study and series renderings; `guard(path)` is the route's access dependency."""
    study_thumb, series_thumb, instance_thumb, study_rendered, series_rendered = (guard(path) for path in ROUTES)

    @app.get(f'{STUDY}/thumbnail', include_in_schema=False)
    def study_thumbnail(request: Request, study: str, actor: Annotated[Actor, Depends(study_thumb)]) -> Response:
        return _thumbnail(request, images(actor, study))

    @app.get(f'{SERIES}/thumbnail', include_in_schema=False)
    def series_thumbnail(
        request: Request, study: str, series: str, actor: Annotated[Actor, Depends(series_thumb)]
    ) -> Response:
        return _thumbnail(request, images(actor, study, series))

    @app.get(f'{INSTANCE}/thumbnail', include_in_schema=False)
    def instance_thumbnail(
        request: Request, study: str, series: str, instance: str, actor: Annotated[Actor, Depends(instance_thumb)]
    ) -> Response:
        return _thumbnail(request, images(actor, study, series, instance), stored=False)

    @app.get(f'{STUDY}/rendered', include_in_schema=False)
    def rendered_study(request: Request, study: str, actor: Annotated[Actor, Depends(study_rendered)]) -> Response:
        return _rendered(request, images(actor, study))

    @app.get(f'{SERIES}/rendered', include_in_schema=False)
    def rendered_series(
        request: Request, study: str, series: str, actor: Annotated[Actor, Depends(series_rendered)]
    ) -> Response:
        return _rendered(request, images(actor, study, series))


# ---------------------------------------------------------------- thumbnails


def _thumbnail(request: Request, found: Retrieval, *, stored: bool = True) -> Response:
    asked = _parse(request, request.headers.get('accept'))
    if stored and asked.viewport is None and asked.window is None and found.thumbnail_paths:
        path = storage.absolute(found.thumbnail_paths[0])
        if path.is_file():
            png = storage.read_file(found.thumbnail_paths[0])
            data = png if asked.media == 'png' else _reencoded(png, asked.media, asked.quality)
            return Response(data, media_type=render.MEDIA_TYPES[asked.media], headers=HEADERS)
    first_series = (
        [i for i in found.instances if i.series_uid == found.instances[0].series_uid] if found.instances else []
    )
    if not first_series:
        raise HTTPException(status_code=404, detail='Nothing to show')
    middle = first_series[len(first_series) // 2]
    frame = middle.number_of_frames // 2 + 1 if middle.number_of_frames > 1 else 1
    asked = replace(asked, frame=frame, viewport=asked.viewport or (THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    return Response(_render(found, middle, asked), media_type=render.MEDIA_TYPES[asked.media], headers=HEADERS)


def _reencoded(png: bytes, media: str, quality: int) -> bytes:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise HTTPException(status_code=404, detail='The thumbnail cannot be read')
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return render.encode(image, media, quality)


# ---------------------------------------------------------------- rendered studies and series


def _rendered(request: Request, found: Retrieval) -> Response:
    wanted = next((r for r in accept.ranges(request) if r.multipart), None)
    if wanted is None:
        asked = _parse(request, request.query_params.get('accept') or request.headers.get('accept'))
        if not found.instances:
            raise HTTPException(status_code=404, detail='Nothing to show')
        return Response(
            _render(found, found.instances[0], asked), media_type=render.MEDIA_TYPES[asked.media], headers=HEADERS
        )
    asked = _parse(request, wanted.media_type)
    boundary = multipart.new_boundary()
    return StreamingResponse(
        multipart.body(_rendered_parts(found, asked), boundary),
        headers={
            **HEADERS,
            **multipart.IDENTITY,
            'Content-Type': multipart.content_type(render.MEDIA_TYPES[asked.media], boundary),
        },
    )


def _rendered_parts(found: Retrieval, asked: wado.Rendering) -> Iterator[Part]:
    for instance in found.instances:
        try:
            data = wado.rendered(_source(found, instance), asked)
        except (render.RenderError, OSError) as error:
            log.warning('instance %s left out of a rendered series: %s', instance.sop_instance_uid, error)
            continue
        yield Part(render.MEDIA_TYPES[asked.media], [data])


# ---------------------------------------------------------------- private helpers


def _parse(request: Request, media: str | None) -> wado.Rendering:
    try:
        return wado.parse(1, request.query_params, media)
    except ValueError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    except LookupError as error:
        raise HTTPException(status_code=406, detail=str(error)) from None


def _render(found: Retrieval, instance: StoredInstance, asked: wado.Rendering) -> bytes:
    try:
        return wado.rendered(_source(found, instance), asked)
    except FileNotFoundError:
        viewing.report_missing_file(instance.instance_id, by=access.system('dicomweb'))
        raise HTTPException(status_code=422, detail='This image cannot be shown: its file is missing') from None
    except render.RenderError as error:
        log.warning('instance %s not rendered: %s', instance.sop_instance_uid, error)
        raise HTTPException(status_code=422, detail=f'This image cannot be shown: {error}') from None


def _source(found: Retrieval, instance: StoredInstance) -> viewing.FrameSource:
    return viewing.FrameSource(found.study_id, instance.instance_id, instance.file_path, instance.number_of_frames)
