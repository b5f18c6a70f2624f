"""Which files of the data directory a backup holds, and what an incremental backup may leave to its parent.

Every archive carries the file index of the whole data directory at its snapshot (`index.jsonl`): each file's path,
size, modification time, SHA-256 and the archive of the chain that holds its bytes. An incremental archive holds
only the files that are new or changed since its parent; the rest of its index points back along the chain, and a
file deleted since the parent is simply not in it (restore never brings it back).

To know what changed without the key (a scheduled backup may be sealed to a public key the server cannot open),
the server keeps the last index it wrote per target folder in `DATA_DIR/backups-state/` (0600, beside the data it
describes; it holds paths, sizes and checksums, nothing the data directory does not). A file whose size and
modification time match that index is not read again.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import audit_checkpoints
from .backup_archive import private

STATE_DIR = 'backups-state'
# Never archived: other backups, work files, NiceGUI's per-browser storage, files not yet acknowledged.
SKIPPED_DIRS = {'backups', STATE_DIR, 'tmp', '.nicegui', 'ui-storage', 'incoming'}
# The web session secrets stay out of every archive and are dropped on restore (a restored server makes new ones).
SESSION_SECRETS = ('secret.key', 'keys/session.key')
LEDGER = audit_checkpoints.FILE_NAME  # archived as the lines up to the snapshot's newest event, never as it is
# NOTE: the folders of the stored paths domain.backup_snapshot.REFERENCED names (dicom/storage.py's layout, the
# series thumbnails, the report PDFs). A file there that the snapshot does not name and that was written after it
# was taken arrived later (its row is not in the archive): it is left out too.
INDEXED_FOLDERS = ('dicom/', 'thumbnails/', 'reports/')


@dataclass(frozen=True, slots=True)  # a large data directory has millions of these in memory
class Entry:
    """One file of the data directory at a snapshot, and which archive holds its bytes."""

    path: str  # relative, POSIX
    size: int
    mtime_ns: int
    sha256: str
    archive: str

    def line(self) -> bytes:
        fields = {'p': self.path, 's': self.size, 'm': self.mtime_ns, 'h': self.sha256, 'a': self.archive}
        return json.dumps(fields, separators=(',', ':')).encode() + b'\n'

    @classmethod
    def parse(cls, line: bytes) -> 'Entry':
        fields = json.loads(line)
        archive = sys.intern(str(fields['a']))  # a handful of archive names shared by every entry
        return cls(str(fields['p']), int(fields['s']), int(fields['m']), str(fields['h']), archive)


@dataclass(frozen=True)
class State:
    """The last archive written to one target folder and its index."""

    archive: str
    sha256: str
    index: dict[str, Entry]
    recipient: str = ''  # which public key it was sealed to ('' for a passphrase)


def data_files(data_dir: Path, exclude: Iterable[Path] = ()) -> Iterator[tuple[str, Path]]:
    """Every file a backup holds, as (relative POSIX path, path); the audit ledger and the session secrets aside."""
    excluded = {path.resolve() for path in exclude}
    left_out = {*SESSION_SECRETS, LEDGER}
    for folder, dirs, names in os.walk(data_dir):
        current = Path(folder)
        if current == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        dirs[:] = sorted(d for d in dirs if (current / d).resolve() not in excluded)
        for name in sorted(names):
            path = current / name
            if '.sqlite3' in name or name.endswith(('.partial', '.tmp', '.part')):
                continue
            relative = path.relative_to(data_dir).as_posix()
            if relative not in left_out and not path.is_symlink():
                yield relative, path


def unchanged(before: Entry | None, stat: os.stat_result) -> bool:
    """True when the file is as the parent's index recorded it (same size and modification time)."""
    return before is not None and before.size == stat.st_size and before.mtime_ns == stat.st_mtime_ns


def safe_path(root: Path, relative: str) -> Path:
    """`root`/`relative`, refusing anything that would leave `root` (an archive is never trusted with paths)."""
    if not relative or relative.startswith('/') or '\\' in relative or '\0' in relative:
        raise ValueError(relative)
    target = (root / relative).resolve()
    if root.resolve() not in target.parents:
        raise ValueError(relative)
    return target


def state_dir(data_dir: Path) -> Path:
    folder = data_dir / STATE_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def read_state(data_dir: Path, target_dir: Path) -> State | None:
    """The last archive this server wrote into `target_dir`, with its index; None when there is none."""
    header, index_file = _state_files(data_dir, target_dir)
    try:
        fields = json.loads(header.read_text())
        with index_file.open('rb') as handle:
            index = {entry.path: entry for entry in map(Entry.parse, handle)}
    except (OSError, ValueError, KeyError):
        return None
    return State(str(fields['archive']), str(fields['sha256']), index, str(fields.get('recipient') or ''))


def write_state(data_dir: Path, target_dir: Path, written: State, index_lines: Path) -> None:
    """Remember the archive just written as the newest of `target_dir`, its index copied from `index_lines`."""
    header, index_file = _state_files(data_dir, target_dir)
    for final, source in ((index_file, index_lines), (header, None)):
        temporary = final.with_name(f'.{final.name}.{secrets.token_hex(4)}.tmp')
        with private(temporary) as out:
            if source is None:
                fields = {'target': str(target_dir.resolve()), 'archive': written.archive, 'sha256': written.sha256}
                out.write(json.dumps({**fields, 'recipient': written.recipient}).encode())
            else:
                with source.open('rb') as lines:
                    while chunk := lines.read(1 << 20):
                        out.write(chunk)
        temporary.replace(final)


@contextlib.contextmanager
def exclusive(data_dir: Path, target_dir: Path) -> Iterator[None]:
    """One backup at a time into one target folder (the scheduler and a console command may meet), across processes."""
    header, _ = _state_files(data_dir, target_dir)
    fd = os.open(header.with_name(f'{header.stem}.lock'), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def forget_states(data_dir: Path) -> None:
    """After a restore: the next backup of this server is a full one."""
    folder = data_dir / STATE_DIR
    for path in folder.glob('*.json*') if folder.is_dir() else ():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _state_files(data_dir: Path, target_dir: Path) -> tuple[Path, Path]:
    key = hashlib.sha256(str(target_dir.resolve()).encode()).hexdigest()[:16]
    folder = state_dir(data_dir)
    return folder / f'{key}.json', folder / f'{key}.index.jsonl'
