"""Backups as database jobs: a full or incremental archive into the policy's folder, and the weekly drill.

run_backup writes a sealed archive (domain.backup reads it back before it returns), records it on its run, then
keeps the newest N full chains. run_drill restores the newest chain into a scratch directory and compares it, when
this process has PACS_BACKUP_PASSPHRASE; with a public key only the server cannot open its own backups, so it re-reads
every archive of the newest chain against the SHA-256 recorded when it was written (a "check") and says that a full
drill needs the private key. What retrying cannot fix (no recipient, a wrong key, a changed archive, a failed drill)
fails at once and waits with its error and Retry on the Jobs and Backups screens; a disk error is retried first.
"""

import logging
import shutil
from datetime import datetime
from pathlib import Path

from domain import backup, backup_runs, backup_schedule
from domain.access import system
from domain.backup_schedule import BACKUP_JOB, DRILL_JOB
from domain.errors import N_, DomainError, InvalidInput

from .runner import job_actor

log = logging.getLogger(__name__)

SYSTEM = system('backup')


class DrillFailed(Exception):
    """A drill or check found problems; trying again finds the same ones."""


@job_actor(BACKUP_JOB, queue='backup', max_retries=2, throws=(DomainError,))
def run_backup(run_id: int) -> None:
    """Write the run's archive (full, or incremental on the newest chain) and keep the newest N full chains."""
    plan = backup_runs.begin(run_id)
    if plan is None:
        return
    try:
        result = backup.create(
            backup_schedule.data_dir(), by=SYSTEM, target_dir=plan.target, kind=plan.kind, recipient=plan.recipient
        )
        backup_runs.backed_up(
            run_id,
            kind=result.kind,
            archive=result.path.name,
            parent=result.parent or '',
            size_bytes=result.bytes,
            files=result.files,
            rows=result.rows,
            sha256=result.sha256,
            verified_at=datetime.fromisoformat(result.verified_at) if result.verified_at else None,
        )
    except Exception as error:
        backup_runs.attempt_failed(run_id, f'{type(error).__name__}: {error}')
        raise
    try:
        backup.prune(plan.target, plan.keep_full)
    except (OSError, DomainError) as error:  # the new archive is safe; older ones stay until the next backup
        log.warning('backup run %s: older archives in %s not removed: %s', run_id, plan.target, error)


@job_actor(DRILL_JOB, queue='backup', max_retries=2, throws=(DomainError, DrillFailed))
def run_drill(run_id: int) -> None:
    """The weekly drill (restore the newest chain into a scratch directory and compare) or stored-archive check."""
    plan = backup_runs.begin(run_id)
    if plan is None:
        return
    try:
        chain = _newest_chain(plan.target)
        if plan.kind == 'drill':
            outcome, ok = _drill(chain[-1], run_id)
        else:
            outcome, ok = _check(chain)
        backup_runs.drilled(run_id, by=SYSTEM, archive=chain[-1].name, outcome=outcome, verified=ok)
        if not ok:
            raise DrillFailed(outcome)
    except Exception as error:
        backup_runs.attempt_failed(run_id, f'{type(error).__name__}: {error}')
        raise


def _newest_chain(target: Path) -> list[Path]:
    found = backup.archives(target)
    if not found:
        raise InvalidInput('No backup archive in {target} to check', target=str(target))
    newest = max(found, key=lambda info: (info.created_at, info.name))
    return list(backup.chain(newest.path))


def _drill(archive: Path, run_id: int) -> tuple[str, bool]:
    identity = backup_schedule.passphrase()
    if identity is None:
        raise InvalidInput('A restore drill here needs PACS_BACKUP_PASSPHRASE in the environment')
    scratch = backup_schedule.data_dir() / 'tmp' / f'drill-{run_id}'
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True, mode=0o700)
    try:
        result = backup.drill(archive, identity, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.ok:
        restored = N_(
            '{count} archives up to {archive} restored into a scratch directory: {rows} rows, {files} files and '
            'the audit trail check out',
            count=len(result.archives),
            archive=archive.name,
            rows=result.rows,
            files=result.files,
        )
        return restored, True
    return '; '.join(result.problems) or N_('The restore drill found problems'), False


def _check(chain: list[Path]) -> tuple[str, bool]:
    recorded = backup_runs.recorded_sha256([path.name for path in chain])
    headers = {info.name: info.sha256 for info in backup.archives(chain[-1].parent)}
    problems = []
    for path in chain:
        expected = recorded.get(path.name) or headers.get(path.name, '')
        if not expected:
            problems.append(N_('{archive} has no recorded checksum', archive=path.name))
        elif not backup.check_stored(path, expected):
            problems.append(N_('{archive} differs from what was written', archive=path.name))
    if problems:
        return '; '.join(problems), False
    return N_(
        '{count} archives of the newest chain re-read: they match the checksums recorded when written. A full '
        'restore drill needs the private key: main.py backup drill ARCHIVE --key FILE',
        count=len(chain),
    ), True
