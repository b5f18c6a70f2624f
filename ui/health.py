"""GET /health: JSON for monitors and other programs, without login; 200 healthy, 503 not."""

import shutil
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import JSONResponse
from nicegui import Client, app, run

from domain import backup_runs, db, studies, viewing, work
from domain.settings import Settings

DEFAULT_MIN_FREE_DISK_MB: int = Settings.model_fields['min_free_disk_mb'].default

# A probe answers True (ok), False (down) or (state, reason) for a part that runs but is not well, such as the
# DICOM listener's ('saturated', 'refusing connections: …'). None: that part does not run in this process.
Check = Callable[[], bool | tuple[str, str]] | None


def register(data_dir: Path, checks: dict[str, Check], *, min_free_disk_mb: int = DEFAULT_MIN_FREE_DISK_MB) -> None:
    """Serve /health; `checks` are the broker and DICOM listener probes main.py wires in.

    Free disk below `min_free_disk_mb` (PACS_MIN_FREE_DISK_MB, the same limit at which C-STORE refuses) is degraded.
    """

    @app.get('/health', include_in_schema=False)
    async def health() -> JSONResponse:
        report = await run.io_bound(_report, data_dir, checks, min_free_disk_mb=min_free_disk_mb)
        if report is None:  # the server is stopping
            return JSONResponse({'status': 'degraded', 'reason': 'stopping'}, status_code=503)
        return JSONResponse(report, status_code=200 if report['status'] == 'ok' else 503)


def _report(data_dir: Path, checks: dict[str, Check], *, min_free_disk_mb: int = DEFAULT_MIN_FREE_DISK_MB) -> dict:
    database = db.ping()
    probes = {name: _state(check()) for name, check in checks.items() if check is not None}
    free = shutil.disk_usage(data_dir if data_dir.exists() else Path('.')).free
    reasons = [] if database else ['database down']
    reasons += [f'{name} {state}{": " + why if why else ""}' for name, (state, why) in probes.items() if state != 'ok']
    if free < min_free_disk_mb * 1024 * 1024:
        reasons.append(f'free disk below {min_free_disk_mb} MB')
    report: dict = {
        'status': 'degraded' if reasons else 'ok',
        'database': 'ok' if database else 'down',
        **{name: 'off' for name, check in checks.items() if check is None},
        **{name: state for name, (state, _why) in probes.items()},
        'queue_depth': work.queue_depth() if database else None,
        'pending_instances': studies.pending_instances() if database else None,
        'missing_files': viewing.missing_files() if database else None,  # indexed images whose file is gone
        'free_disk_bytes': free,
        'min_free_disk_bytes': min_free_disk_mb * 1024 * 1024,
        'ui_clients': len(Client.instances),  # pages held for browsers; a tab that left is dropped after its timeout
    }
    if database:
        report.update(_backup())
    if reasons:
        report['reason'] = '; '.join(reasons)
    return report


def _backup() -> dict:
    """The last verified backup's age; amber, red or off is a warning, never a 503 by itself (the server serves)."""
    shown = backup_runs.status()
    backup = {
        'state': shown.state,
        'age_seconds': shown.age_seconds,
        'last_verified_at': shown.last_verified_at.isoformat() if shown.last_verified_at else None,
    }
    if shown.public_reason:
        backup['reason'] = str(shown.public_reason)
    return {'backup': backup, 'warnings': [] if shown.state == 'ok' else ['backup']}


def _state(answer: bool | tuple[str, str]) -> tuple[str, str]:
    if isinstance(answer, tuple):
        return answer
    return ('ok', '') if answer else ('down', '')
