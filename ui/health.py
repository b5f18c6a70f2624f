"""GET /health: JSON for monitors and other programs, without login; 200 healthy, 503 not."""

import shutil
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import JSONResponse
from nicegui import app, run

from domain import db, studies, viewing, work

MIN_FREE_BYTES = 100 * 1024 * 1024


Check = Callable[[], bool] | None  # None: that part does not run in this process


def register(data_dir: Path, checks: dict[str, Check]) -> None:
    """Serve /health; `checks` are the broker and DICOM listener probes main.py wires in."""

    @app.get('/health', include_in_schema=False)
    async def health() -> JSONResponse:
        report = await run.io_bound(_report, data_dir, checks)
        return JSONResponse(report, status_code=200 if report['status'] == 'ok' else 503)


def _report(data_dir: Path, checks: dict[str, Check]) -> dict:
    database = db.ping()
    probes = {name: bool(check()) for name, check in checks.items() if check is not None}
    free = shutil.disk_usage(data_dir if data_dir.exists() else Path('.')).free
    healthy = database and all(probes.values()) and free >= MIN_FREE_BYTES
    report: dict = {
        'status': 'ok' if healthy else 'degraded',
        'database': 'ok' if database else 'down',
        **{name: 'off' for name, check in checks.items() if check is None},
        **{name: 'ok' if up else 'down' for name, up in probes.items()},
        'queue_depth': work.queue_depth() if database else None,
        'pending_instances': studies.pending_instances() if database else None,
        'missing_files': viewing.missing_files() if database else None,  # indexed images whose file is gone
        'free_disk_bytes': free,
    }
    return report
