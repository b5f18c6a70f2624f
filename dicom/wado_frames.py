"""WADO-RS frames and bulk data (PS3.18 10.4.1.1.3, 8.7.3.3): the pixels of one instance, as stored or uncompressed.

- `.../instances/{instance}/frames/{1,3,5}`: one part per frame, uncompressed little endian
  (`application/octet-stream`), or the stored compressed frame when the Accept names its media type, its transfer
  syntax or `transfer-syntax=*` (dicom.pixel_frames reads where each frame lies once per file).
- `.../instances/{instance}/bulkdata/{tag path}`: the BulkDataURIs' target (dicom.dicom_json); Pixel Data like the
  frames, any other binary value little endian.

A frame list that cannot be read is a 400, a frame the image does not have or a bulk data path it does not hold a JSON
404, a form the Accept cannot get 406. Lookups go through dicom.wado's remembered sources, so a scroll costs no query.
"""

import itertools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydicom
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian

from domain import access, viewing
from domain.access import Actor

from . import accept, dicom_json, multipart, pixel_frames, storage, transcode
from .accept import MediaRange
from .multipart import Part
from .wado_rs import HEADERS, INSTANCE, base_url, lookup_source, stored_path

log = logging.getLogger(__name__)

FRAMES = f'{INSTANCE}/frames/{{frames}}'
BULKDATA = f'{INSTANCE}/bulkdata/{{tags:path}}'
ROUTES = (FRAMES, BULKDATA)
MAX_FRAMES = 10_000


def register(app: FastAPI, guard: Callable[[str], Callable[..., Any]]) -> None:
    """Serve the frames and bulk data; `guard(path)` is the route's access dependency (ui.guard.route_guard)."""
    frames_guard, bulkdata_guard = (guard(path) for path in ROUTES)

    @app.get(FRAMES, include_in_schema=False)
    def retrieve_frames(
        request: Request,
        *,
        study: str,
        series: str,
        instance: str,
        frames: str,
        actor: Annotated[Actor, Depends(frames_guard)],
    ) -> Response:
        return _frames(request, actor, (study, series, instance), _frame_list(frames))

    @app.get(BULKDATA, include_in_schema=False)
    def retrieve_bulkdata(
        request: Request,
        *,
        study: str,
        series: str,
        instance: str,
        tags: str,
        actor: Annotated[Actor, Depends(bulkdata_guard)],
    ) -> Response:
        return _bulkdata(request, actor, (study, series, instance), tags)


# ---------------------------------------------------------------- frames and bulk data


def _frames(request: Request, actor: Actor, uids: tuple[str, str, str], numbers: list[int]) -> Response:
    ranges = accept.ranges(request)
    path, where = _pixels_of(uids, actor)
    if numbers[-1] > where.number_of_frames:
        raise HTTPException(status_code=404, detail=f'This image has {where.number_of_frames} frame(s)')
    stored = _frame_form(ranges, where)
    base = f'{base_url(request)}/studies/{uids[0]}/series/{uids[1]}/instances/{uids[2]}/frames'
    kind = where.media_type if stored and where.compressed else pixel_frames.OCTET_STREAM
    syntax = where.transfer_syntax if stored and where.compressed else ExplicitVRLittleEndian
    part_type = f'{kind}; transfer-syntax={syntax}'
    boundary = multipart.new_boundary()
    headers = {**HEADERS, 'Content-Type': multipart.content_type(kind, boundary, syntax)}
    read = pixel_frames.stored_frame if stored else pixel_frames.native_frame
    first = Part(part_type, [_frame(read, path, where, numbers[0])], f'{base}/{numbers[0]}')  # fails before answering
    if len(numbers) == 1:  # one frame: no streaming machinery (the viewer's scroll asks one at a time)
        return Response(b''.join(multipart.body([first], boundary)), headers=headers)
    rest = (Part(part_type, [_frame(read, path, where, n)], f'{base}/{n}') for n in numbers[1:])
    return StreamingResponse(multipart.body(itertools.chain([first], rest), boundary), headers=headers)


def _frame(read: Callable[..., bytes], path: Path, where: pixel_frames.Layout, number: int) -> bytes:
    try:
        return read(path, where, number)
    except pixel_frames.Unavailable as error:
        log.warning('frame %s of %s not given: %s', number, path.name, error)
        raise HTTPException(status_code=406, detail=f'This frame cannot be given uncompressed: {error}') from None


def _frame_form(ranges: list[MediaRange], where: pixel_frames.Layout) -> bool:
    """True to send the frames as stored (compressed), False for native little endian; 406 when neither is accepted."""
    for r in ranges:
        syntax = r.transfer_syntax
        if r.media_type in accept.ANY or r.media_type in ('application/octet-stream', 'application/*'):
            if syntax in ('', ExplicitVRLittleEndian) and (
                not where.compressed or transcode.can_decode(where.transfer_syntax)
            ):
                return False
            if syntax == '*' or (syntax == where.transfer_syntax and where.compressed):
                return where.compressed
        elif where.compressed and r.names(where.media_type) and syntax in ('', '*', where.transfer_syntax):
            return True
    raise HTTPException(status_code=406, detail=_not_acceptable(where))


