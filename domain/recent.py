"""Answers remembered for a short while: the worklist's steps and encoded answers hold patient data, and keep it
only for minutes (the clinic's clock decides, so tests can move it).

`@remembered(lifetime, maxsize)` is `functools.lru_cache` with an expiry: an entry is used until `lifetime`
after it was made, never renewed by use, and forgotten at the next call after that, or by a sweep that runs on
its own once the oldest entry has expired, so an idle listener does not keep yesterday's patients in memory.
"""

import functools
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, ParamSpec, TypeVar

from . import clock

P = ParamSpec('P')
R = TypeVar('R')
LIFETIME = timedelta(minutes=5)  # how long patient data (the worklist's steps and answers) may be remembered
SWEEP_LATE_S = 1.0  # the sweep runs this long after the oldest entry expires


def remembered(lifetime: timedelta = LIFETIME, *, maxsize: int) -> 'Callable[[Callable[P, R]], Remembered[P, R]]':
    """Remember a function's results by its (positional, hashable) arguments for `lifetime`, at most `maxsize`."""

    def decorate(make: Callable[P, R]) -> 'Remembered[P, R]':
        return Remembered(make, lifetime, maxsize)

    return decorate


class Remembered(Generic[P, R]):
    """A function whose recent results are kept until they expire (see the module's docstring)."""

    def __init__(self, make: Callable[P, R], lifetime: timedelta, maxsize: int) -> None:
        self.make, self.lifetime, self.maxsize = make, lifetime, maxsize
        # Insertion order is expiry order: every entry lives equally long and a re-made one goes to the end.
        self._entries: dict[Hashable, tuple[datetime, R]] = {}
        self._lock = threading.Lock()
        self._sweep: threading.Timer | None = None
        functools.update_wrapper(self, make)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:
            raise TypeError('remembered functions take positional arguments only')
        now = clock.now()
        entry = self._entries.get(args)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = self.make(*args, **kwargs)
        with self._lock:
            self._forget_expired(now)
            self._entries.pop(args, None)
            self._entries[args] = (now + self.lifetime, value)
            while len(self._entries) > self.maxsize:
                del self._entries[next(iter(self._entries))]
            if self._sweep is None:
                self._schedule_sweep(self.lifetime.total_seconds())
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def forget_expired(self) -> None:
        """Drop every entry past its lifetime (the sweep calls this)."""
        with self._lock:
            self._forget_expired(clock.now())

    def forget_all(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def _forget_expired(self, now: datetime) -> None:
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest][0] > now:
                return
            del self._entries[oldest]

    def _swept(self) -> None:
        with self._lock:
            self._sweep = None
            now = clock.now()
            self._forget_expired(now)
            if self._entries:
                expires = next(iter(self._entries.values()))[0]
                self._schedule_sweep(max(0.0, (expires - now).total_seconds()))

    def _schedule_sweep(self, delay_s: float) -> None:
        self._sweep = threading.Timer(delay_s + SWEEP_LATE_S, self._swept)
        self._sweep.daemon = True
        self._sweep.name = 'forget-expired'
        self._sweep.start()
