"""WADO-RS under /dicomweb (PS3.18 10.4): studies, series and instances as DICOM, their metadata, frames and bulk data.

- `GET .../studies/{study}[/series/{series}[/instances/{instance}]]`: `multipart/related; type="application/dicom"`,
  one part per instance, streamed from the files. The transfer syntax follows the Accept: none named is explicit VR
  little endian (PS3.18 8.7.3.5.2), `transfer-syntax=*` the stored one as it is, a little-endian one is made by
  dicom.transcode, any other only when it is the stored one. Instances that cannot be given are left out (206);
  when none can, 406.
- `.../metadata`: DICOM JSON (dicom.dicom_json), BulkDataURIs under the request's own scheme, host and path; made
  while the study arrives (dicom.metadata_warmer), so the first request finds it ready.
- `.../instances/{instance}/frames/{1,3,5}`: one part per frame, uncompressed little endian
  (`application/octet-stream`), or the stored compressed frame when the Accept names its media type, its transfer
  syntax or `transfer-syntax=*`.
- `.../instances/{instance}/bulkdata/{tag path}`: the BulkDataURIs' target; Pixel Data like the frames.

Unknown or mismatched UIDs answer a JSON 404, an Accept that cannot be served 406, an unreadable frame list 400.
Every route is guarded (ui.guard.route_guard, domain.access.ROUTES) and the service checks READ_IMAGES and audits the
study's first view by this user.
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydicom
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian

from domain import access, image_retrieval, viewing
from domain.access import Actor
from domain.errors import NotAllowed, NotFound

from . import accept, dicom_json, metadata_warmer, multipart, pixel_frames, storage, transcode, wado
from .accept import MediaRange
from .multipart import Part

log = logging.getLogger(__name__)

STUDY = '/dicomweb/studies/{study}'
SERIES = f'{STUDY}/series/{{series}}'
INSTANCE = f'{SERIES}/instances/{{instance}}'
FRAMES = f'{INSTANCE}/frames/{{frames}}'
BULKDATA = f'{INSTANCE}/bulkdata/{{tags:path}}'
ROUTES = (STUDY, f'{STUDY}/metadata', SERIES, f'{SERIES}/metadata', INSTANCE, f'{INSTANCE}/metadata', FRAMES, BULKDATA)
DICOM = 'application/dicom'
JSON_TYPES = frozenset({'application/dicom+json', 'application/json', 'application/*', '*/*', '*', ''})
MAX_FRAMES = 10_000
_HOST = re.compile(r'[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?')
_PORT = re.compile(r':[0-9]{1,5}$')
_DEFAULT_PORTS = {'http': 80, 'https': 443}
_STORE_NAME = re.compile(r'dicom/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.dcm')
# An instance's pixels never change; a study's or series' list of instances, and a matched study's patient, may.
HEADERS = {**multipart.IDENTITY, 'Cache-Control': 'private, max-age=3600'}
CHANGING = {**multipart.IDENTITY, 'Cache-Control': 'no-cache'}

Guard = Callable[[str], Callable[..., Any]]


def register(app: FastAPI, guard: Guard) -> None:
    """Serve the WADO-RS resources; `guard(path)` is the route's access dependency (ui.guard.route_guard)."""
    study_guard, study_metadata_guard, series_guard, series_metadata_guard = (guard(path) for path in ROUTES[:4])
    instance_guard, instance_metadata_guard, frames_guard, bulkdata_guard = (guard(path) for path in ROUTES[4:])
    metadata_warmer.start()  # arriving studies get their metadata made before anyone asks

    @app.get(STUDY, include_in_schema=False)
    def retrieve_study(request: Request, study: str, actor: Annotated[Actor, Depends(study_guard)]) -> Response:
        return _retrieve(request, actor, study)

    @app.get(f'{STUDY}/metadata', include_in_schema=False)
    def study_metadata(
        request: Request, study: str, actor: Annotated[Actor, Depends(study_metadata_guard)]
    ) -> Response:
        return _metadata(request, actor, study)

    @app.get(SERIES, include_in_schema=False)
    def retrieve_series(
        request: Request, study: str, series: str, actor: Annotated[Actor, Depends(series_guard)]
    ) -> Response:
        return _retrieve(request, actor, study, series)

    @app.get(f'{SERIES}/metadata', include_in_schema=False)
    def series_metadata(
        request: Request, study: str, series: str, actor: Annotated[Actor, Depends(series_metadata_guard)]
    ) -> Response:
        return _metadata(request, actor, study, series)

    @app.get(INSTANCE, include_in_schema=False)
    def retrieve_instance(
        request: Request, study: str, series: str, instance: str, actor: Annotated[Actor, Depends(instance_guard)]
    ) -> Response:
        return _retrieve(request, actor, study, series, instance)

    @app.get(f'{INSTANCE}/metadata', include_in_schema=False)
    def instance_metadata(
        request: Request,
        study: str,
        series: str,
        instance: str,
        actor: Annotated[Actor, Depends(instance_metadata_guard)],
    ) -> Response:
        return _metadata(request, actor, study, series, instance)

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


