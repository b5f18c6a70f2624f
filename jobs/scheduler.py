"""The scheduler: a daemon thread in each process that runs jobs, starting what the backup schedule asks for.

Every ~30 s it asks domain.backup_runs to start the due run (a BackupRun and its job in one transaction; the run's
unique slot means several worker processes ticking at once start it once), and once an hour it purges the trash
items kept past their time (domain.trash). main.py starts it where jobs run: the embedded
`serve`, or each `main.py worker` in the scaled mode (never a web process with PACS_REDIS_URL set).
"""

import logging
import threading
import time

from domain import backup_runs, trash
from domain.access import system

log = logging.getLogger(__name__)

INTERVAL_S = 30.0
PURGE_EVERY_S = 3600.0
SYSTEM = system('scheduler')


class Scheduler:
    """A stoppable thread calling tick() every `interval` seconds (at once when started)."""

    def __init__(self, interval: float = INTERVAL_S) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged_at: float | None = None  # monotonic time of the last trash purge

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name='scheduler', daemon=True)
        self._thread.start()
        log.info('scheduler started: backups every %.0f s checked, trash purged hourly', self.interval)

    def stop(self) -> None:
        """Stop the thread and wait for a tick in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def tick(self) -> list[int]:
        """Start what is due now; returns the ids of the backup runs started."""
        started = backup_runs.start_due(by=SYSTEM)
        now = time.monotonic()
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = now
            trash.purge_expired(by=SYSTEM)  # it logs what it purged
        return started

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the database may be down for a moment: the next tick tries again
                log.warning('scheduler tick failed', exc_info=True)
            self._stop.wait(self.interval)


_running: list[Scheduler] = []


def start(interval: float = INTERVAL_S) -> Scheduler:
    """Start this process's scheduler (main.py, where jobs run)."""
    scheduler = Scheduler(interval)
    scheduler.start()
    _running.append(scheduler)
    return scheduler


def stop() -> None:
    """Stop every scheduler started here."""
    while _running:
        _running.pop().stop()
