"""Putting a chain of archives back: onto this server's database and data directory, or into a scratch drill.

Nothing is put in place before the whole chain has been read and checked: the files are unpacked into a staging
folder inside the data directory (so moving them is a rename), the database dump beside them. Then the rows go in
in one transaction (sequences fixed on PostgreSQL), and the files are moved into place. The web session secrets
are never in an archive and are dropped here, so the restored server makes new ones.

A drill does the same into a scratch folder with a SQLite database of its own (foreign keys enforced, as on the
server), compares the rows per table with the manifest and checks the restored audit trail with the archive's own
audit key and checkpoints, then removes the scratch folder. The running server's database and files are not touched.
"""

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from . import (
    audit_chain,
    audit_checkpoints,
    backup_snapshot,
    centres,
    currencies,
    db,
    durable,
    reading,
    sealed,
    short_ids,
)
from .backup_archive import sha256_of
from .backup_files import LEDGER, SESSION_SECRETS, Entry, forget_states, safe_path, state_dir
from .backup_unpack import Unpacked, clear, unpack_chain
from .errors import N_, Conflict, InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    archives: list[str]  # read, newest first
    rows: int
    files: int
    at_rest_files: int  # files kept encrypted at rest: the at-rest key file of the server that made them opens them


@dataclass(frozen=True)
class Drilled:
    ok: bool
    problems: list[str]
    archives: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)  # rows per table in the scratch database
    rows: int = 0
    files: int = 0
    bytes: int = 0
    audit_events: int = 0


def restore(archive: Path, data_dir: Path, identity: sealed.Identity, *, force: bool) -> Restored:
    """Unpack and check the chain ending at `archive`, then replace the database's rows and put the files back."""
    with db.reading() as session:
        if backup_snapshot.holds_data(session.connection()) and not force:
            raise Conflict('The database already holds data; restore into an empty one (or force it)')
    staging = state_dir(data_dir) / f'restore-{secrets.token_hex(6)}'
    staging.mkdir(mode=0o700)
    try:
        unpacked = unpack_chain(archive, identity, staging / 'files', staging / 'database.jsonl')
        if unpacked.problems:
            raise InvalidInput('{name} did not check out: {problem}', name=archive.name, problem=unpacked.problems[0])
        with db.engine().begin() as connection, (staging / 'database.jsonl').open('rb') as lines:
            rows = backup_snapshot.load(connection, lines)
            with Session(bind=connection) as session:  # an archive made before short study IDs has none
                short_ids.fill_missing(session)
                centres.fill_missing(session)  # nor centres
                currencies.seed(session)  # nor billing's currencies
                reading.mark_reported(session)  # nor the reported mark of studies (off the reading worklist)
        root = data_dir.resolve()
        for name in (*SESSION_SECRETS, LEDGER):  # new session secrets come on next use; the archive's ledger follows
            with contextlib.suppress(FileNotFoundError):
                (root / name).unlink()
        files = _put_in_place(unpacked.index, staging / 'files', root)
    finally:
        clear(staging)
    with contextlib.suppress(FileNotFoundError):
        (root / 'keys').chmod(0o700)
    forget_states(data_dir)  # the next backup of the restored server is a full one
    return Restored(unpacked.archives, rows, files, int(unpacked.manifest.get('at_rest_files') or 0))


