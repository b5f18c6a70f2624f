"""Writing one archive: the database snapshot first, then the files, sealed, fsynced, renamed, and read back.

The snapshot comes before the walk over the files because a file is always written before the index row that
names it commits: every instance, thumbnail and PDF the snapshot names is on disk by the time the walk looks, so
a backup taken while images arrive restores to a consistent state. An image, thumbnail or PDF written after the
snapshot was taken and not named by it arrived later and is left out (one written just before it, whose row
committed just after, is kept: a file the index does not name is never served). A file its snapshot names but
the walk did not find (moved meanwhile, to the trash say) is looked for once more, and named in the manifest and
the log if it is gone.
"""

import hashlib
import io
import json
import logging
import os
import tarfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from . import audit, audit_checkpoints, backup_snapshot, clock, durable, keys, sealed
from .backup_archive import (
    ArchiveInfo,
    HashingSource,
    archive_name,
    partial_path,
    private,
    read_header,
    write_header,
)
from .backup_files import (
    INDEXED_FOLDERS,
    LEDGER,
    Entry,
    State,
    data_files,
    exclusive,
    read_state,
    state_dir,
    unchanged,
    write_state,
)
from .backup_unpack import DUMP, FILES, INDEX, MANIFEST, scan
from .errors import InvalidInput
from .trash_files import TRASH

ABANDONED_AFTER_S = 3600  # a `.partial` untouched this long belongs to a backup that died

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    """One archive as written and read back."""

    info: ArchiveInfo
    tables: dict[str, int]
    files: int  # files the data directory held (the index)
    stored: int  # files whose bytes are in this archive
    checkpoint: str
    missing: list[str]


def write(data_dir: Path, target_dir: Path, kind: str, recipient: sealed.Recipient) -> Written:
    """Write a full or incremental archive of `data_dir` into `target_dir` and check it by reading it back."""
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with exclusive(data_dir, target_dir):
        _sweep_abandoned(target_dir)
        return _write(data_dir, target_dir, kind, recipient)


def _sweep_abandoned(target_dir: Path) -> None:
    """Remove what a backup cut short by a crash or a power cut left: a `.partial` nobody has written to for an hour
    (a backup still being written, by this server under the lock or another sharing the folder, keeps it fresh)."""
    stale_before = clock.now().timestamp() - ABANDONED_AFTER_S
    for leftover in target_dir.glob('clinicpacs-*.partial'):
        try:
            if leftover.stat().st_mtime < stale_before:
                leftover.unlink()
                log.warning('removed %s, left by a backup that did not finish', leftover.name)
        except FileNotFoundError:
            continue


