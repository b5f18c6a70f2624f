"""Files staff upload from the browser: single DICOM files, zip archives and DICOMDIR folders.

Each file goes through exactly the pipeline a network push does (dicom.ingest). A zip is opened with
guards against zip bombs: at most MAX_MEMBERS entries, MAX_EXPANDED_BYTES in all, each member at most
MAX_RATIO times its compressed size, and never more bytes than announced. A DICOMDIR is an index of the
folder (PS3.10 8.6): it is reported, and the images beside it are stored one by one.
"""

import contextlib
import logging
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from domain.access import Actor

from . import storage
from .ingest import Ingest, IngestError

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 2 * 1024**3  # one uploaded file (a zip included)
MAX_MEMBERS = 20_000
MAX_EXPANDED_BYTES = 8 * 1024**3
MAX_RATIO = 200
MEDIA_DIRECTORY = '1.2.840.10008.1.3.10'  # Media Storage Directory Storage (DICOMDIR)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FileResult:
    """One file of an upload: stored, duplicate, conflict, index (a DICOMDIR) or refused, and why."""

    name: str
    result: str
    reason: str = ''
    study_id: int | None = None


def process(path: Path, name: str, ingest: Ingest, *, by: Actor, progress: Progress | None = None) -> list[FileResult]:
    """Store an uploaded file (or every file of an uploaded zip); one result per file."""
    report = progress or (lambda _done, _total: None)
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        return [FileResult(name, 'refused', f'larger than {MAX_UPLOAD_BYTES // 1024**2} MB')]
    if zipfile.is_zipfile(path) and not _is_dicom(path):
        return list(_process_zip(path, name, ingest, by, report))
    result = _one(path, name, ingest, by)
    report(1, 1)
    return [result]


def _process_zip(path: Path, name: str, ingest: Ingest, by: Actor, report: Progress) -> Iterator[FileResult]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        yield FileResult(name, 'refused', f'the zip archive cannot be opened ({error})')
        return
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        try:
            problem = _zip_problem(members)
        except storage.OutOfSpace as error:
            problem = str(error)
        if problem:
            log.warning('uploaded archive refused: %s', problem)
            yield FileResult(name, 'refused', problem)
            return
        scratch = storage.data_dir() / storage.INCOMING / f'{uuid.uuid4().hex}.unzip'
        scratch.mkdir()
        try:
            for done, info in enumerate(members, start=1):
                label = f'{name}: {info.filename}'
                if info.flag_bits & 0x1:
                    yield FileResult(label, 'refused', 'the file is encrypted')
                    continue
                target = scratch / f'{done}.part'
                try:
                    _extract(archive, info, target)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
                    yield FileResult(label, 'refused', f'cannot be unpacked ({error})')
                    continue
                try:
                    yield _one(target, label, ingest, by)
                finally:
                    target.unlink(missing_ok=True)
                report(done, len(members))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _one(path: Path, name: str, ingest: Ingest, by: Actor) -> FileResult:
    if _is_dicomdir(path):
        return FileResult(name, 'index', 'DICOMDIR: the folder index; the images are stored from their own files')
    try:
        outcome = ingest.accept_file(path, by=by)
    except IngestError as error:
        log.warning('uploaded file refused (0x%04X): %s', error.status, error)
        return FileResult(name, 'refused', str(error))
    reason = {
        'duplicate': 'already stored',
        'conflict': 'a different image with the same UID is already stored; kept aside for the administrator',
    }.get(outcome.result, '')
    return FileResult(name, outcome.result, reason, outcome.study_id)


def _zip_problem(members: list[zipfile.ZipInfo]) -> str:
    if len(members) > MAX_MEMBERS:
        return f'the archive holds more than {MAX_MEMBERS} files'
    expanded = sum(info.file_size for info in members)
    if expanded > MAX_EXPANDED_BYTES:
        return f'the archive would expand to more than {MAX_EXPANDED_BYTES // 1024**3} GB'
    for info in members:
        if info.file_size > 1024**2 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return 'the archive looks like a zip bomb (a file expands far beyond its compressed size)'
    storage.check_space(expanded)
    return ''


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member out, never writing more than it announced (a lying header is a zip bomb)."""
    limit = info.file_size
    written = 0
    with archive.open(info) as reader, contextlib.closing(storage.new_scratch(target)) as writer:
        while chunk := reader.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                raise ValueError('the file is larger than the archive says')
            writer.write(chunk)


def _is_dicom(path: Path) -> bool:
    with storage.open_path(path) as reader:
        reader.seek(128)
        return reader.read(4) == b'DICM'


def _is_dicomdir(path: Path) -> bool:
    if not _is_dicom(path):
        return False
    try:
        with storage.open_path(path) as reader:
            meta = pydicom.dcmread(reader, stop_before_pixels=True, force=True).file_meta
    except (InvalidDicomError, OSError, ValueError):
        return False
    return str(meta.get('MediaStorageSOPClassUID', '')) == MEDIA_DIRECTORY
