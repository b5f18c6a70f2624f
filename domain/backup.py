"""Backups: sealed archives of the database and the data directory, full or incremental, verified, restorable.

A full archive holds one consistent snapshot of every table (portable JSON lines, so an archive made on SQLite
restores onto PostgreSQL and back) and every file of the data directory; an incremental one the snapshot again and
only the files new or changed since its parent (domain.backup_files). Every archive is sealed (domain.sealed) with
a passphrase or to a public key whose private half is kept off the server, written 0600 to `.partial`, fsynced,
renamed, and read back member by member before `create` returns. A plain header beside it (`NAME.json`) lets the
schedule and the restore page list archives and check their bytes without the key (domain.backup_archive).

No archive holds the web session secrets (`secret.key`, `keys/session.key`): a restored server signs sessions with
new ones. It keeps `keys/audit.key` (the restored trail must still verify) and `keys/mfa.key` (the authenticator
secrets are encrypted with it); the seal is what keeps them. Each backup checkpoints the audit trail first; the
manifest carries that signed line and the archive's checkpoint file holds no line beyond its own snapshot.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from . import at_rest, audit, backup_archive, backup_create, backup_restore, sealed
from .access import Actor, Permission, require
from .backup_archive import SUFFIX, header_path, is_archive_name, read_header, sha256_of
from .backup_unpack import BrokenChain, scan
from .errors import N_, InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupResult:
    """One archive written and read back."""

    path: Path
    kind: str  # full | incremental
    parent: str | None
    rows: int
    files: int  # files the data directory held at the snapshot
    stored: int  # of those, files whose bytes are in this archive
    bytes: int  # the archive's size
    sha256: str  # of the sealed bytes (check_stored re-reads them without the key)
    verified_at: str
    tables: dict[str, int] = field(default_factory=dict)
    checkpoint: str = ''  # the audit checkpoint line the archive carries
    missing: list[str] = field(default_factory=list)  # indexed files gone before they could be archived


@dataclass(frozen=True)
class VerifyResult:
    """One archive opened and every member checked against its manifest."""

    ok: bool
    problems: list[str]
    name: str
    kind: str = ''
    rows: int = 0
    files: int = 0
    bytes: int = 0
    sha256: str = ''


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    archives: list[str]  # the chain read, newest first
    rows: int
    files: int
    at_rest_files: int  # files kept encrypted at rest (the at-rest key file is needed to read them)


DrillResult = backup_restore.Drilled
ArchiveInfo = backup_archive.ArchiveInfo  # what `archives` lists (its plain header)


def create(
    data_dir: Path,
    *,
    by: Actor,
    target_dir: Path | None = None,
    kind: str = 'full',
    recipient: sealed.Recipient | None = None,
) -> BackupResult:
    """Write a new sealed archive (an incremental becomes a full when the folder has no chain to build on)."""
    require(by, Permission.MANAGE_SETTINGS)
    if kind not in ('full', 'incremental'):
        raise InvalidInput('A backup is full or incremental, not {kind}', kind=kind)
    if recipient is None:  # never an archive anyone who finds it can read
        raise InvalidInput('A backup needs a passphrase (PACS_BACKUP_PASSPHRASE) or a public key to seal it with')
    written = backup_create.write(data_dir, target_dir or data_dir / 'backups', kind, recipient)
    info = written.info
    result = BackupResult(
        path=info.path,
        kind=info.kind,
        parent=info.parent,
        rows=sum(written.tables.values()),
        files=written.files,
        stored=written.stored,
        bytes=info.size,
        sha256=info.sha256,
        verified_at=info.verified_at or '',
        tables=written.tables,
        checkpoint=written.checkpoint,
        missing=written.missing,
    )
    detail = {'kind': info.kind, 'parent': info.parent, 'rows': result.rows, 'files': result.files}
    audit.record_alone(
        by, 'backup.create', object_type='backup', object_id=info.name, detail={**detail, 'sha256': info.sha256}
    )
    audit.checkpoint(only_if_new=True)  # the backup's own event, too
    log.info(
        'backup %s written and read back: %d rows, %d of %d files', info.name, result.rows, result.stored, result.files
    )
    return result


def verify(archive: Path, identity: sealed.Identity) -> VerifyResult:
    """Open one archive and check every member's size and SHA-256 (and its bytes against its plain header).

    Raises sealed.WrongKey when the passphrase or key does not open it; anything else wrong is a problem listed."""
    header = read_header(archive)
    try:
        scanned = scan(archive, identity)
    except sealed.WrongKey:
        raise
    except InvalidInput as error:  # changed, cut short, or no archive of ours
        return VerifyResult(False, [str(error)], archive.name, header.kind)
    problems = list(scanned.problems)
    if header.sha256 and header.sha256 != scanned.sha256:
        problems.append(N_('{name} differs from the checksum written when it was made', name=archive.name))
    manifest = scanned.manifest
    return VerifyResult(
        not problems,
        problems,
        archive.name,
        str(manifest.get('kind') or header.kind),
        int(manifest.get('rows') or 0),
        int(manifest.get('files') or 0),
        scanned.size,
        scanned.sha256,
    )


def drill(archive: Path, identity: sealed.Identity, scratch_dir: Path) -> DrillResult:
    """Restore the chain into a scratch folder and database, compare rows and files, check the trail, clean up.

    Raises sealed.WrongKey when the passphrase or key does not open an archive of the chain."""
    try:
        return backup_restore.drill(archive, identity, scratch_dir)
    except sealed.WrongKey:
        raise
    except InvalidInput as error:  # changed, cut short, a broken chain, or no archive of ours
        return DrillResult(False, [str(error)])


def check_stored(archive: Path, sha256: str) -> bool:
    """True when the archive's bytes are still those written (no key needed)."""
    try:
        return sha256_of(archive) == sha256
    except OSError:
        return False


