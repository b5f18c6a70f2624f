"""Where files lie in the data directory, and how they get there without ever being half-written.

Every DICOM file is named by an id of our own (a random UUID fanned out over two directory levels),
never by a value read from the file. A file is written under `incoming/`, flushed to disk (fsync), and
renamed into `dicom/`; the rename and the directory fsync make it appear whole or not at all. Files
left in `incoming/` by a crash were never acknowledged and are removed at start-up.

With encryption at rest on (`domain.at_rest`), every file is sealed from its first byte (an arriving image never
lies on disk in the clear) and readers get the plaintext through `open_file`/`read_file`, the one way to read a
stored file; checksums and sizes are those of the plaintext, the bytes the sender sent.
"""

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from domain import at_rest, durable

log = logging.getLogger(__name__)

INCOMING, DICOM, CONFLICTS, THUMBNAILS = 'incoming', 'dicom', 'conflicts', 'thumbnails'


class OutOfSpace(Exception):
    """The disk is (nearly) full: below the configured free-space floor."""


@dataclass
class _Config:
    data_dir: Path | None = None
    min_free_bytes: int = 0


_config = _Config()


def configure(data_dir: Path, *, min_free_bytes: int = 0) -> None:
    """Use this data directory and free-space floor (main.py and tests)."""
    _config.data_dir, _config.min_free_bytes = Path(data_dir).resolve(), min_free_bytes
    for name in (INCOMING, DICOM, CONFLICTS, THUMBNAILS):
        (_config.data_dir / name).mkdir(parents=True, exist_ok=True)


def data_dir() -> Path:
    """The data directory every stored path is relative to."""
    if _config.data_dir is None:
        raise RuntimeError('storage not configured: call storage.configure(data_dir) first')
    return _config.data_dir


def absolute(relative: str) -> Path:
    """The file a stored relative path names, refusing anything that would leave the data directory."""
    base = data_dir()
    path = (base / relative).resolve()
    if base not in path.parents:
        raise ValueError('stored path outside the data directory')
    return path


def free_bytes() -> int:
    """Free space on the data directory's file system."""
    return shutil.disk_usage(data_dir()).free


def check_space(size: int) -> None:
    """Refuse to write `size` bytes when that would go below the free-space floor."""
    if free_bytes() - size < _config.min_free_bytes:
        raise OutOfSpace(f'less than {_config.min_free_bytes // (1024 * 1024)} MB would stay free on the data disk')


def write_incoming(parts: Iterable[bytes | memoryview], size: int) -> Path:
    """Write the parts to a new file under incoming/ and fsync it; nothing is left behind on failure."""
    check_space(size)
    path = data_dir() / INCOMING / f'{uuid.uuid4().hex}.part'
    with at_rest.creating(path, 0o600) as writer:
        for part in parts:
            writer.write(part)
    return path


def copy_incoming(source: Path) -> Path:
    """Copy a file (an upload) to a new file under incoming/, fsync'd."""
    size = source.stat().st_size
    check_space(size)
    path = data_dir() / INCOMING / f'{uuid.uuid4().hex}.part'
    with open_path(source) as reader, at_rest.creating(path, 0o600) as writer:  # a scratch file may be sealed
        shutil.copyfileobj(reader, writer, 1024 * 1024)
    return path


def open_file(relative: str) -> BinaryIO:
    """A stored file (DICOM, thumbnail, PDF) opened for reading, seekable, as its bytes were written.

    Every reader goes through here (or read_file), so the file's form on disk is this module's business alone.
    """
    return at_rest.open_read(absolute(relative))


def read_file(relative: str) -> bytes:
    """A stored file's bytes, whole."""
    with open_file(relative) as reader:
        return reader.read()


def open_path(path: Path) -> BinaryIO:
    """A file of the data directory by its absolute path (an incoming file, or a path a caller already resolved)."""
    return at_rest.open_read(path)


def new_scratch(path: Path) -> at_rest.NewFile:
    """A new scratch file of a request (a STOW-RS part, an unpacked upload) to write piece by piece; sealed like
    stored files when encryption is on, so an arriving image never lies on disk in the clear."""
    return at_rest.NewFile(path, 0o600)


def write_cache(path: Path, data: bytes) -> None:
    """Write a new file of a cache the server can make again (no fsync), sealed like stored files when encryption
    is on: caches of headers hold patient data too."""
    at_rest.write_new(path, data, 0o600, durable=False)


def read_at(path: Path, offset: int, size: int) -> bytes:
    """`size` bytes of a file's plaintext from `offset` (fewer at its end): one pread when nothing is sealed."""
    if not at_rest.has_key():
        descriptor = os.open(path, os.O_RDONLY)
        try:
            return os.pread(descriptor, size, offset)
        finally:
            os.close(descriptor)
    with open_path(path) as reader:
        reader.seek(offset)
        return reader.read(size)


def sha256_of(path: Path) -> str:
    """The SHA-256 digest of the file's plaintext, hex."""
    digest = hashlib.sha256()
    with open_path(path) as reader:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def size_of(path: Path) -> int:
    """The size of the file's plaintext in bytes."""
    return at_rest.plain_size(path)


def place(incoming: Path) -> str:
    """Move a finished incoming file into the DICOM store under a new id; returns its relative path."""
    name = uuid.uuid4().hex
    relative = f'{DICOM}/{name[:2]}/{name[2:4]}/{name}.dcm'
    return _move(incoming, relative)


def keep_out(path: Path) -> str:
    """Move a file the index refused (a different image with a known UID) to conflicts/ for the admin."""
    return _move(path, f'{CONFLICTS}/{uuid.uuid4().hex}.dcm')


def remove(relative: str) -> None:
    """Delete a stored file (undoing a placement whose index transaction failed)."""
    absolute(relative).unlink(missing_ok=True)


def discard(path: Path) -> None:
    """Delete an incoming file that will not be kept."""
    path.unlink(missing_ok=True)


def replace_atomically(relative: str, data: bytes) -> Path:
    """Write bytes to a relative path through a temporary file and a rename (thumbnails)."""
    target = absolute(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f'.{target.name}.{uuid.uuid4().hex}.part')
    at_rest.write_new(temporary, data, 0o600)
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def clear_incoming() -> int:
    """Remove files a crash left in incoming/ (never acknowledged); returns how many."""
    removed = 0
    for leftover in (data_dir() / INCOMING).glob('*.part'):
        leftover.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info('removed %d unacknowledged partial files from incoming/', removed)
    return removed


def stored_files() -> list[Path]:
    """Every file in the DICOM store (tests compare this with the index)."""
    return [path for path in (data_dir() / DICOM).rglob('*.dcm') if path.is_file()]


def _move(source: Path, relative: str) -> str:
    target = data_dir() / relative  # built from our own ids only
    try:
        os.rename(source, target)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
    durable.fsync_directory(target.parent)
    return relative
