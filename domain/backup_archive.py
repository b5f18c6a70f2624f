"""Backup archives on disk: their names, the plain header beside each one, and careful writing and hashing.

An archive `clinicpacs-YYYYMMDD-HHMMSS-full.tar.sealed` (or `-incr`) is a tar stream sealed with domain.sealed.
Beside it lies `NAME.json`, readable without the key: format, kind, when, the parent archive and its SHA-256,
the archive's own SHA-256 and size, when it was read back. It holds nothing secret and no patient data, so the
schedule and the restore page can list a folder of archives, and anyone can check a copy's bytes, without a key.
The header is not trusted on restore: the sealed manifest names the parent and its SHA-256 again.
"""

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

FORMAT = 2
SUFFIX = '.tar.sealed'
KINDS = ('full', 'incremental')
_NAME = re.compile(r'clinicpacs-(\d{8})-(\d{6})(?:-(\d+))?-(full|incr)\.tar\.sealed')


@dataclass(frozen=True)
class ArchiveInfo:
    """One archive as its plain header describes it."""

    name: str
    path: Path
    kind: str  # full | incremental
    created_at: str  # ISO time
    parent: str | None  # the archive this incremental builds on
    parent_sha256: str | None
    size: int
    sha256: str  # of the sealed bytes as written ('' when the header is missing)
    verified_at: str | None  # when it was read back and every member checked

    @property
    def header(self) -> Path:
        return header_path(self.path)


def archive_name(target_dir: Path, stamp: str, kind: str) -> Path:
    """A free archive name for this second (two backups within one second get a counter)."""
    short = 'full' if kind == 'full' else 'incr'
    candidate, counter = target_dir / f'clinicpacs-{stamp}-{short}{SUFFIX}', 1
    while candidate.exists() or partial_path(candidate).exists():
        counter += 1
        candidate = target_dir / f'clinicpacs-{stamp}-{counter}-{short}{SUFFIX}'
    return candidate


def is_archive_name(name: str) -> bool:
    """True for a name this program gives its archives."""
    return _NAME.fullmatch(name) is not None


def kind_of_name(name: str) -> str:
    """full or incremental, as the name says."""
    return 'incremental' if name.endswith(f'-incr{SUFFIX}') else 'full'


def partial_path(archive: Path) -> Path:
    return archive.with_name(f'{archive.name}.partial')


def header_path(archive: Path) -> Path:
    return archive.with_name(f'{archive.name}.json')


def write_header(info: ArchiveInfo) -> None:
    """The plain header beside the archive (0600, written whole or not at all)."""
    fields = asdict(info)
    fields.pop('path')
    payload = json.dumps({'format': FORMAT, **fields}, indent=2).encode()
    temporary = info.path.with_name(f'.{info.name}.json.{secrets.token_hex(4)}.tmp')
    with private(temporary) as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(header_path(info.path))


def read_header(archive: Path) -> ArchiveInfo:
    """What the plain header says of `archive`; from the name alone when the header is missing or unreadable."""
    size = archive.stat().st_size if archive.exists() else 0
    try:
        fields = json.loads(header_path(archive).read_text())
        return ArchiveInfo(
            name=archive.name,
            path=archive,
            kind=fields['kind'] if fields.get('kind') in KINDS else kind_of_name(archive.name),
            created_at=str(fields.get('created_at') or ''),
            parent=fields.get('parent') or None,
            parent_sha256=fields.get('parent_sha256') or None,
            size=size,
            sha256=str(fields.get('sha256') or ''),
            verified_at=fields.get('verified_at') or None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        match = _NAME.fullmatch(archive.name)
        day, time = (match.group(1), match.group(2)) if match else ('', '')
        stamp = f'{day[:4]}-{day[4:6]}-{day[6:]}T{time[:2]}:{time[2:4]}:{time[4:]}' if match else ''  # as ISO
        return ArchiveInfo(archive.name, archive, kind_of_name(archive.name), stamp, None, None, size, '', None)


@contextlib.contextmanager
def private(path: Path, *, replace: bool = False) -> Iterator[BinaryIO]:
    """A new file opened for writing that is never readable by others, not even while it is written."""
    if replace:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        yield handle


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open('rb') as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class HashingReader:
    """A file read through once, hashed on the way (the sealed bytes of an archive as they are opened)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def seekable(self) -> bool:
        return False  # every byte is read once, in order, so the hash covers the whole file

    def read(self, n: int = -1) -> bytes:
        chunk = self.raw.read(n)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def drain(self) -> str:
        """Read what is left and return the SHA-256 of everything."""
        while self.read(1 << 20):
            pass
        return self.digest.hexdigest()


class HashingSource:
    """A stored file copied into an archive: exactly `size` bytes, hashed as tarfile reads them."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle, self.left, self.digest = handle, size, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        chunk = self.handle.read(n)
        self.left -= len(chunk)
        self.digest.update(chunk)
        return chunk
