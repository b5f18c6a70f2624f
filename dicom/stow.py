"""STOW-RS (PS3.18 10.5): POST /dicomweb/studies and /dicomweb/studies/{study}, multipart/related of application/dicom.

The body is parsed as it arrives by python-multipart's streaming parser: each part goes straight into a scratch file
in incoming/ (the body is never held in memory; up to MAX_BODY_BYTES) and then through the same pipeline as a C-STORE
(dicom.ingest), on a worker thread. The answer lists what was stored (ReferencedSOPSequence, each with its
RetrieveURL) and what was not and why (FailedSOPSequence with a FailureReason, PS3.18 10.5.3): 0xA900 for a part of
another study than the one the URL names, 0xC000 for a part that is not application/dicom or not DICOM at all.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from domain import access, at_rest
from domain.access import Actor, Permission
from domain.errors import NotAllowed

from . import ingest, parse, storage

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024**3
BATCH_BYTES = 1024 * 1024  # gathered from the socket before the parser sees it on a worker thread
ROUTE = '/dicomweb/studies'
STUDY_ROUTE = '/dicomweb/studies/{study}'  # NOTE: its GET is WADO-RS (dicom/wado.py); one ROUTES row for both
MEDIA_TYPE = 'application/dicom+json'
PART_TYPE = b'application/dicom'
CANNOT_UNDERSTAND, MISMATCH, OUT_OF_RESOURCES = 0xC000, 0xA900, 0xA700  # PS3.4 B.2.3


def register(app: FastAPI, guard: Callable[[str], Callable[..., Any]]) -> None:
    """Accept STOW-RS requests on the web app; `guard(path)` is the route's access dependency."""
    store_guard, study_guard = guard(ROUTE), guard(STUDY_ROUTE)

    @app.post(ROUTE, include_in_schema=False)
    async def store(request: Request, actor: Annotated[Actor, Depends(store_guard)]) -> JSONResponse:
        return await _store(request, actor, study='')

    @app.post(STUDY_ROUTE, include_in_schema=False)
    async def store_in_study(
        study: str, request: Request, actor: Annotated[Actor, Depends(study_guard)]
    ) -> JSONResponse:
        return await _store(request, actor, study=study)


async def _store(request: Request, actor: Actor, *, study: str) -> JSONResponse:
    boundary = _boundary(request.headers.get('content-type', ''))
    _check_length(request.headers.get('content-length'))
    try:  # before a byte of the body is read
        await run_in_threadpool(access.require, actor, Permission.STORE_DICOM)
    except NotAllowed:
        raise HTTPException(status_code=403, detail='Your role may not store images') from None
    upload = _Upload(boundary, actor, study, base=f'{str(request.base_url).rstrip("/")}/dicomweb')
    try:
        received, batch = 0, bytearray()
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_BODY_BYTES:
                raise HTTPException(status_code=413, detail='The request is too large')
            batch += chunk
            if len(batch) >= BATCH_BYTES:
                await run_in_threadpool(upload.feed, batch)
                batch = bytearray()
        await run_in_threadpool(upload.feed, batch)
        upload.finish()
    except MultipartParseError:
        raise HTTPException(status_code=400, detail='The multipart body cannot be read') from None
    except ingest.Refused:
        raise HTTPException(status_code=403, detail='Your role may not store images') from None
    finally:
        upload.discard()
    return upload.answer()


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    file: at_rest.NewFile | None = None
    failure: int | None = None  # refused before ingest: not application/dicom, or the scratch file failed


