"""Several web processes: `main.py serve` with PACS_WEB_PROCESSES=N > 1 supervises N `serve` processes.

Web process i (1..N) listens on PACS_HTTP_PORT + i; a reverse proxy with sticky sessions (deploy/haproxy.cfg)
listens on PACS_HTTP_PORT and sends each browser to one of them, its page and its socket.io connection alike. What
they share lives outside them: sessions in the database, live events on Redis pub/sub (jobs/relay.py), files in
PACS_DATA_DIR. They run no jobs (`main.py worker` does, so Redis is required) and no DICOM listener: the supervisor
starts one `main.py scp` process for that unless PACS_DICOM_LISTENER is false. A process that exits is started
again, waiting longer each time it fails quickly; one that exits with code 2 (a setting it cannot use) stops them
all. SIGTERM or SIGINT stops every process, and a process whose supervisor dies gets SIGTERM from the kernel.

Only the standard library here: the supervisor itself never loads the web stack.
"""

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.settings import Settings, SettingsError

log = logging.getLogger(__name__)

FIRST_RETRY_S = 1.0
LAST_RETRY_S = 30.0
STEADY_S = 60.0  # a process that ran this long before exiting is started again at once
STOP_S = 20.0  # how long the processes get to finish after SIGTERM before they are killed
LOOK_S = 0.5  # how often the supervisor looks at its processes
SETTINGS_ERROR = 2  # main.py's exit code for a setting the process cannot use: starting again will not help


@dataclass
class Managed:
    """One supervised process: what it runs, and its current state."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    retry_s: float = FIRST_RETRY_S
    start_at: float = 0.0


def check(settings: Settings) -> None:
    """Refuse settings several web processes cannot run with (one line naming the variable)."""
    count = settings.web_processes
    if not settings.redis_url:
        raise SettingsError(
            f'PACS_WEB_PROCESSES={count} needs PACS_REDIS_URL: live events travel between the web processes over '
            'Redis, and jobs run in `main.py worker` processes, never in a web process'
        )
    if settings.tls_enabled:
        raise SettingsError(
            f'PACS_WEB_PROCESSES={count}: HTTPS ends at the proxy in front (deploy/README.md); unset PACS_TLS, '
            'PACS_TLS_CERT and PACS_TLS_KEY for `serve` (a separate `main.py scp` keeps DICOM TLS)'
        )
    if settings.http_port + count > 65535:
        raise SettingsError(f'PACS_HTTP_PORT: the web processes listen on PACS_HTTP_PORT+1..+{count}, past 65535')


def ports(settings: Settings) -> list[int]:
    """The ports of the web processes: PACS_HTTP_PORT+1 .. PACS_HTTP_PORT+N (the proxy takes PACS_HTTP_PORT)."""
    return [settings.http_port + i for i in range(1, settings.web_processes + 1)]


def plan(settings: Settings, main: Sequence[str], *, verbose: bool = False) -> list[Managed]:
    """The processes to run: `main` (interpreter and main.py) as N web processes and, if wanted, the listener."""
    flags = ['--verbose'] if verbose else []
    base = {**os.environ}
    web = {'PACS_WEB_PROCESSES': '1', 'PACS_DICOM_LISTENER': 'false'}
    managed = [
        Managed(f'web{i}', [*main, *flags, 'serve'], {**base, **web, 'PACS_HTTP_PORT': str(port)})
        for i, port in enumerate(ports(settings), start=1)
    ]
    if settings.dicom_listener:
        managed.append(Managed('scp', [*main, *flags, 'scp'], base))
    return managed


def supervise(settings: Settings, main: Sequence[str], *, verbose: bool = False) -> int:
    """Run the web processes (and the listener) until SIGTERM or SIGINT; returns the exit code."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    managed = plan(settings, main, verbose=verbose)
    log.info(
        'supervising %d web processes on %s:%s (the proxy listens on port %s)%s',
        settings.web_processes,
        settings.http_host,
        ','.join(str(port) for port in ports(settings)),
        settings.http_port,
        ' and the DICOM listener' if settings.dicom_listener else '',
    )
    code = 0
    try:
        while not stop.is_set():
            for entry in managed:
                if _look_after(entry) == SETTINGS_ERROR:
                    log.error('%s cannot start with these settings (exit code 2); stopping', entry.name)
                    stop.set()
                    code = SETTINGS_ERROR
                    break
            stop.wait(LOOK_S)
    finally:
        _stop_all(managed)
    log.info('all web processes stopped')
    return code


def _look_after(entry: Managed) -> int | None:
    """Start a process that is due; note one that exited. Returns the exit code of one that just exited."""
    now = time.monotonic()
    if entry.process is None:
        if now >= entry.start_at:
            _start(entry, now)
        return None
    exited = entry.process.poll()
    if exited is None:
        return None
    ran = now - entry.started
    entry.retry_s = FIRST_RETRY_S if ran >= STEADY_S else min(entry.retry_s * 2, LAST_RETRY_S)
    delay = 0.0 if ran >= STEADY_S else entry.retry_s
    entry.start_at = now + delay
    log.warning(
        '%s (pid %s) exited with code %s after %.0f s; starting it again in %.0f s',
        entry.name,
        entry.process.pid,
        exited,
        ran,
        delay,
    )
    entry.process = None
    return exited


def _start(entry: Managed, now: float) -> None:
    # NOTE: preexec_fn runs between fork and exec; _dies_with_parent's step calls only a function resolved before
    # the fork and getppid, taking no lock another thread (the audit checkpoint timer) could hold.
    arm = _dies_with_parent(os.getpid())
    entry.process = subprocess.Popen(entry.argv, env=entry.env, preexec_fn=arm)  # noqa: PLW1509
    entry.started = now
    port = entry.env.get('PACS_HTTP_PORT', '')
    log.info('%s started (pid %s%s)', entry.name, entry.process.pid, f', port {port}' if entry.name != 'scp' else '')


def _stop_all(managed: list[Managed]) -> None:
    """SIGTERM to each running process, then SIGKILL to any still running after STOP_S."""
    running = [entry.process for entry in managed if entry.process is not None and entry.process.poll() is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
    deadline = time.monotonic() + STOP_S
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning('pid %s did not stop within %.0f s; killed', process.pid, STOP_S)
            process.kill()
            process.wait()


def _dies_with_parent(parent: int) -> Callable[[], None] | None:
    """A pre-exec step that has the kernel send SIGTERM to the child when the supervisor dies (Linux only)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: nothing to load in the child
    except (OSError, AttributeError):
        return None
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG, linux/prctl.h

    def arm() -> None:
        prctl(set_parent_death_signal, int(signal.SIGTERM))
        if os.getppid() != parent:  # the supervisor died before the signal was armed
            os._exit(1)

    return arm
