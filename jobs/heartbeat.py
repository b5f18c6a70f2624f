"""The heartbeat: a daemon thread in every serve, worker and scp process writing its row every ~10 s.

/health counts the live processes that run jobs (domain.heartbeats). The database may be down for a while: a
failed beat is logged once and the next tick tries again, so the process is counted again as soon as it is back.
Stopping cleanly removes the row, so a worker that was shut down is not counted for the next 30 s.
"""

import logging
import os
import socket
import uuid

from domain import heartbeats

from .periodic import Periodic

log = logging.getLogger(__name__)

PRUNE_EVERY = 360  # beats between deleting the rows of long-dead processes (an hour)


class Heartbeat(Periodic):
    """A stoppable thread calling beat() every `interval` seconds (at once when started)."""

    def __init__(self, role: str, *, jobs: bool, interval: float = heartbeats.BEAT_SECONDS) -> None:
        super().__init__(
            'heartbeat',
            interval,
            self._write,
            log=log,
            failed='heartbeat failed; trying again every %(interval).0f s',
            recovered='heartbeat written again',
        )
        self.role, self.jobs = role, jobs
        self.process_id = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname(), os.getpid()
        self._beats = 0

    def start(self) -> bool:
        """Start the thread (once)."""
        if started := super().start():
            log.info('heartbeat of %s %s (pid %s) every %.0f s', self.role, self.process_id, self.pid, self.interval)
        return started

    def stop(self) -> None:
        """Stop the thread and remove this process's row (best effort: the database may be gone)."""
        super().stop()
        try:
            heartbeats.leave(self.process_id)
        except Exception:  # a row left behind stops counting after heartbeats.ALIVE_SECONDS
            log.warning('could not remove the heartbeat of %s', self.process_id, exc_info=True)

    def beat(self) -> bool:
        """Write this process's row now; False (logged at the first failure only) when the database is not there."""
        return self.guarded_tick()

    def _write(self) -> None:
        heartbeats.beat(self.process_id, role=self.role, host=self.host, pid=self.pid, jobs=self.jobs)
        if self._beats % PRUNE_EVERY == 0:
            heartbeats.prune()
        self._beats += 1


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
