"""Reading archives back: one archive checked member by member, or a chain unpacked into a folder for restore.

An archive is a tar stream of `database.jsonl`, `files/…`, `index.jsonl` and last `manifest.json`, sealed as a
whole (domain.sealed authenticates every segment and the end). The manifest gives the size and SHA-256 of the
database and index members; the index those of every file the archive holds. Nothing from an archive is trusted
before those match: files are unpacked into a staging folder and only moved into place by the caller once the
whole chain checked out. Archives of an earlier version (a plain tar without index) are still read for restore.
"""

import contextlib
import functools
import hashlib
import json
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import sealed
from .backup_archive import HashingReader, is_archive_name, private
from .backup_files import Entry, safe_path
from .errors import N_, InvalidInput

DUMP = 'database.jsonl'
INDEX = 'index.jsonl'
MANIFEST = 'manifest.json'
FILES = 'files/'
LEGACY_FORMAT = 1


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class BrokenChain(InvalidInput):
    """An incremental archive whose parents are missing or are not the ones it was made after."""


@dataclass
class Scanned:
    """One archive read through: its manifest and index, the SHA-256 of its sealed bytes, and what did not match."""

    name: str
    manifest: dict[str, Any] = field(default_factory=dict)
    index: dict[str, Entry] = field(default_factory=dict)
    seen: dict[str, tuple[int, str]] = field(default_factory=dict)  # member: size, SHA-256
    sha256: str = ''
    size: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def legacy(self) -> bool:
        return self.manifest.get('format') == LEGACY_FORMAT


@dataclass
class Unpacked:
    """A chain unpacked into a staging folder: the newest manifest and index, and the archives read (newest first)."""

    manifest: dict[str, Any]
    index: dict[str, Entry]
    archives: list[str]
    problems: list[str]


def scan(archive: Path, identity: sealed.Identity, keep: Callable[[str], Path | None] | None = None) -> Scanned:
    """Read `archive` through, hashing every member (and writing those `keep` names a path for); checks them all.

    Raises sealed.WrongKey when the identity does not open it, sealed.Tampered when its bytes were changed or cut,
    InvalidInput when it is no archive of ours.
    """
    found = Scanned(archive.name)
    try:
        raw = archive.open('rb')
    except OSError:
        raise InvalidInput('No backup archive at {path}', path=str(archive)) from None
    with raw:
        hashed = HashingReader(raw)
        try:
            with sealed.opening(hashed, identity, name=archive.name) as stream:  # type: ignore[arg-type]
                _members(stream, found, keep)
                while stream.read(1 << 20):  # to the end: the last segment's mark proves nothing was cut off
                    pass
        except sealed.NotSealed:
            raw.seek(0)
            hashed = HashingReader(raw)
            _members(hashed, found, keep)
            if not found.legacy:  # an unsealed archive is only ever one of an earlier version
                raise InvalidInput('{name} is not a ClinicPACS backup', name=archive.name) from None
        found.sha256, found.size = hashed.drain(), hashed.size
    _check(found)
    return found


def unpack_chain(archive: Path, identity: sealed.Identity, files_dir: Path, dump_to: Path) -> Unpacked:
    """Unpack `archive` and the parents it needs into `files_dir` (and its database dump into `dump_to`), checked."""
    newest = scan(archive, identity, keep=lambda member: _destination(member, files_dir, dump_to, None, archive.name))
    if newest.legacy:
        index = {
            member.removeprefix(FILES): Entry(member.removeprefix(FILES), size, 0, digest, archive.name)
            for member, (size, digest) in newest.seen.items()
            if member.startswith(FILES)
        }
        return Unpacked(newest.manifest, index, [archive.name], newest.problems)
    index, problems, read = newest.index, list(newest.problems), [archive.name]
    wanted = {entry.archive for entry in index.values()} - {archive.name}
    child = newest
    while wanted and not problems:
        parent_name = child.manifest.get('parent')
        if not parent_name:
            missing = ', '.join(sorted(wanted))
            problems.append(
                N_('{name} names archives that are not its parents: {missing}', name=child.name, missing=missing)
            )
            break
        if not is_archive_name(str(parent_name)):
            raise BrokenChain('The header of {name} does not name its parent', name=child.name)
        parent = archive.with_name(str(parent_name))
        if not parent.is_file():
            raise BrokenChain(
                'The chain of {name} is incomplete: {parent} is missing from {folder}',
                name=archive.name,
                parent=parent.name,
                folder=str(archive.parent),
            )
        scanned = scan(
            parent, identity, keep=functools.partial(_older, files_dir=files_dir, index=index, name=parent.name)
        )
        if scanned.sha256 != child.manifest.get('parent_sha256'):
            raise BrokenChain(
                '{parent} is not the archive {name} was made after (its checksum differs)',
                parent=parent.name,
                name=child.name,
            )
        problems.extend(scanned.problems)
        for entry in index.values():
            if entry.archive == parent.name and scanned.seen.get(FILES + entry.path) != (entry.size, entry.sha256):
                problems.append(
                    N_('{file} in {name} is not the file the newest index names', file=entry.path, name=parent.name)
                )
        wanted.discard(parent.name)
        read.append(parent.name)
        child = scanned
    return Unpacked(newest.manifest, index, read, problems)