def _write(data_dir: Path, target_dir: Path, kind: str, recipient: sealed.Recipient) -> Written:
    work = state_dir(data_dir)
    parent = _parent(data_dir, target_dir, recipient) if kind == 'incremental' else None
    kind = 'incremental' if parent else 'full'
    created_at = clock.now()
    final = archive_name(target_dir, created_at.strftime('%Y%m%d-%H%M%S'), kind)
    partial = partial_path(final)
    dump_path, index_path = work / f'.{final.name}.dump.tmp', work / f'.{final.name}.index.tmp'
    try:
        with private(partial) as raw:
            with sealed.sealing(raw, recipient) as stream:
                file_key = stream.file_key
                with tarfile.open(fileobj=stream, mode='w|') as tar:  # type: ignore[call-overload]
                    files = _Files(tar, final.name, data_dir, parent)
                    manifest = _fill(files, dump_path, index_path, exclude=target_dir, created_at=created_at)
            raw.flush()
            os.fsync(raw.fileno())
        partial.rename(final)
        durable.fsync_directory(target_dir)
        checked = scan(final, sealed.FileKey(file_key))  # the only read a public-key archive ever gets here
        if checked.problems:
            raise InvalidInput(
                '{name} did not read back as written: {problem}', name=final.name, problem=checked.problems[0]
            )
        info = ArchiveInfo(
            name=final.name,
            path=final,
            kind=kind,
            created_at=created_at.isoformat(),
            parent=parent.archive if parent else None,
            parent_sha256=parent.sha256 if parent else None,
            size=checked.size,
            sha256=checked.sha256,
            verified_at=clock.now().isoformat(),
        )
        write_header(info)
        write_state(data_dir, target_dir, State(final.name, checked.sha256, {}, _fingerprint(recipient)), index_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        dump_path.unlink(missing_ok=True)
        index_path.unlink(missing_ok=True)
    if files.later:
        log.debug('backup %s: %d files that arrived after its snapshot left out', final.name, files.later)
    if files.missing:
        log.warning(
            'backup %s: %d indexed files were gone before they could be archived', final.name, len(files.missing)
        )
    return Written(
        info, manifest['tables'], len(files.entries), files.stored, manifest['audit_checkpoint'], files.missing
    )


def _fill(files: '_Files', dump_path: Path, index_path: Path, *, exclude: Path, created_at: datetime) -> dict[str, Any]:
    """The archive's members in order: the snapshot, the files, the audit ledger, the index, the manifest."""
    tar, name, parent = files.tar, files.name, files.parent
    signed = audit.checkpoint()  # the archive's ledger ends with a line signing its own newest event
    audit_key = keys.key('audit')
    with private(dump_path) as out:
        dumped = backup_snapshot.dump(out, dump_path.parent)
    members = {DUMP: _add_path(tar, DUMP, dump_path)}
    dump_path.unlink()
    files.referenced, files.began_ns = dumped.referenced, dumped.began_ns
    with private(index_path) as index_out:
        files.index_out = index_out
        for relative, path in data_files(files.data_dir, exclude=(exclude,)):
            files.add(relative, path, parent.index.get(relative) if parent else None)
        files.look_again(dumped.referenced)
        ledger = audit_checkpoints.lines_up_to(dumped.newest_event, audit_key)
        _add_bytes(tar, FILES + LEDGER, ledger)
        files.record(Entry(LEDGER, len(ledger), 0, hashlib.sha256(ledger).hexdigest(), name))
    members[INDEX] = _add_path(tar, INDEX, index_path)
    manifest = {
        'format': 2,
        'name': name,
        'kind': 'incremental' if parent else 'full',
        'created_at': created_at.isoformat(),
        'parent': parent.archive if parent else None,
        'parent_sha256': parent.sha256 if parent else None,
        'tables': dumped.tables,
        'rows': dumped.rows,
        'files': len(files.entries),
        'members': {member: list(value) for member, value in members.items()},
        'audit_checkpoint': signed.line(audit_key) if signed else '',
        'missing': files.missing,
        'at_rest_files': len(files.at_rest),  # sealed with the server's at-rest key: restore needs that key file
    }
    _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
    return manifest


def _parent(data_dir: Path, target_dir: Path, recipient: sealed.Recipient) -> State | None:
    """The archive an incremental builds on: the last one written here, if it is still there unchanged and opens
    with what this one is sealed to (a chain is restored with one passphrase or key; a new one starts a new chain)."""
    state = read_state(data_dir, target_dir)
    if state is None or not (target_dir / state.archive).is_file():
        return None
    header = read_header(target_dir / state.archive)
    if header.sha256 != state.sha256 or not header.verified_at or state.recipient != _fingerprint(recipient):
        return None
    if isinstance(recipient, sealed.Passphrase):
        try:
            with (target_dir / state.archive).open('rb') as raw, sealed.opening(raw, recipient):
                pass  # the header opens: the same passphrase
        except sealed.WrongKey:
            return None
    return state


def _fingerprint(recipient: sealed.Recipient) -> str:
    """Which public key an archive is sealed to ('' for a passphrase, which is checked by opening the parent)."""
    if isinstance(recipient, sealed.PublicKey):
        return 'public-key:' + hashlib.sha256(recipient.raw).hexdigest()[:16]
    return ''


@dataclass
class _Files:
    """The data directory's files going into one archive, and its index as it is written."""

    tar: tarfile.TarFile
    name: str
    data_dir: Path
    parent: State | None
    index_out: BinaryIO | None = None
    entries: set[str] = field(default_factory=set)
    stored: int = 0  # files whose bytes are in this archive
    at_rest: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)  # the stored files the snapshot's rows name
    began_ns: int = 0  # when the snapshot was taken
    later: int = 0  # files left out because they arrived after the snapshot

    def add(self, relative: str, path: Path, before: Entry | None) -> bool:
        """Index one file, archiving its bytes unless the parent holds them unchanged; False if it is gone."""
        try:
            handle = path.open('rb')
        except (FileNotFoundError, IsADirectoryError):
            return False  # gone since the walk saw it (a replaced thumbnail, a study moved to the trash)
        with handle:
            stat = os.fstat(handle.fileno())
            if self.arrived_later(relative, stat):
                self.later += 1
                return True
            if sealed.is_sealed(handle):  # kept encrypted at rest: archived as stored, restored as stored
                self.at_rest.add(relative)
            if before is not None and unchanged(before, stat):
                self.record(before)
                return True
            info = tarfile.TarInfo(FILES + relative)
            info.size, info.mode, info.mtime = stat.st_size, 0o600, int(stat.st_mtime)
            source = HashingSource(handle, stat.st_size)
            self.tar.addfile(info, source)
            self.record(Entry(relative, stat.st_size, stat.st_mtime_ns, source.digest.hexdigest(), self.name))
        return True

    def record(self, entry: Entry) -> None:
        assert self.index_out is not None
        self.index_out.write(entry.line())
        self.entries.add(entry.path)
        self.stored += entry.archive == self.name

    def arrived_later(self, relative: str, stat: os.stat_result) -> bool:
        """True for an image, thumbnail or PDF the snapshot does not name, written after it was taken."""
        return (
            relative.startswith(INDEXED_FOLDERS)
            and relative not in self.referenced
            and stat.st_mtime_ns >= self.began_ns
        )

    def look_again(self, referenced: set[str]) -> None:
        """Files the snapshot names that the walk did not see: archived if they are there now (or in the trash,
        where a study deleted after the snapshot moved them), else named."""
        root = self.data_dir.resolve()
        trash = self.data_dir / TRASH
        for relative in sorted(referenced - self.entries):
            path = self.data_dir / relative
            if not path.resolve().is_relative_to(root):
                self.missing.append(relative)
                continue
            trashed = (item / relative for item in sorted(trash.iterdir()) if item.is_dir()) if trash.is_dir() else ()
            if not any(self.add(relative, found, None) for found in (path, *trashed)):
                self.missing.append(relative)


def _add_path(tar: tarfile.TarFile, member: str, path: Path) -> tuple[int, str]:
    with path.open('rb') as handle:
        size = os.fstat(handle.fileno()).st_size
        info = tarfile.TarInfo(member)
        info.size, info.mode, info.mtime = size, 0o600, int(clock.now().timestamp())
        source = HashingSource(handle, size)
        tar.addfile(info, source)
    return size, source.digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, member: str, payload: bytes) -> None:
    info = tarfile.TarInfo(member)
    info.size, info.mode, info.mtime = len(payload), 0o600, int(clock.now().timestamp())
    tar.addfile(info, io.BytesIO(payload))
