"""Keep every core busy for `make test-stress`, so the suite proves it waits by condition on a loaded server.

One busy process per core. It stops by itself after --max-seconds, on SIGTERM or SIGINT, and as soon as the
process that started it (the make recipe) is gone, so an interrupted run never leaves a core spinning.
"""

import argparse
import multiprocessing
import os
import signal
import sys
import time
from types import FrameType

CHECK_EVERY_S = 0.5


def main() -> int:
    """Spin one process per core until told to stop, the starter is gone or the time is up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--max-seconds', type=float, default=3600.0, help='stop by itself after this long')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1, help='busy processes (default: cores)')
    arguments = parser.parse_args()
    end = time.monotonic() + arguments.max_seconds
    starter = os.getppid()
    stopped: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.append(signum)  # only a flag: the loop below notices it within CHECK_EVERY_S

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    workers = [
        multiprocessing.Process(target=_spin, args=(end, os.getpid()), daemon=True) for _ in range(arguments.workers)
    ]
    for worker in workers:
        worker.start()
    while not stopped and time.monotonic() < end and os.getppid() == starter:
        time.sleep(CHECK_EVERY_S)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(timeout=5)
    return 0


def _spin(end: float, burner: int) -> None:
    """Busy work until the time is up or the burner is gone (the burner terminates it otherwise)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the burner decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    next_check = 0.0
    while True:
        now = time.monotonic()
        if now >= next_check:
            if now >= end or os.getppid() != burner:
                return
            next_check = now + CHECK_EVERY_S
        sum(i * i for i in range(10_000))


if __name__ == '__main__':
    sys.exit(main())
