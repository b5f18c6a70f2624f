"""Rendered frames at DICOMweb's standard addresses (PS3.18 8.3.5 and 9.5): what the viewer's canvas draws.

`GET /dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered` and
`.../instances/{instance}/rendered` answer an 8-bit JPEG, PNG or WebP (the Accept header, or the
`accept` query parameter) with PS3.18's `window=center,width[,function]`, `viewport=width,height` and
`quality`. Decoded frames (after the modality LUT) stay in a small LRU cache, so re-windowing a slice
never decodes the file again. Every request passes the role check (route_guard) and the service's
permission check; the first view of a study by a user is audited by domain.viewing.
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from nicegui import app, run

from domain import access, viewing
from domain.access import Actor, Permission
from domain.errors import NotAllowed, NotFound

from . import render, storage
from .render import Window

log = logging.getLogger(__name__)

BASE = '/dicomweb/studies/{study}/series/{series}/instances/{instance}'
FRAME_PATH = f'{BASE}/frames/{{frame}}/rendered'
INSTANCE_PATH = f'{BASE}/rendered'
MAX_FRAME = 100_000
CACHE_CONTROL = 'private, max-age=3600'

frames = render.FrameCache(max_bytes=768 * 1024 * 1024)


class _Sources:
    """The file behind each (study, series, instance) UID triple, remembered so a scroll costs no query."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._known: OrderedDict[tuple[str, str, str], viewing.FrameSource] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, key: tuple[str, str, str], actor: Actor) -> viewing.FrameSource:
        with self._lock:
            found = self._known.get(key)
        if found is None:
            found = viewing.frame_source(*key, by=actor)
            with self._lock:
                self._known[key] = found
                while len(self._known) > self.size:
                    self._known.popitem(last=False)
            return found
        access.require(actor, Permission.READ_IMAGES)
        viewing.record_view(found.study_id, by=actor)
        return found

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


sources = _Sources()
_prefetched: set[str] = set()  # multi-frame files whose frames were all decoded (or tried) once


def register(route_guard: Callable[[str], Callable[..., Awaitable[Actor]]]) -> None:
    """Serve the rendered-frame routes behind the given role guard (ui.register_pages() passes ui.guard's)."""

    frame_guard, instance_guard = route_guard(FRAME_PATH), route_guard(INSTANCE_PATH)

    @app.get(FRAME_PATH, include_in_schema=False)
    async def rendered_frame(
        request: Request,
        *,
        study: str,
        series: str,
        instance: str,
        frame: str,
        actor: Annotated[Actor, Depends(frame_guard)],
    ) -> Response:
        return await _answer(request, actor, (study, series, instance), _frame_number(frame))

    @app.get(INSTANCE_PATH, include_in_schema=False)
    async def rendered_instance(
        request: Request, study: str, series: str, instance: str, actor: Annotated[Actor, Depends(instance_guard)]
    ) -> Response:
        return await _answer(request, actor, (study, series, instance), 1)


@dataclass(frozen=True)
class Rendering:
    """What a rendered-frame request asks for."""

    frame: int = 1
    window: Window | None = None
    viewport: tuple[int, int] | None = None
    media: str = 'jpeg'
    quality: int = 90


def rendered(source: viewing.FrameSource, asked: Rendering) -> bytes:
    """The encoded frame of an instance (decoded pixels from the cache); raises render errors."""
    if asked.frame > source.number_of_frames:
        raise render.FrameOutOfRange(f'frame {asked.frame} is not in this image (it has {source.number_of_frames})')
    path = storage.absolute(source.file_path)
    decoded = frames.get(path, asked.frame)
    if decoded.number_of_frames > 1 and str(path) not in _prefetched:
        _prefetched.add(str(path))
        threading.Thread(target=_prefetch, args=(path,), daemon=True).start()
    return render.render(
        decoded, window=asked.window, viewport=asked.viewport, media=asked.media, quality=asked.quality
    )