def restore(
    archive: Path, data_dir: Path, *, by: Actor, identity: sealed.Identity, force: bool = False
) -> RestoreResult:
    """Put the chain ending at `archive` back: its rows into the database, its files byte for byte into data_dir.

    Refuses a database that already holds rows unless forced, and an archive or chain that does not check out.
    """
    require(by, Permission.MANAGE_SETTINGS)
    if not archive.is_file():
        raise InvalidInput('No backup archive at {path}', path=str(archive))
    restored = backup_restore.restore(archive, data_dir, identity, force=force)
    audit.forget_key()  # the archive's audit key is this installation's key now
    try:
        at_rest.reload()  # a running server reads the restored files with the restored (wrapped) data key
    except InvalidInput as problem:
        log.warning('the restored files kept encrypted at rest cannot be read yet: %s', problem)
    detail = {'archives': restored.archives, 'rows': restored.rows, 'files': restored.files}
    audit.record_alone(by, 'backup.restore', object_type='backup', object_id=archive.name, detail=detail)
    log.info(
        'restored %s (%d archives): %d rows, %d files',
        archive.name,
        len(restored.archives),
        restored.rows,
        restored.files,
    )
    if restored.at_rest_files:
        log.warning('%d restored files are encrypted at rest: the at-rest key file is needed', restored.at_rest_files)
    return RestoreResult(archive, restored.archives, restored.rows, restored.files, restored.at_rest_files)


def archives(target_dir: Path) -> list[ArchiveInfo]:
    """The archives in a folder, oldest first, as their plain headers describe them (no key needed)."""
    if not target_dir.is_dir():
        return []
    found = [read_header(path) for path in target_dir.glob(f'clinicpacs-*{SUFFIX}') if is_archive_name(path.name)]
    return sorted(found, key=lambda info: (info.created_at, info.name))


def chain(archive: Path) -> list[Path]:
    """The archives a restore of `archive` reads: its full first, then each incremental up to `archive`."""
    links, current, seen = [archive], read_header(archive), {archive.name}
    while current.kind == 'incremental':
        if not current.parent or not is_archive_name(current.parent):
            raise BrokenChain('The header of {name} does not name its parent', name=current.name)
        parent = archive.with_name(current.parent)
        if parent.name in seen or not parent.is_file():
            raise BrokenChain(
                'The chain of {name} is incomplete: {parent} is missing from {folder}',
                name=archive.name,
                parent=parent.name,
                folder=str(archive.parent),
            )
        links.append(parent)
        seen.add(parent.name)
        current = read_header(parent)
    return list(reversed(links))


def prune(target_dir: Path, keep_full: int) -> list[Path]:
    """Delete whole old chains beyond the newest `keep_full` fulls; never the newest verified chain. Returns them."""
    listed = archives(target_dir)
    by_name = {info.name: info for info in listed}
    root_of = {info.name: _root(info, by_name) for info in listed}
    fulls = [info.name for info in listed if info.kind == 'full']
    kept = set(fulls[-keep_full:]) if keep_full > 0 else set()
    verified = [info for info in listed if info.verified_at]
    if verified:
        kept.add(root_of[verified[-1].name])
    if listed:
        kept.add(root_of[listed[-1].name])  # the newest chain, even while its newest archive is being checked
    deleted = []
    for info in listed:
        root = root_of[info.name]
        if root in kept or root not in fulls:  # an incremental whose full is gone already is not ours to judge
            continue
        for path in (info.path, header_path(info.path)):
            path.unlink(missing_ok=True)
        deleted.append(info.path)
    if deleted:
        log.info('pruned %d old archives from %s', len(deleted), target_dir)
    return deleted


def _root(info: ArchiveInfo, by_name: dict[str, ArchiveInfo]) -> str:
    """The full archive a chain starts from (the first missing name for an incremental whose parent is gone)."""
    current, seen = info, set()
    while current.kind == 'incremental' and current.parent and current.name not in seen:
        seen.add(current.name)
        parent = by_name.get(current.parent)
        if parent is None:
            return current.parent
        current = parent
    return current.name
