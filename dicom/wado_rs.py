"""WADO-RS under /dicomweb (PS3.18 10.4): studies, series and instances as DICOM, and their metadata.

- `GET .../studies/{study}[/series/{series}[/instances/{instance}]]`: `multipart/related; type="application/dicom"`,
  one part per instance, streamed from the files. The transfer syntax follows the Accept: none named is explicit VR
  little endian (PS3.18 8.7.3.5.2), `transfer-syntax=*` the stored one as it is, a little-endian one is made by
  dicom.transcode, any other only when it is the stored one. Instances that cannot be given are left out (206);
  when none can, 406.
- `.../metadata`: DICOM JSON (dicom.dicom_json), BulkDataURIs under the request's own scheme, host and path; made
  while the study arrives (dicom.metadata_warmer), so the first request finds it ready.
Frames and bulk data are dicom.wado_frames', thumbnails and rendered studies and series dicom.wado_thumbnails'.

Unknown or mismatched UIDs answer a JSON 404, an Accept that cannot be served 406. Every route is guarded
(ui.guard.route_guard, domain.access.ROUTES) and the service checks READ_IMAGES and audits the study's first view by
this user.
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pydicom
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydicom.uid import ExplicitVRLittleEndian

from domain import access, image_retrieval, viewing
from domain.access import Actor
from domain.errors import NotAllowed, NotFound

from . import accept, dicom_json, metadata_warmer, multipart, storage, transcode, wado
from .accept import MediaRange
from .multipart import Part

log = logging.getLogger(__name__)

STUDY = '/dicomweb/studies/{study}'
SERIES = f'{STUDY}/series/{{series}}'
INSTANCE = f'{SERIES}/instances/{{instance}}'
ROUTES = (STUDY, f'{STUDY}/metadata', SERIES, f'{SERIES}/metadata', INSTANCE, f'{INSTANCE}/metadata')
DICOM = 'application/dicom'
JSON_TYPES = frozenset({'application/dicom+json', 'application/json', 'application/*', '*/*', '*', ''})
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
    instance_guard, instance_metadata_guard = (guard(path) for path in ROUTES[4:])
    metadata_warmer.start()  # arriving studies get their metadata made before anyone asks
    from . import wado_frames  # it builds on this module's lookups

    wado_frames.register(app, guard)

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


# ---------------------------------------------------------------- instances as DICOM


def _retrieve(request: Request, actor: Actor, study: str, series: str = '', instance: str = '') -> Response:
    wanted = _dicom_syntaxes(accept.ranges(request))
    found = images(actor, study, series, instance)
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
        path = stored_path(item.file_path)
        try:
            if syntax == item.transfer_syntax_uid:
                part = Part(f'{DICOM}; transfer-syntax={syntax}', file=path, size=storage.size_of(path))
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
        with storage.open_path(path) as reader:
            dataset = pydicom.dcmread(reader, force=True)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise transcode.Untranscodable(f'the file cannot be read: {str(error)[:200]}') from error
    return transcode.encode(dataset, syntax)


# ---------------------------------------------------------------- metadata


def _metadata(request: Request, actor: Actor, study: str, series: str = '', instance: str = '') -> Response:
    if not any(r.media_type in JSON_TYPES for r in accept.ranges(request)):
        raise HTTPException(status_code=406, detail='Metadata is given as application/dicom+json')
    found = images(actor, study, series, instance)
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


def stored_path(relative: str) -> Path:
    """The stored file a relative path from the index names: a plain join for the store's own names (a study's
    retrieve joins hundreds), storage.absolute's resolving check for anything else."""
    # NOTE: the store's names are built by dicom/storage.py place() (dicom/xx/yy/<hex>.dcm).
    if _STORE_NAME.fullmatch(relative):
        return storage.data_dir() / relative
    return storage.absolute(relative)


# ---------------------------------------------------------------- lookups


def images(actor: Actor, study: str, series: str = '', instance: str = '') -> image_retrieval.Retrieval:
    """The images the UIDs name, or the HTTP error (403, 404) to answer."""
    try:
        return image_retrieval.images(study, series, instance, by=actor)
    except NotAllowed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


def lookup_source(uids: tuple[str, str, str], actor: Actor) -> viewing.FrameSource:
    """The file of one instance (remembered by dicom.wado), or the HTTP error (403, 404) to answer."""
    try:
        return wado.sources.lookup(uids, actor)
    except NotAllowed as error:
        raise HTTPException(status_code=403, detail=str(error)) from None
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