def _not_acceptable(where: pixel_frames.Layout) -> str:
    if where.compressed:
        return (
            'Frames are given as application/octet-stream (uncompressed) or '
            f'{where.media_type}; transfer-syntax={where.transfer_syntax} (as stored)'
        )
    return 'Frames of this image are given as application/octet-stream (uncompressed)'


def _bulkdata(request: Request, actor: Actor, uids: tuple[str, str, str], text: str) -> Response:
    try:
        tags = dicom_json.bulk_tag_path(text)
    except ValueError:
        raise HTTPException(status_code=404, detail='No such bulk data') from None
    ranges = accept.ranges(request)
    boundary = multipart.new_boundary()
    location = f'{base_url(request)}/studies/{uids[0]}/series/{uids[1]}/instances/{uids[2]}/bulkdata/{text}'
    if tags == (0x7FE00010,):
        path, where = _pixels_of(uids, actor)
        parts: Iterator[Part]
        if _frame_form(ranges, where):
            parts = (
                Part(
                    f'{where.media_type}; transfer-syntax={where.transfer_syntax}',
                    [_frame(pixel_frames.stored_frame, path, where, n)],
                    location,
                )
                for n in range(1, where.number_of_frames + 1)
            )
            kind = where.media_type
        else:
            try:
                pixels = pixel_frames.native_pixels(path, where)
            except pixel_frames.Unavailable as error:
                raise HTTPException(
                    status_code=406, detail=f'The pixel data cannot be given uncompressed: {error}'
                ) from None
            parts = iter([Part(pixel_frames.OCTET_STREAM, pixels, location)])
            kind = pixel_frames.OCTET_STREAM
        return StreamingResponse(
            multipart.body(parts, boundary), headers={**HEADERS, 'Content-Type': multipart.content_type(kind, boundary)}
        )
    if not any(r.names(pixel_frames.OCTET_STREAM) for r in ranges):
        raise HTTPException(status_code=406, detail='Bulk data is given as application/octet-stream')
    source = lookup_source(uids, actor)
    value = _element_bytes(stored_path(source.file_path), tags, source.instance_id)
    body = b''.join(multipart.body([Part(pixel_frames.OCTET_STREAM, [value], location)], boundary))
    return Response(
        body, headers={**HEADERS, 'Content-Type': multipart.content_type(pixel_frames.OCTET_STREAM, boundary)}
    )


def _element_bytes(path: Path, tags: tuple[Any, ...], instance_id: int) -> bytes:
    """A binary element's value, little endian, found by its tag path (tags and (sequence, item) steps)."""
    try:
        with storage.open_path(path) as reader:
            dataset = pydicom.dcmread(reader, force=True, stop_before_pixels=_tag(tags[0]) < 0x7FE00000)
    except FileNotFoundError:
        viewing.report_missing_file(instance_id, by=access.system('dicomweb'))
        raise HTTPException(status_code=404, detail='Its file is missing on the server') from None
    current: Any = dataset
    try:
        for step in tags:
            current = current[step[0]].value[step[1]] if isinstance(step, tuple) else current[step]
    except (KeyError, IndexError, TypeError):
        raise HTTPException(status_code=404, detail='No such bulk data') from None
    value = current.value
    if not isinstance(value, bytes | bytearray):
        raise HTTPException(status_code=404, detail='No such bulk data')
    size = {'OW': 2, 'OL': 4, 'OF': 4, 'OD': 8, 'OV': 8}.get(str(current.VR), 0)
    big = str(dataset.file_meta.get('TransferSyntaxUID', '')) == ExplicitVRBigEndian
    if big and size and len(value) % size == 0:
        return np.frombuffer(value, dtype=f'>u{size}').astype(f'<u{size}').tobytes()
    return bytes(value)


def _tag(step: Any) -> int:
    return int(step[0] if isinstance(step, tuple) else step)


def _frame_list(text: str) -> list[int]:
    """PS3.18 10.4.1.1.3 `{frameList}`: frame numbers from 1, comma separated; 400 otherwise. Sorted numbers."""
    parts = text.split(',')
    if len(parts) > MAX_FRAMES or not all(part.strip().isdigit() and len(part.strip()) <= 6 for part in parts):
        raise HTTPException(status_code=400, detail='frames are numbers from 1, separated by commas')
    numbers = [int(part) for part in parts]
    if min(numbers) < 1:
        raise HTTPException(status_code=400, detail='frame numbers start at 1')
    return numbers if numbers == sorted(numbers) else sorted(numbers)


def _pixels_of(uids: tuple[str, str, str], actor: Actor) -> tuple[Path, pixel_frames.Layout]:
    source = lookup_source(uids, actor)
    path = stored_path(source.file_path)
    try:
        return path, pixel_frames.layout(path)
    except FileNotFoundError:
        viewing.report_missing_file(source.instance_id, by=access.system('dicomweb'))
        raise HTTPException(status_code=404, detail='Its file is missing on the server') from None
    except pixel_frames.NoPixels as error:
        raise HTTPException(status_code=404, detail=f'This object has no frames: {error}') from None
    except Exception as error:  # a header pydicom cannot read
        log.warning('frames of %s not readable: %s', uids[2], str(error)[:200])
        raise HTTPException(status_code=404, detail='This object has no readable frames') from None
