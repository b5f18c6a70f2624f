"""The web process's garbage collector, tuned for NiceGUI's element trees.

Every page builds a tree of elements full of reference cycles that lives as long as its browser tab (and
`reconnect_timeout` after), so it reaches the oldest generation before it becomes garbage. With Python's default
thresholds that generation was collected every 3-4 s under ten busy sessions, each time walking the whole heap:
pauses of 200-400 ms in which no page, socket message or /health was answered (bench/security.py). Here the
objects of start-up (modules, DICOM dictionaries, catalogues: about 200,000) are moved out of the collector's
sight with `gc.freeze()`, and young generations are collected less often, so full collections are rarer.
"""

import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

THRESHOLDS = (20_000, 10, 10)  # allocations before a young collection; young collections per older one
SLOW_PAUSE_S = 0.2  # a full collection longer than this is logged: nothing was answered meanwhile
_started: list[float] = []


def tune() -> None:
    """Freeze what start-up built and raise the young generation's threshold (call once the server is up)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    if _watch not in gc.callbacks:
        gc.callbacks.append(_watch)
    log.debug('garbage collector: %d start-up objects frozen, thresholds %s', gc.get_freeze_count(), THRESHOLDS)


def _watch(phase: str, info: dict[str, Any]) -> None:
    """Log the full collections that held the process up for long (the event loop answered nothing meanwhile)."""
    if info.get('generation') != 2:
        return
    if phase == 'start':
        _started[:] = [time.perf_counter()]
    elif _started:
        paused = time.perf_counter() - _started.pop()
        if paused >= SLOW_PAUSE_S:
            log.info(
                'garbage collection paused the web process %.0f ms (%d objects freed)',
                paused * 1000,
                info.get('collected', 0),
            )
