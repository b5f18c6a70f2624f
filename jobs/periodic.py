"""A stoppable periodic daemon thread: the heartbeat, the scheduler and the scheduler's sweeper each run on one.

The work runs at once when the thread starts, then every `interval` seconds until stop(). Work that raises is
logged once per outage (without a traceback when PostgreSQL or Redis is unreachable: runner.dependency_down), the
next round tries again, and the first round that works again is logged too.
"""

import logging
import threading
from collections.abc import Callable

from . import runner

FAILED = '%(name)s failed (%(error)s); trying again in %(interval).0f s'
RECOVERED = '%(name)s works again'


class Periodic:
    """A daemon thread calling guarded_tick() every `interval` seconds (at once when started).

    `failed` and `recovered` are the log messages, formatted with %(name)s, %(error)s (the exception's type name)
    and %(interval)s; they go to `log`, the logger of the module that owns the thread.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        work: Callable[[], object],
        *,
        log: logging.Logger,
        failed: str = FAILED,
        recovered: str = RECOVERED,
        stop_wait_s: float = 30.0,
    ) -> None:
        self.name, self.interval = name, interval
        self.failing = False  # the last round raised (logged once per outage)
        self._work, self._log = work, log
        self._failed, self._recovered = failed, recovered
        self._stop_wait_s = stop_wait_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start the thread (once); False when it was started already."""
        if self._thread is not None:
            return False
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop the thread and wait (up to `stop_wait_s`) for a round in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._stop_wait_s)
            self._thread = None

    def guarded_tick(self) -> bool:
        """Do the work once now; False when it raised (logged at the first failure of an outage only)."""
        try:
            self._work()
        except Exception as error:  # the database may be down for a moment: the next round tries again
            if not self.failing:
                self.failing = True
                self._log.warning(
                    self._failed,
                    {'name': self.name, 'error': type(error).__name__, 'interval': self.interval},
                    exc_info=not runner.dependency_down(error),  # an outage needs no traceback
                )
            return False
        if self.failing:
            self.failing = False
            self._log.info(self._recovered, {'name': self.name, 'error': '', 'interval': self.interval})
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.guarded_tick()
            self._stop.wait(self.interval)