# ---------------------------------------------------------------- instances as DICOM


def _retrieve(request: Request, actor: Actor, study: str, series: str = '', instance: str = '') -> Response:
    wanted = _dicom_syntaxes(accept.ranges(request))
    found = _images(actor, study, series, instance)
    planned = [(item, _syntax_for(item.transfer_syntax_uid, wanted)) for item in found.instances]
    served = [(item, syntax) for item, syntax in planned if syntax]
    if not served:
        raise HTTPException(status_code=406, detail='These images cannot be given in a transfer syntax you accept')
    boundary, base = multipart.new_boundary(), base_url(request)
    headers = {**(HEADERS if instance else CHANGING), 'Content-Type': multipart.content_type(DICOM, boundary)}
    parts: Iterable[Part] = _dicom_parts(found.study_uid, served, base)
    if all(syntax == item.transfer_syntax_uid for item, syntax in served):  # files as they are: the size is known
        parts = list(parts)
        headers['Content-Length'] = str(multipart.length(parts, boundary))
    return StreamingResponse(
        multipart.read_ahead(multipart.body(parts, boundary)),
        status_code=200 if len(served) == len(planned) else 206,
        headers=headers,
    )


def _dicom_syntaxes(ranges: list[MediaRange]) -> list[str]:
    """The transfer syntaxes asked for application/dicom, preferred first ('*': as stored); 406 when none."""
    wanted = [r.transfer_syntax or ExplicitVRLittleEndian for r in ranges if r.names(DICOM)]
    if not wanted:
        raise HTTPException(status_code=406, detail=f'This resource is given as multipart/related; type="{DICOM}"')
    return wanted


def _syntax_for(stored: str, wanted: list[str]) -> str | None:
    """The transfer syntax to send a file stored in `stored` in, or None when none of those asked can be made."""
    for syntax in wanted:
        if syntax in ('*', stored) and stored:
            return stored
        if syntax in transcode.LITTLE_ENDIAN and transcode.can_decode(stored):
            return syntax
    return None


def _dicom_parts(study_uid: str, served: list[tuple[Any, str]], base: str) -> Iterator[Part]:
    for item, syntax in served:
        path = _stored(item.file_path)
        try:
            if syntax == item.transfer_syntax_uid:
                part = Part(f'{DICOM}; transfer-syntax={syntax}', file=path, size=path.stat().st_size)
            else:
                part = Part(f'{DICOM}; transfer-syntax={syntax}', [_transcoded(path, syntax)])
        except FileNotFoundError:
            viewing.report_missing_file(item.instance_id, by=access.system('dicomweb'))
            continue
        except transcode.Untranscodable as error:
            log.warning('instance %s left out of a retrieve: %s', item.sop_instance_uid, error)
            continue
        part.location = f'{base}{dicom_json.instance_path(study_uid, item)}'
        yield part


def _transcoded(path: Path, syntax: str) -> bytes:
    try:
        dataset = pydicom.dcmread(str(path), force=True)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise transcode.Untranscodable(f'the file cannot be read: {str(error)[:200]}') from error
    return transcode.encode(dataset, syntax)


# ---------------------------------------------------------------- metadata