def clear(folder: Path) -> None:
    """Remove a staging or scratch folder and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)


def _older(member: str, *, files_dir: Path, index: dict[str, Entry], name: str) -> Path | None:
    return _destination(member, files_dir, None, index, name)


def _destination(
    member: str, files_dir: Path, dump_to: Path | None, index: dict[str, Entry] | None, archive_name: str
) -> Path | None:
    if member == DUMP:
        return dump_to
    if not member.startswith(FILES):
        return None
    relative = member.removeprefix(FILES)
    if index is not None and (entry := index.get(relative)) is not None and entry.archive != archive_name:
        return None  # a newer archive of the chain holds this file's bytes
    if index is not None and relative not in index:
        return None  # deleted since this archive was made: never brought back
    try:
        return safe_path(files_dir, relative)
    except ValueError:
        return None  # _check names it


def _members(stream: Readable, found: Scanned, keep: Callable[[str], Path | None] | None) -> None:
    try:
        with tarfile.open(fileobj=stream, mode='r|') as tar:  # type: ignore[call-overload]
            for member in tar:
                if member.name in found.seen:
                    found.problems.append(N_('{name} holds {member} twice', name=found.name, member=member.name))
                if not member.isfile():
                    found.problems.append(
                        N_('{name} holds {member}, which is not a file', name=found.name, member=member.name)
                    )
                    continue
                source = tar.extractfile(member)
                assert source is not None
                with source:
                    found.seen[member.name] = _take(member.name, source, found, keep)
    except tarfile.TarError as error:
        raise InvalidInput('{name} is not a ClinicPACS backup: {error}', name=found.name, error=str(error)) from None


def _take(name: str, source: Readable, found: Scanned, keep: Callable[[str], Path | None] | None) -> tuple[int, str]:
    digest, size, keeping = hashlib.sha256(), 0, []
    target = keep(name) if keep else None
    if name == INDEX:
        keeping.append(bytearray())
    if name == MANIFEST:
        keeping.append(bytearray())
    with contextlib.ExitStack() as stack:
        out = None
        if target is not None:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            out = stack.enter_context(private(target, replace=True))
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
            if keeping:
                keeping[0].extend(chunk)
    if name == MANIFEST:
        try:
            found.manifest = json.loads(bytes(keeping[0]))
        except ValueError:
            found.problems.append(N_('The manifest of {name} is unreadable', name=found.name))
    elif name == INDEX:
        try:
            found.index = {entry.path: entry for entry in map(Entry.parse, bytes(keeping[0]).splitlines())}
        except (ValueError, KeyError):
            found.problems.append(N_('The file index of {name} is unreadable', name=found.name))
    return size, digest.hexdigest()


def _check(found: Scanned) -> None:
    """Every member against the manifest and index, and every indexed file of this archive present."""
    manifest, problems = found.manifest, found.problems
    if not manifest or DUMP not in found.seen:
        raise InvalidInput('{name} is not a ClinicPACS backup (no {dump})', name=found.name, dump=DUMP)
    for member in found.seen:
        if member.startswith(FILES):
            try:
                safe_path(Path('/restore'), member.removeprefix(FILES))
            except ValueError:
                problems.append(
                    N_('{name} holds a file outside the data directory: {member}', name=found.name, member=member)
                )
    if found.legacy:
        return
    if manifest.get('name') != found.name:
        problems.append(
            N_('{name} is an archive renamed from {original}', name=found.name, original=manifest.get('name'))
        )
    for member, expected in (manifest.get('members') or {}).items():
        if tuple(expected) != found.seen.get(member):
            problems.append(N_('{member} in {name} does not match its manifest', member=member, name=found.name))
    for entry in found.index.values():
        if entry.archive == found.name and found.seen.get(FILES + entry.path) != (entry.size, entry.sha256):
            problems.append(N_('{file} in {name} does not match its index', file=entry.path, name=found.name))
    for member in found.seen:
        named = found.index.get(member.removeprefix(FILES))
        if member.startswith(FILES) and (named is None or named.archive != found.name):
            problems.append(N_('{name} holds {member}, which its index does not name', name=found.name, member=member))
