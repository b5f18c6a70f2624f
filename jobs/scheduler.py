"""The scheduler: daemon threads in each process that runs jobs, starting what the backup schedule asks for.

Every ~30 s it asks domain.backup_runs to start the due run (a BackupRun and its job in one transaction; the run's
unique slot means several worker processes ticking at once start it once), and once an hour it purges the trash
items kept past their time (domain.trash) and the association log's old rows (domain.associations). Every few
seconds a second thread runs the sweeper (jobs/sweeper.py), which renews the leases of the jobs running here and
sends again the work the database says is owed; a long purge never delays it. Both are jobs/periodic.py threads.
main.py starts it where jobs run: the embedded `serve`, or each `main.py worker` in the scaled mode (never a web
process with PACS_REDIS_URL set).
"""

import logging
import time

from domain import associations, backup_runs, trash
from domain.access import system

from .periodic import Periodic
from .sweeper import SWEEP_EVERY_S, Sweeper

log = logging.getLogger(__name__)

INTERVAL_S = 30.0
PURGE_EVERY_S = 3600.0
SYSTEM = system('scheduler')


class Scheduler(Periodic):
    """A stoppable thread calling tick() every `interval` seconds, beside one calling the sweeper every
    `sweep_every` seconds (both at once when started)."""

    def __init__(self, interval: float = INTERVAL_S, sweep_every: float = SWEEP_EVERY_S) -> None:
        super().__init__(
            'scheduler',
            interval,
            self.tick,
            log=log,
            failed='scheduler tick failed (%(error)s); trying again in %(interval).0f s',
            recovered='scheduler ticks again',
            stop_wait_s=60.0,
        )
        self.sweep_every = sweep_every
        self.sweeper = Sweeper()
        # its own thread, so a long purge never holds up the sweeper's lease renewals; sweep() never raises
        self._sweeping = Periodic('sweeper', sweep_every, self.sweeper.sweep, log=log, stop_wait_s=60.0)
        self._purged_at: float | None = None  # monotonic time of the last trash purge

    def start(self) -> bool:
        """Start the threads (once)."""
        if started := super().start():
            self._sweeping.start()
            log.info(
                'scheduler started: backups checked every %.0f s, overdue work every %.0f s, trash purged hourly',
                self.interval,
                self.sweep_every,
            )
        return started

    def stop(self) -> None:
        """Stop the threads and wait for a tick or a sweep in progress to end."""
        super().stop()
        self._sweeping.stop()

    def tick(self) -> list[int]:
        """Start what is due now; returns the ids of the backup runs started."""
        started = backup_runs.start_due(by=SYSTEM)
        now = time.monotonic()
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = now
            trash.purge_expired(by=SYSTEM)  # it logs what it purged
            associations.prune(by=SYSTEM)  # the association log: a month, a few hundred per AE title
        return started


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
