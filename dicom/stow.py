"""STOW-RS (PS3.18 10.5): POST /dicomweb/studies with multipart/related; type="application/dicom".

Every part goes through the same pipeline as a C-STORE (dicom.ingest); the answer lists what was stored
(ReferencedSOPSequence) and what was not and why (FailedSOPSequence with a FailureReason status).
"""

import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from domain.access import Actor

from . import ingest, parse, storage

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024**3
ROUTE = '/dicomweb/studies'  # POST; a study-scoped URL would need a route of its own that answers GET too
MEDIA_TYPE = 'application/dicom+json'


def register(app: FastAPI, guard: Callable[[str], Callable[..., Any]]) -> None:
    """Accept STOW-RS requests on the web app; `guard(path)` is the route's access dependency."""
    store_guard = guard(ROUTE)

    @app.post(ROUTE, include_in_schema=False)
    async def store(request: Request, actor: Annotated[Actor, Depends(store_guard)]) -> JSONResponse:
        return await _store(request, actor)


async def _store(request: Request, actor: Actor) -> JSONResponse:
    boundary = _boundary(request.headers.get('content-type', ''))
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail='The request is too large')
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_store_parts, bytes(body), boundary, actor)


def _store_parts(body: bytes, boundary: bytes, actor: Actor) -> JSONResponse:
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for part in _parts(body, boundary):
        with tempfile.NamedTemporaryFile(dir=storage.data_dir() / storage.INCOMING, suffix='.stow') as scratch:
            scratch.write(part)
            scratch.flush()
            uids = _uids(Path(scratch.name))
            try:
                outcome = ingest.shared().accept_file(Path(scratch.name), by=actor)
            except ingest.Refused:
                raise HTTPException(status_code=403, detail='Your role may not store images') from None
            except ingest.IngestError as error:
                log.warning('STOW-RS part refused (0x%04X): %s', error.status, error)
                failed.append(_item(uids, failure=error.status))
                continue
        if outcome.result == 'conflict':
            failed.append(_item(uids, failure=0xA900))
        else:
            referenced.append(_item(uids))
    answer: dict[str, Any] = {}
    if referenced:
        answer['00081199'] = {'vr': 'SQ', 'Value': referenced}
    if failed:
        answer['00081198'] = {'vr': 'SQ', 'Value': failed}
    status = 200 if not failed else (202 if referenced else 409)
    return JSONResponse(answer, status_code=status, media_type=MEDIA_TYPE)


def _boundary(content_type: str) -> bytes:
    if not content_type.lower().startswith('multipart/related'):
        raise HTTPException(status_code=415, detail='Send multipart/related; type="application/dicom"')
    kind = re.search(r'type="?([^";]+)"?', content_type, re.IGNORECASE)
    if kind is not None and kind.group(1).strip().lower() != 'application/dicom':
        raise HTTPException(status_code=415, detail='Only application/dicom parts are accepted')
    found = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if found is None:
        raise HTTPException(status_code=400, detail='The multipart boundary is missing')
    return found.group(1).strip().encode()


def _parts(body: bytes, boundary: bytes) -> list[bytes]:
    parts = []
    for chunk in body.split(b'--' + boundary)[1:]:
        if chunk.startswith(b'--'):
            break
        _head, separator, content = chunk.partition(b'\r\n\r\n')
        if not separator:
            continue
        parts.append(content[:-2] if content.endswith(b'\r\n') else content)
    return parts


def _uids(path: Path) -> tuple[str, str]:
    try:
        header = parse.read_header(path, force=True)
    except parse.UnreadableHeader:
        return '', ''
    return parse.valid_uid(header.get('SOPClassUID')), parse.valid_uid(header.get('SOPInstanceUID'))


def _item(uids: tuple[str, str], *, failure: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        '00081150': {'vr': 'UI', 'Value': [uids[0]]} if uids[0] else {'vr': 'UI'},
        '00081155': {'vr': 'UI', 'Value': [uids[1]]} if uids[1] else {'vr': 'UI'},
    }
    if failure is not None:
        item['00081197'] = {'vr': 'US', 'Value': [failure]}
    return item