def _metadata(request: Request, actor: Actor, study: str, series: str = '', instance: str = '') -> Response:
    if not any(r.media_type in JSON_TYPES for r in accept.ranges(request)):
        raise HTTPException(status_code=406, detail='Metadata is given as application/dicom+json')
    found = _images(actor, study, series, instance)
    body = dicom_json.metadata(found.study_uid, found.instances, found.patient, base_url(request))
    return Response(body, media_type='application/dicom+json', headers=CHANGING)


def base_url(request: Request) -> str:
    """The DICOMweb base as this request reached it (scheme, Host, root path): BulkDataURIs start with it.

    A client talking to us directly whose Host names no port (dicomweb-client sends its host name alone) gets the
    port it connected to; behind a proxy (X-Forwarded-* or Forwarded present) the Host stands as it is.
    """
    scheme, host = request.url.scheme, request.headers.get('host', '')
    if not _HOST.fullmatch(host):
        host = request.url.netloc
    server = request.scope.get('server')
    forwarded = any(name in request.headers for name in ('forwarded', 'x-forwarded-for', 'x-forwarded-proto'))
    if server and not forwarded and not _PORT.search(host) and server[1] != _DEFAULT_PORTS.get(scheme):
        host = f'{host}:{server[1]}'
    return f'{scheme}://{host}{request.scope.get("root_path", "").rstrip("/")}/dicomweb'


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
    parts = (Part(part_type, [_frame(read, path, where, n)], f'{base}/{n}') for n in numbers)
    if len(numbers) == 1:  # one frame: no streaming machinery (the viewer's scroll asks one at a time)
        return Response(b''.join(multipart.body(parts, boundary)), headers=headers)
    return StreamingResponse(multipart.body(parts, boundary), headers=headers)


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
    source = _source(uids, actor)
    value = _element_bytes(storage.absolute(source.file_path), tags, source.instance_id)
    body = b''.join(multipart.body([Part(pixel_frames.OCTET_STREAM, [value], location)], boundary))
    return Response(
        body, headers={**HEADERS, 'Content-Type': multipart.content_type(pixel_frames.OCTET_STREAM, boundary)}
    )


def _element_bytes(path: Path, tags: tuple[Any, ...], instance_id: int) -> bytes:
    """A binary element's value, little endian, found by its tag path (tags and (sequence, item) steps)."""
    try:
        dataset = pydicom.dcmread(str(path), force=True, stop_before_pixels=_tag(tags[0]) < 0x7FE00000)
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


def _stored(relative: str) -> Path:
    """The stored file a relative path from the index names: a plain join for the store's own names (a study's
    retrieve joins hundreds), storage.absolute's resolving check for anything else."""
    # NOTE: the store's names are built by dicom/storage.py place() (dicom/xx/yy/<hex>.dcm).
    if _STORE_NAME.fullmatch(relative):
        return storage.data_dir() / relative
    return storage.absolute(relative)


def _frame_list(text: str) -> list[int]:
    """PS3.18 10.4.1.1.3 `{frameList}`: frame numbers from 1, comma separated; 400 otherwise. Sorted numbers."""
    parts = text.split(',')
    if len(parts) > MAX_FRAMES or not all(part.strip().isdigit() and len(part.strip()) <= 6 for part in parts):
        raise HTTPException(status_code=400, detail='frames are numbers from 1, separated by commas')
    numbers = [int(part) for part in parts]
    if min(numbers) < 1:
        raise HTTPException(status_code=400, detail='frame numbers start at 1')
    return numbers if numbers == sorted(numbers) else sorted(numbers)


# ---------------------------------------------------------------- lookups


def _images(actor: Actor, study: str, series: str = '', instance: str = '') -> image_retrieval.Retrieval:
    try:
        return image_retrieval.images(study, series, instance, by=actor)
    except NotAllowed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


def _source(uids: tuple[str, str, str], actor: Actor) -> viewing.FrameSource:
    try:
        return wado.sources.lookup(uids, actor)
    except NotAllowed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


def _pixels_of(uids: tuple[str, str, str], actor: Actor) -> tuple[Path, pixel_frames.Layout]:
    source = _source(uids, actor)
    path = _stored(source.file_path)
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