def parse(frame: int, query: Mapping[str, str], accept_header: str | None) -> Rendering:
    """The request's PS3.18 query parameters; ValueError (400) or LookupError (406) when they make no sense."""
    try:
        quality = int(query.get('quality', '90'))
    except ValueError:
        raise ValueError('quality must be a whole number') from None
    if not 1 <= quality <= 100:
        raise ValueError('quality must be between 1 and 100')
    return Rendering(
        frame,
        parse_window(query.get('window')),
        parse_viewport(query.get('viewport')),
        media_type(query.get('accept') or accept_header),
        quality,
    )


def parse_window(text: str | None) -> Window | None:
    """PS3.18 8.3.5.1.4 `window=center,width[,function]`; ValueError with a reason when it makes no sense."""
    if not text:
        return None
    parts = [part.strip() for part in text.split(',')]
    if len(parts) not in (2, 3):
        raise ValueError('window must be center,width[,function]')
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError('window centre and width must be numbers') from None
    function = parts[2].upper().replace('-', '_') if len(parts) == 3 else 'LINEAR'
    return Window(center, width, function)


def parse_viewport(text: str | None) -> tuple[int, int] | None:
    """PS3.18 8.3.5.1.3 `viewport=vw,vh` (cropping parameters are not offered)."""
    if not text:
        return None
    parts = [part.strip() for part in text.split(',')]
    if len(parts) != 2:
        raise ValueError('viewport must be width,height')
    try:
        width, height = int(parts[0]), int(parts[1])
    except ValueError:
        raise ValueError('viewport width and height must be whole numbers') from None
    if not (1 <= width <= render.MAX_EDGE and 1 <= height <= render.MAX_EDGE):
        raise ValueError(f'viewport must be between 1 and {render.MAX_EDGE} pixels each way')
    return width, height


def media_type(accept: str | None) -> str:
    """The rendered media type the client accepts (JPEG when it accepts anything); ValueError otherwise."""
    if not accept:
        return 'jpeg'
    offered = [part.split(';')[0].strip().lower() for part in accept.split(',')]
    for media in offered:
        for name, mime in render.MEDIA_TYPES.items():
            if media == mime:
                return name
    if any(media in ('*/*', 'image/*') for media in offered):
        return 'jpeg'
    raise LookupError('this endpoint answers image/jpeg, image/png or image/webp')


# ---------------------------------------------------------------- private helpers


async def _answer(request: Request, actor: Actor, uids: tuple[str, str, str], frame: int) -> Response:
    try:
        asked = parse(frame, request.query_params, request.headers.get('accept'))
    except ValueError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    except LookupError as error:
        raise HTTPException(status_code=406, detail=str(error)) from None
    try:
        data = await run.io_bound(_render_for, uids, actor, asked)
    except NotAllowed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except render.FrameOutOfRange as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except render.RenderError as error:
        log.warning('frame %s of %s not shown: %s', frame, uids[2], error)
        raise HTTPException(status_code=422, detail=f'This image cannot be shown: {error}') from None
    return Response(data, media_type=render.MEDIA_TYPES[asked.media], headers={'Cache-Control': CACHE_CONTROL})


def _render_for(uids: tuple[str, str, str], actor: Actor, asked: Rendering) -> bytes:
    source = sources.lookup(uids, actor)
    try:
        return rendered(source, asked)
    except FileNotFoundError:
        viewing.report_missing_file(source.instance_id, by=access.system('viewer'))
        raise render.RenderError('its file is missing on the server; the administrator is told') from None


def _prefetch(path: Path) -> None:
    try:
        frames.prefetch_all(path)
    except (render.RenderError, OSError) as error:
        log.warning('could not prefetch the frames of %s: %s', path.name, error)


def _frame_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise HTTPException(status_code=400, detail='one frame number at a time, counted from 1') from None
    if not 1 <= number <= MAX_FRAME:
        raise HTTPException(status_code=400, detail='frame numbers start at 1')
    return number