class _Upload:
    """One STOW-RS request: the parser's callbacks write parts to scratch files; finished parts are ingested."""

    def __init__(self, boundary: bytes, actor: Actor, study: str, *, base: str) -> None:
        self.actor, self.study, self.base = actor, study, base
        self.referenced: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.part: _Part | None = None
        self.finished: list[_Part] = []
        self.ended = False
        self._field, self._value = bytearray(), bytearray()
        self.parser = MultipartParser(
            boundary,
            {
                'on_part_begin': self._begin,
                'on_header_field': lambda data, start, end: self._field.extend(data[start:end]),
                'on_header_value': lambda data, start, end: self._value.extend(data[start:end]),
                'on_header_end': self._header_end,
                'on_headers_finished': self._headers_finished,
                'on_part_data': self._data,
                'on_part_end': self._end,
                'on_end': self._body_end,
            },
        )

    def feed(self, data: bytearray) -> None:
        """Parse more of the body and store every part it finished."""
        self.parser.write(data)  # type: ignore[arg-type]  # the parser only slices and searches its input
        while self.finished:
            self._ingest(self.finished.pop(0))

    def finish(self) -> None:
        """The body is complete: a part it cut off is not stored; a body without one whole part is unreadable."""
        if self.ended:
            return
        if self.part is None and not self.referenced and not self.failed:
            raise MultipartParseError('the body holds no complete part')
        if self.part is not None:
            self._close(self.part)
            self.part = None
            self.failed.append(_item('', '', failure=CANNOT_UNDERSTAND))

    def answer(self) -> JSONResponse:
        """The Store Instances Response (PS3.18 10.5.3): 200 all stored, 202 some, 409 none."""
        answer: dict[str, Any] = {}
        if self.study:
            answer['00081190'] = {'vr': 'UR', 'Value': [f'{self.base}/studies/{self.study}']}
        if self.referenced:
            answer['00081199'] = {'vr': 'SQ', 'Value': self.referenced}
        if self.failed:
            answer['00081198'] = {'vr': 'SQ', 'Value': self.failed}
        status = 200 if not self.failed else (202 if self.referenced else 409)
        return JSONResponse(answer, status_code=status, media_type=MEDIA_TYPE)

    def discard(self) -> None:
        """Remove whatever scratch files are left (the client left, or the request was refused)."""
        for part in [self.part, *self.finished]:
            self._close(part)

    def _ingest(self, part: _Part) -> None:
        if part.failure is not None or part.path is None:
            self.failed.append(_item('', '', failure=part.failure or CANNOT_UNDERSTAND))
            return
        try:
            sop_class, sop_instance, study, series = _uids(part.path)
            if self.study and sop_instance and study != self.study:  # unreadable: ingest says why
                log.warning('STOW-RS part of study %s refused: the URL names study %s', study or '?', self.study)
                self.failed.append(_item(sop_class, sop_instance, failure=MISMATCH))
                return
            try:
                outcome = ingest.shared().accept_file(part.path, by=self.actor)
            except ingest.Refused:
                raise
            except ingest.IngestError as error:
                log.warning('STOW-RS part refused (0x%04X): %s', error.status, error)
                self.failed.append(_item(sop_class, sop_instance, failure=error.status))
                return
            if outcome.result == 'conflict':
                self.failed.append(_item(sop_class, sop_instance, failure=MISMATCH))
            else:
                url = f'{self.base}/studies/{study}/series/{series}/instances/{sop_instance}'
                self.referenced.append(_item(sop_class, sop_instance, url=url))
        finally:
            part.path.unlink(missing_ok=True)

    def _begin(self) -> None:
        self.part = _Part()

    def _header_end(self) -> None:
        if self.part is not None:
            name = self._field.decode('latin-1').strip().lower()
            self.part.headers[name] = self._value.decode('latin-1').strip()
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        part = self.part
        if part is None:
            return
        media, _params = parse_options_header(part.headers.get('content-type', PART_TYPE.decode()))
        if media != PART_TYPE:
            part.failure = CANNOT_UNDERSTAND
            log.warning('STOW-RS part refused: it is %s, not application/dicom', media.decode('latin-1')[:100])
            return
        part.path = storage.data_dir() / storage.INCOMING / f'{uuid.uuid4().hex}.stow'
        try:
            part.file = storage.new_scratch(part.path)
        except OSError as error:
            self._scratch_failed(part, error)

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part is None or part.file is None:
            return
        try:
            part.file.write(memoryview(data)[start:end])
        except OSError as error:
            self._scratch_failed(part, error)

    def _end(self) -> None:
        if self.part is not None:
            if self.part.file is not None:
                self.part.file.close()
                self.part.file = None
            self.finished.append(self.part)
            self.part = None

    def _body_end(self) -> None:
        self.ended = True

    def _scratch_failed(self, part: _Part, error: OSError) -> None:
        log.warning('STOW-RS part cannot be written (%s)', error.strerror)
        self._close(part)
        part.failure = OUT_OF_RESOURCES

    @staticmethod
    def _close(part: _Part | None) -> None:
        if part is None:
            return
        if part.file is not None:
            part.file.close()
            part.file = None
        if part.path is not None:
            part.path.unlink(missing_ok=True)
            part.path = None


def _boundary(content_type: str) -> bytes:
    media, params = parse_options_header(content_type)
    if media != b'multipart/related':
        raise HTTPException(status_code=415, detail='Send multipart/related; type="application/dicom"')
    if params.get(b'type', PART_TYPE).strip().lower() != PART_TYPE:
        raise HTTPException(status_code=415, detail='Only application/dicom parts are accepted')
    boundary = params.get(b'boundary', b'').strip()
    if not boundary or len(boundary) > 70:  # RFC 2046 5.1.1
        raise HTTPException(status_code=400, detail='The multipart boundary is missing')
    return boundary


def _check_length(length: str | None) -> None:
    if length is None:
        return  # chunked: counted as it arrives
    if not length.isdigit():
        raise HTTPException(status_code=400, detail='The Content-Length cannot be read')
    if int(length) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail='The request is too large')


def _uids(path: Path) -> tuple[str, str, str, str]:
    """SOP Class, SOP Instance, Study and Series Instance UIDs of an arriving part ('' where unreadable)."""
    try:
        header = parse.read_header(path, force=True)
    except parse.UnreadableHeader:
        return '', '', '', ''
    names = ('SOPClassUID', 'SOPInstanceUID', 'StudyInstanceUID', 'SeriesInstanceUID')
    found = [parse.valid_uid(header.get(name)) for name in names]
    return found[0], found[1], found[2], found[3]


def _item(sop_class: str, sop_instance: str, *, failure: int | None = None, url: str = '') -> dict[str, Any]:
    item: dict[str, Any] = {
        '00081150': {'vr': 'UI', 'Value': [sop_class]} if sop_class else {'vr': 'UI'},
        '00081155': {'vr': 'UI', 'Value': [sop_instance]} if sop_instance else {'vr': 'UI'},
    }
    if url:
        item['00081190'] = {'vr': 'UR', 'Value': [url]}
    if failure is not None:
        item['00081197'] = {'vr': 'US', 'Value': [failure]}
    return item
