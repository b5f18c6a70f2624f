"""GET /health: JSON for monitors and other programs, without login; 200 healthy, 503 not."""

import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as NoAnswer
from pathlib import Path

from fastapi.responses import JSONResponse
from nicegui import Client, app, run

from domain import backup_runs, db, health_facts, studies, viewing, work
from domain.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MIN_FREE_DISK_MB: int = Settings.model_fields['min_free_disk_mb'].default

# A probe answers True (ok), False (down) or (state, reason) for a part that runs but is not well, such as the
# DICOM listener's ('saturated', 'refusing connections: …'). None: that part does not run in this process.
Check = Callable[[], bool | tuple[str, str]] | None
# A probe that has not answered by then is down: a Redis that accepts connections but answers nothing (stopped, its
# host unreachable) would otherwise hold /health until the monitor gives up. The probe still waiting is reused by the
# next poll rather than started again, so a hung broker holds one thread, not one per poll.
PROBE_TIMEOUT_S = 3.0
_probing: dict[Callable, Future] = {}
_probing_lock = threading.Lock()


def register(
    data_dir: Path,
    checks: dict[str, Check],
    *,
    min_free_disk_mb: int = DEFAULT_MIN_FREE_DISK_MB,
    scaled: bool = False,
) -> None:
    """Serve /health; `checks` are the broker and DICOM listener probes main.py wires in.

    Free disk below `min_free_disk_mb` (PACS_MIN_FREE_DISK_MB, the same limit at which C-STORE refuses) is degraded.
    `scaled`: jobs run in `worker` processes over Redis, so none alive is degraded even when nothing waits.
    """

    @app.get('/health', include_in_schema=False)
    async def health() -> JSONResponse:
        report = await run.io_bound(_report, data_dir, checks, min_free_disk_mb=min_free_disk_mb, scaled=scaled)
        if report is None:  # the server is stopping
            return JSONResponse({'status': 'degraded', 'reason': 'stopping'}, status_code=503)
        return JSONResponse(report, status_code=200 if report['status'] == 'ok' else 503)


def _report(
    data_dir: Path, checks: dict[str, Check], *, min_free_disk_mb: int = DEFAULT_MIN_FREE_DISK_MB, scaled: bool = False
) -> dict:
    (database, _why), database_ms = _probe(db.ping)  # a database that hangs is down after PROBE_TIMEOUT_S
    probes: dict[str, tuple[str, str]] = {}
    latencies: dict[str, float | None] = {}
    for name, check in checks.items():
        if check is not None:
            probes[name], latencies[name] = _probe(check)
    free = shutil.disk_usage(data_dir if data_dir.exists() else Path('.')).free
    reasons = [f'{name} {state}{": " + why if why else ""}' for name, (state, why) in probes.items() if state != 'ok']
    if free < min_free_disk_mb * 1024 * 1024:
        reasons.append(f'free disk below {min_free_disk_mb} MB')
    report: dict = {
        'status': 'degraded',
        'database': 'ok',
        **{name: 'off' for name, check in checks.items() if check is None},
        **{name: state for name, (state, _why) in probes.items()},
        'mode': 'scaled' if scaled else 'embedded',
        'database_latency_ms': database_ms,
        'broker_latency_ms': (latencies.get('broker') if scaled else 0) if 'broker' in probes else None,
        'free_disk_bytes': free,
        'min_free_disk_bytes': min_free_disk_mb * 1024 * 1024,
        'ui_clients': len(Client.instances),  # pages held for browsers; a tab that left is dropped after its timeout
    }
    stored = None
    if database == 'ok':
        try:
            stored = _stored(scaled=scaled)
        except Exception:  # it went away since it answered the ping
            log.warning('the database failed /health after answering its ping', exc_info=True)
    if stored is None:
        reasons.insert(0, 'database down')
        report.update(dict.fromkeys(('queue_depth', 'overdue_jobs', 'pending_instances', 'missing_files')))
        report.update(database='down', database_latency_ms=None)
    else:
        report.update(stored[0])
        reasons += stored[1]
    report['status'] = 'degraded' if reasons else 'ok'
    if reasons:
        report['reason'] = '; '.join(reasons)
    return report


def _stored(*, scaled: bool) -> tuple[dict, list[str]]:
    """What the database says: waiting work, live workers, stuck studies, missing files, backups; and what is wrong."""
    backlog = work.backlog()
    facts = health_facts.gather()
    limits = health_facts.limits()
    report = {
        'queue_depth': backlog.unfinished,
        'overdue_jobs': backlog.overdue,  # past their due time: no sweeper sent them again
        'pending_instances': studies.pending_instances(),
        'missing_files': viewing.missing_files(),  # indexed images whose file is gone
        'workers_alive': facts.workers_alive,
        'processes_alive': facts.processes_alive,
        'oldest_pending_seconds': facts.oldest_pending_seconds,
        'stuck_studies': facts.stuck_studies,
        'stuck': {'receiving': facts.stuck_receiving, 'processing': facts.stuck_processing},  # see limits
        'limits': limits,
        **_backup(),
    }
    reasons = []
    if not facts.workers_alive and (scaled or backlog.unfinished or report['pending_instances']):
        reasons.append(f'no job worker alive{f"; jobs waiting: {backlog.unfinished}" if backlog.unfinished else ""}')
    if facts.oldest_pending_seconds is not None and facts.oldest_pending_seconds > limits['pending_seconds']:
        reasons.append(
            f'oldest pending job waiting {facts.oldest_pending_seconds:.0f} s (limit {limits["pending_seconds"]} s)'
        )
    if facts.stuck_studies:
        counts = {'receiving': facts.stuck_receiving, 'processing': facts.stuck_processing}
        stuck = [f'{count} {state} over {limits[f"{state}_seconds"]} s' for state, count in counts.items() if count]
        reasons.append(f'stuck studies: {facts.stuck_studies} ({", ".join(stuck)})')
    return report, reasons


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


def _probe(check: Callable[[], bool | tuple[str, str]]) -> tuple[tuple[str, str], float | None]:
    """The probe's state and how long it took to answer (None unless ok), waiting at most PROBE_TIMEOUT_S."""
    with _probing_lock:
        answer = _probing.get(check)
        if answer is None or answer.done():
            for answered in [probe for probe, waiting in _probing.items() if waiting.done()]:
                del _probing[answered]
            answer = _probing[check] = _in_thread(check)
    try:
        state, milliseconds = answer.result(timeout=PROBE_TIMEOUT_S)
    except NoAnswer:
        return ('down', f'no answer within {PROBE_TIMEOUT_S:g} s'), None
    return state, milliseconds if state[0] == 'ok' else None


def _in_thread(check: Callable[[], bool | tuple[str, str]]) -> Future:
    answer: Future = Future()

    def run() -> None:
        started = time.perf_counter()
        try:
            answer.set_result((_state(check()), _ms_since(started)))
        except Exception as error:  # raised again to /health's caller, as before the probe had a thread
            answer.set_exception(error)

    threading.Thread(target=run, name='health-probe', daemon=True).start()
    return answer


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _state(answer: bool | tuple[str, str]) -> tuple[str, str]:
    if isinstance(answer, tuple):
        return answer
    return ('ok', '') if answer else ('down', '')
