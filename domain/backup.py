"""Backups: one tar archive with every table (as portable JSON lines) and every file of the data directory.

The table dump does not depend on the database engine, so an archive made on SQLite restores onto
PostgreSQL (how a growing clinic moves up). Restoring needs an empty database unless forced.

An archive is created 0600 (as is its temporary dump) and leaves out the web session secrets (`secret.key`,
`keys/session.key`): a restored server signs sessions with new ones, and no copy of an archive can forge a cookie.
It keeps `keys/audit.key` (the restored trail must still verify) and `keys/mfa.key` (the authenticator secrets are
encrypted with it), so it must be kept as carefully as the server itself. Each backup checkpoints the audit trail
first; the manifest carries that signed line and the archive's checkpoint file holds no line beyond its own dump.
"""

import contextlib
import hashlib
import io
import json
import logging
import os
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Date, DateTime, Table, TypeDecorator, func, select, text
from sqlmodel import Session, SQLModel

from . import audit, audit_checkpoints, clock, db, keys, models  # models also registers the tables
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput

log = logging.getLogger(__name__)

DUMP_NAME = 'database.jsonl'
MANIFEST_NAME = 'manifest.json'
SKIPPED_DIRS = {'backups', 'tmp', '.nicegui', 'ui-storage'}  # ui-storage: NiceGUI's per-browser storage
# The web session secrets stay out of every archive and are dropped on restore (a restored server makes new ones).
SESSION_SECRETS = ('secret.key', 'keys/session.key')
BATCH = 1000


@dataclass(frozen=True)
class BackupResult:
    path: Path
    tables: int
    rows: int
    files: int
    sha256: str
    checkpoint: str = ''  # the audit checkpoint line the archive carries


def create(data_dir: Path, *, by: Actor, target_dir: Path | None = None) -> BackupResult:
    """Write a new archive of the database and the data directory's files; returns where and what."""
    require(by, Permission.MANAGE_SETTINGS)
    target_dir = target_dir or data_dir / 'backups'
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = _free_name(target_dir, clock.now().strftime('%Y%m%d-%H%M%S'))
    partial = final.with_suffix('.tar.partial')
    signed = audit.checkpoint()
    rows = files = 0
    newest_event = 0
    tables = SQLModel.metadata.sorted_tables
    dump_path = target_dir / f'.{final.name}.dump.tmp'
    with _private(dump_path) as dump, db.reading() as session:
        for table in tables:
            for row in _rows(session, table):
                dump.write(json.dumps({'t': table.name, 'r': row}, default=_encode).encode() + b'\n')
                rows += 1
                if table.name == models.AuditEvent.__tablename__:
                    newest_event = max(newest_event, row['id'])
    audit_key = keys.key('audit')
    checkpoint_line = signed.line(audit_key) if signed else ''
    with _private(partial) as raw, tarfile.open(fileobj=raw, mode='w') as archive:
        archive.add(dump_path, arcname=DUMP_NAME, recursive=False)
        dump_path.unlink()
        for path in _data_files(data_dir, exclude=(final, partial)):
            archive.add(path, arcname=f'files/{path.relative_to(data_dir).as_posix()}', recursive=False)
            files += 1
        ledger = audit_checkpoints.lines_up_to(newest_event, audit_key)
        _add_bytes(archive, f'files/{audit_checkpoints.FILE_NAME}', ledger, mode=0o600)
        files += 1
        manifest = {
            'format': 1,
            'created_at': clock.now().isoformat(),
            'tables': len(tables),
            'rows': rows,
            'files': files,
            'audit_checkpoint': checkpoint_line,
        }
        _add_bytes(archive, MANIFEST_NAME, json.dumps(manifest, indent=2).encode())
        archive.close()
        raw.flush()
        os.fsync(raw.fileno())
    partial.rename(final)
    digest = _sha256(final)
    audit.record_alone(
        by,
        'backup.create',
        object_type='backup',
        object_id=final.name,
        detail={'rows': rows, 'files': files, 'sha256': digest},
    )
    audit.checkpoint(only_if_new=True)  # the backup's own event, too
    log.info('backup %s written: %d rows, %d files', final.name, rows, files)
    return BackupResult(final, len(tables), rows, files, digest, checkpoint_line)


