"""The heartbeat: a daemon thread in every serve, worker and scp process writing its row every ~10 s.

/health counts the live processes that run jobs (domain.heartbeats). The database may be down for a while: a
failed beat is logged once and the next tick tries again, so the process is counted again as soon as it is back.
Stopping cleanly removes the row, so a worker that was shut down is not counted for the next 30 s.
"""

import logging
import os
import socket
import threading
import uuid

from domain import heartbeats

log = logging.getLogger(__name__)

PRUNE_EVERY = 360  # beats between deleting the rows of long-dead processes (an hour)


class Heartbeat:
    """A stoppable thread calling beat() every `interval` seconds (at once when started)."""

    def __init__(self, role: str, *, jobs: bool, interval: float = heartbeats.BEAT_SECONDS) -> None:
        self.role, self.jobs, self.interval = role, jobs, interval
        self.process_id = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.failing = False  # the last beat failed (logged once per outage)
        self._beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name='heartbeat', daemon=True)
        self._thread.start()
        log.info('heartbeat of %s %s (pid %s) every %.0f s', self.role, self.process_id, self.pid, self.interval)

    def stop(self) -> None:
        """Stop the thread and remove this process's row (best effort: the database may be gone)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            heartbeats.leave(self.process_id)
        except Exception:  # a row left behind stops counting after heartbeats.ALIVE_SECONDS
            log.warning('could not remove the heartbeat of %s', self.process_id, exc_info=True)

    def beat(self) -> bool:
        """Write this process's row now; False (logged at the first failure only) when the database is not there."""
        try:
            heartbeats.beat(self.process_id, role=self.role, host=self.host, pid=self.pid, jobs=self.jobs)
            if self._beats % PRUNE_EVERY == 0:
                heartbeats.prune()
        except Exception:
            if not self.failing:
                log.warning('heartbeat failed; trying again every %.0f s', self.interval, exc_info=True)
            self.failing = True
            return False
        if self.failing:
            log.info('heartbeat written again')
        self.failing = False
        self._beats += 1
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.interval)


_running: list[Heartbeat] = []


def start(role: str, *, jobs: bool, interval: float = heartbeats.BEAT_SECONDS) -> Heartbeat:
    """Start this process's heartbeat (main.py: serve, worker, scp); `jobs` says whether job workers run here."""
    heartbeat = Heartbeat(role, jobs=jobs, interval=interval)
    heartbeat.start()
    _running.append(heartbeat)
    return heartbeat


def stop() -> None:
    """Stop every heartbeat started here."""
    while _running:
        _running.pop().stop()
