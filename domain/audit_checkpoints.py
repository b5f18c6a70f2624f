"""The audit trail's checkpoints, kept where the database can't reach them: signed lines in a file and in the log.

A checkpoint names the trail's newest event, its hash and how many events lead up to it, and is signed with the
audit key (an HMAC, see domain.keys). Lines are appended to PACS_DATA_DIR/audit-checkpoints.log (0600, O_APPEND, one
write per line) under an exclusive lock, so the processes of one installation take turns and each line extends
the one before it. Someone who can rewrite the database, but neither this file nor the key, can no longer cut the
trail short or chain it again before a checkpoint without `audit.verify` saying so.
"""

import fcntl
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import keys

log = logging.getLogger(__name__)

FILE_NAME = 'audit-checkpoints.log'
_TAIL_BYTES = 16384  # enough for the last lines, whatever the file's length
_LINE = re.compile(r'audit checkpoint id=(\d+) hash=([0-9a-f]{64}) count=(\d+) at=(\S+) mac=([0-9a-f]{64})')


@dataclass(frozen=True)
class Checkpoint:
    """The trail's head as signed at `at` (ISO time): event `event_id` with its `hash`, `count` events up to it."""

    event_id: int
    hash: str
    count: int
    at: str

    def line(self, key: bytes) -> str:
        """The signed line written to the file and the log."""
        return (
            f'audit checkpoint id={self.event_id} hash={self.hash} count={self.count} at={self.at} mac={self._mac(key)}'
        )

    def _mac(self, key: bytes) -> str:
        message = f'audit-checkpoint\0{self.event_id}\0{self.hash}\0{self.count}\0{self.at}'
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass
class Ledger:
    """The checkpoint file as `verify` reads it: the newest good line, and the numbers of lines not validly signed."""

    newest: Checkpoint | None = None
    bad_lines: list[int] = field(default_factory=list)


def path() -> Path:
    """The checkpoint file of this installation."""
    return keys.key_dir().parent / FILE_NAME  # NOTE: keys live in PACS_DATA_DIR/keys, so this is PACS_DATA_DIR


def started() -> bool:
    """True once any checkpoint was written (the trail has been keyed since then)."""
    try:
        return path().stat().st_size > 0
    except FileNotFoundError:
        return False


def read(key: bytes) -> Ledger:
    """Every line of the file, checked against the key (read as a stream: it grows by about a line a minute)."""
    ledger = Ledger()
    for number, line in enumerate(_lines(), start=1):
        checkpoint = parse(line, key)
        if checkpoint is None:
            ledger.bad_lines.append(number)
        else:
            ledger.newest = checkpoint
    return ledger


def newest(key: bytes) -> Checkpoint | None:
    """The newest checkpoint whose signature holds, read from the end of the file."""
    try:
        with path().open('rb') as handle:
            start = max(0, handle.seek(0, os.SEEK_END) - _TAIL_BYTES)
            handle.seek(start)
            tail = handle.read()
    except FileNotFoundError:
        return None
    lines = tail.split(b'\n')[:-1]  # what follows the last newline is a line still being written, if anything
    for raw in reversed(lines[1:] if start else lines):  # a tail's first piece may be the end of a line
        if (checkpoint := parse(raw.decode(errors='replace'), key)) is not None:
            return checkpoint
    return read(key).newest if start else None


def parse(line: str, key: bytes) -> Checkpoint | None:
    """The checkpoint of one line, or None when the line is not one or its signature does not hold."""
    match = _LINE.fullmatch(line.strip())
    if match is None:
        return None
    event_id, digest, count, at, mac = match.groups()
    checkpoint = Checkpoint(int(event_id), digest, int(count), at)
    return checkpoint if hmac.compare_digest(checkpoint._mac(key), mac) else None


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the file's lock (across processes) while deciding what to append."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append(checkpoint: Checkpoint, key: bytes) -> str:
    """Add one signed line to the file (call inside `exclusive()`) and log it at INFO; returns the line."""
    line = checkpoint.line(key)
    fd = os.open(path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f'{line}\n'.encode())  # one write: a reader never sees half a line as a whole one
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info('%s', line)
    return line


def lines_up_to(event_id: int, key: bytes) -> bytes:
    """The file's good lines for events up to `event_id` (a backup holds no checkpoint beyond its own dump)."""
    kept = []
    for line in _lines():
        checkpoint = parse(line, key)
        if checkpoint is not None and checkpoint.event_id <= event_id:
            kept.append(f'{checkpoint.line(key)}\n')
    return ''.join(kept).encode()


def _lines() -> Iterator[str]:
    try:
        handle = path().open('rb')
    except FileNotFoundError:
        return
    with handle:
        for raw in handle:
            if raw.endswith(b'\n'):  # else a line still being written by another process: not a checkpoint yet
                yield raw.decode(errors='replace')
