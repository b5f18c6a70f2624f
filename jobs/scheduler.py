"""The scheduler: a daemon thread in each process that runs jobs, starting what the backup schedule asks for.

Every ~30 s it asks domain.backup_runs to start the due run (a BackupRun and its job in one transaction; the run's
unique slot means several worker processes ticking at once start it once), and once an hour it purges the trash
items kept past their time (domain.trash) and the association log's old rows (domain.associations). Every few
seconds it runs the sweeper (jobs/sweeper.py), which sends again the work the database says is owed. main.py starts
it where jobs run: the embedded `serve`, or each `main.py worker` in the scaled mode (never a web process with
PACS_REDIS_URL set).
"""

import logging
import threading
import time

from domain import associations, backup_runs, trash
from domain.access import system

from . import runner
from .sweeper import SWEEP_EVERY_S, Sweeper

log = logging.getLogger(__name__)

INTERVAL_S = 30.0
PURGE_EVERY_S = 3600.0
SYSTEM = system('scheduler')


class Scheduler:
    """A stoppable thread calling tick() every `interval` seconds and the sweeper every `sweep_every` seconds
    (both at once when started)."""

    def __init__(self, interval: float = INTERVAL_S, sweep_every: float = SWEEP_EVERY_S) -> None:
        self.interval, self.sweep_every = interval, sweep_every
        self.sweeper = Sweeper()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged_at: float | None = None  # monotonic time of the last trash purge
        self._tick_failing = False  # one warning per outage

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name='scheduler', daemon=True)
        self._thread.start()
        log.info(
            'scheduler started: backups checked every %.0f s, overdue work every %.0f s, trash purged hourly',
            self.interval,
            self.sweep_every,
        )

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
            associations.prune(by=SYSTEM)  # the association log: a month, a few hundred per AE title
        return started

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.interval
                self._guarded_tick()
            self.sweeper.sweep()  # never raises
            self._stop.wait(max(0.0, min(self.sweep_every, next_tick - time.monotonic())))

    def _guarded_tick(self) -> None:
        try:
            self.tick()
        except Exception as error:  # the database may be down for a moment: the next tick tries again
            if not self._tick_failing:
                self._tick_failing = True
                log.warning(
                    'scheduler tick failed (%s); trying again in %.0f s',
                    type(error).__name__,
                    self.interval,
                    exc_info=not runner.dependency_down(error),  # an outage needs no traceback
                )
            return
        if self._tick_failing:
            self._tick_failing = False
            log.info('scheduler ticks again')


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