def restore(archive_path: Path, data_dir: Path, *, by: Actor, force: bool = False) -> BackupResult:
    """Put an archive's tables and files back; refuses a database that already holds data unless forced."""
    require(by, Permission.MANAGE_SETTINGS)
    if not archive_path.is_file():
        raise InvalidInput('No backup archive at {path}', path=str(archive_path))
    try:
        archive = tarfile.open(archive_path, 'r')
    except tarfile.TarError as error:
        raise InvalidInput(
            '{name} is not a ClinicPACS backup: {error}', name=archive_path.name, error=str(error)
        ) from None
    with archive:
        names = set(archive.getnames())
        if DUMP_NAME not in names or MANIFEST_NAME not in names:
            raise InvalidInput('{name} is not a ClinicPACS backup (no {dump})', name=archive_path.name, dump=DUMP_NAME)
        tables = {table.name: table for table in SQLModel.metadata.sorted_tables}
        with db.transaction() as session:
            holds_data = any(session.execute(select(func.count()).select_from(t)).scalar() for t in tables.values())
            if holds_data and not force:
                raise Conflict('The database already holds data; restore into an empty one (or force it)')
            for table in reversed(SQLModel.metadata.sorted_tables):
                session.execute(table.delete())
            dump = archive.extractfile(DUMP_NAME)
            assert dump is not None
            rows = _load_rows(session, tables, dump)
            if session.get_bind().dialect.name == 'postgresql':
                for table in tables.values():
                    if 'id' in table.c and table.c.id.autoincrement is not False:
                        session.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                            )
                        )
        files = 0
        root = data_dir.resolve()
        _drop_local_secrets(root)
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith('files/'):
                continue
            if member.name.removeprefix('files/') in SESSION_SECRETS:  # an archive of an earlier version holds them
                continue
            target = (root / member.name.removeprefix('files/')).resolve()
            if root not in target.parents:
                raise InvalidInput(
                    '{name} holds a file outside the data directory: {member}',
                    name=archive_path.name,
                    member=member.name,
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            with source, _private(target, mode=member.mode & 0o644, replace=True) as handle:
                while chunk := source.read(1 << 20):
                    handle.write(chunk)
            files += 1
    with contextlib.suppress(FileNotFoundError):
        (root / 'keys').chmod(0o700)
    audit.forget_key()  # the archive's audit key is this installation's key now
    audit.record_alone(
        by, 'backup.restore', object_type='backup', object_id=archive_path.name, detail={'rows': rows, 'files': files}
    )
    log.info('restored %s: %d rows, %d files', archive_path.name, rows, files)
    return BackupResult(archive_path, len(tables), rows, files, _sha256(archive_path))


def _rows(session: Session, table: Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns)
    offset = 0
    while True:
        batch = session.execute(select(table).order_by(*order).offset(offset).limit(BATCH)).mappings().all()
        if not batch:
            return
        for row in batch:
            yield dict(row)
        offset += BATCH


def _load_rows(session: Session, tables: dict[str, Table], dump: Iterable[bytes]) -> int:
    count, pending_table = 0, None
    pending: list[dict[str, Any]] = []
    for line in dump:
        record = json.loads(line)
        table = tables.get(record['t'])
        if table is None:
            continue
        if pending_table is not None and table is not pending_table and pending:
            session.execute(pending_table.insert(), pending)
            pending = []
        pending_table = table
        pending.append(_decode(table, record['r']))
        count += 1
        if len(pending) >= BATCH:
            session.execute(table.insert(), pending)
            pending = []
    if pending and pending_table is not None:
        session.execute(pending_table.insert(), pending)
    return count


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f'cannot back up a {type(value).__name__}')


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for name, stored in row.items():
        if name not in table.c:
            continue
        column_type = table.c[name].type
        base = column_type.impl if isinstance(column_type, TypeDecorator) else column_type
        if stored is not None and isinstance(base, DateTime):
            decoded[name] = datetime.fromisoformat(stored)
        elif stored is not None and isinstance(base, Date):
            decoded[name] = date.fromisoformat(stored)
        else:
            decoded[name] = stored
    return decoded


def _data_files(data_dir: Path, exclude: tuple[Path, ...]) -> Iterator[Path]:
    # the checkpoint file goes in filtered (create); the session secrets never go in
    left_out = {*SESSION_SECRETS, audit_checkpoints.FILE_NAME}
    for folder, dirs, names in os.walk(data_dir):
        current = Path(folder)
        if current == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in sorted(names):
            path = current / name
            if path in exclude or '.sqlite3' in name or name.endswith(('.partial', '.tmp')):
                continue
            if path.relative_to(data_dir).as_posix() in left_out:
                continue
            yield path


def _drop_local_secrets(root: Path) -> None:
    """Before a restore: the session secrets go (new ones come on next use), so do the old trail's checkpoints."""
    for name in (*SESSION_SECRETS, audit_checkpoints.FILE_NAME):
        with contextlib.suppress(FileNotFoundError):
            (root / name).unlink()


@contextlib.contextmanager
def _private(path: Path, *, mode: int = 0o600, replace: bool = False) -> Iterator[BinaryIO]:
    """A new file opened for writing that is never readable by others, not even while it is written."""
    if replace:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
    with os.fdopen(fd, 'wb') as handle:
        yield handle
    if mode & 0o044:
        path.chmod(mode)  # a restored image is readable as it was when archived, once it is whole


def _free_name(target_dir: Path, stamp: str) -> Path:
    """An archive name not taken yet (two backups within one second get a suffix)."""
    final = target_dir / f'clinicpacs-{stamp}.tar'
    counter = 1
    while final.exists() or final.with_suffix('.tar.partial').exists():
        counter += 1
        final = target_dir / f'clinicpacs-{stamp}-{counter}.tar'
    return final


def _add_bytes(archive: tarfile.TarFile, name: str, payload: bytes, *, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mode = mode
    info.mtime = int(clock.now().timestamp())
    archive.addfile(info, io.BytesIO(payload))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open('rb') as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