def drill(archive: Path, identity: sealed.Identity, scratch_dir: Path) -> Drilled:
    """Restore the chain into a scratch folder and database, check rows, files and the audit trail, clean up."""
    scratch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = scratch_dir / f'drill-{secrets.token_hex(6)}'
    scratch.mkdir(mode=0o700)
    engine = create_engine(f'sqlite:///{scratch / "drill.sqlite3"}')
    event.listen(engine, 'connect', _foreign_keys_on)  # a row pointing at nothing fails the drill as it would a restore
    try:
        unpacked = unpack_chain(archive, identity, scratch / 'files', scratch / 'database.jsonl')
        problems = list(unpacked.problems)
        SQLModel.metadata.create_all(engine)
        try:
            with engine.begin() as connection, (scratch / 'database.jsonl').open('rb') as lines:
                rows = backup_snapshot.load(connection, lines)
        except IntegrityError:  # the error quotes row values (patient data): never shown or logged
            log.warning('drill of %s: the archived rows do not load into an empty database', archive.name)
            problems.append(
                N_(
                    'The archived rows do not load into an empty database '
                    '(a row points at a row the archive does not hold, or is there twice)'
                )
            )
            return Drilled(False, problems, unpacked.archives)
        with engine.connect() as connection:
            tables = backup_snapshot.counts(connection)
        problems += _compare_rows(unpacked.manifest, tables)
        files, size = _check_files(unpacked.index, scratch / 'files', problems)
        with Session(engine) as session:
            events = _check_trail(session, scratch / 'files', unpacked, problems)
        return Drilled(not problems, problems, unpacked.archives, tables, rows, files, size, events)
    finally:
        engine.dispose()
        clear(scratch)


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute('PRAGMA foreign_keys=ON')


def _put_in_place(index: dict[str, Entry], staged: Path, root: Path) -> int:
    """Move every staged file of the index to its place (a rename: the staging folder is in the data directory)."""
    placed = 0
    folders: set[Path] = set()
    for entry in index.values():
        if entry.path in SESSION_SECRETS:  # an archive of an earlier version holds them: never put back
            continue
        source = safe_path(staged, entry.path)
        target = safe_path(root, entry.path)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(source, target)
        folders.add(target.parent)
        placed += 1
    for folder in folders:
        durable.fsync_directory(folder)
    return placed


def _compare_rows(manifest: dict[str, Any], tables: dict[str, int]) -> list[str]:
    problems: list[str] = []
    for name, expected in (manifest.get('tables') or {}).items():
        if name in tables and tables[name] != expected:
            problems.append(
                N_(
                    'Table {table}: {found} rows restored, the manifest says {expected}',
                    table=name,
                    found=tables[name],
                    expected=expected,
                )
            )
    return problems


def _check_files(index: dict[str, Entry], files_dir: Path, problems: list[str]) -> tuple[int, int]:
    """Every indexed file restored, with the size and SHA-256 the index gives (checked again from disk)."""
    files = size = 0
    for entry in index.values():
        path = safe_path(files_dir, entry.path)
        if not path.is_file() or path.stat().st_size != entry.size or sha256_of(path) != entry.sha256:
            problems.append(N_('{file} did not restore as archived', file=entry.path))
            continue
        files, size = files + 1, size + entry.size
    return files, size


def _check_trail(session: Session, files_dir: Path, unpacked: Unpacked, problems: list[str]) -> int:
    """The restored audit trail, checked with the archive's audit key against its newest signed checkpoint."""
    try:
        key = bytes.fromhex((files_dir / 'keys' / 'audit.key').read_text().strip())
    except (OSError, ValueError):
        key = b''
    checkpoints = []
    ledger = files_dir / LEDGER
    if key and ledger.is_file():
        for line in ledger.read_text(errors='replace').splitlines():
            if (signed := audit_checkpoints.parse(line, key)) is not None:
                checkpoints.append(signed)
    if not key:
        if audit_chain.first_row(session) is not None:
            problems.append(N_('The archive holds audit events but not the audit key that chains them'))
        return 0
    report = audit_chain.walk(session, key, checkpoints[-1:], 5000)
    if not report.intact:
        problems.append(N_('The restored audit trail does not verify: {problem}', problem=report.problem or ''))
    named = unpacked.manifest.get('audit_checkpoint') or ''
    if named and audit_checkpoints.parse(named, key) is None:
        problems.append(N_("The manifest's audit checkpoint is not signed with the archive's audit key"))
    return report.checked
