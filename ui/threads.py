"""The web process's threads for blocking work, sized for the machine, and kept apart for password checks.

Screens and routes wait on the database and on files in `io()`'s pool. Password checks (argon2: tens of ms of
CPU and 64 MiB each) run in a small pool of their own, `checking()`, so that a storm of wrong logins queues there
and never takes the threads pages need. A call whose caller went away (browser gone, server stopping) raises
CancelledError in the caller; the thread finishes its work unobserved.
"""

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec('P')
R = TypeVar('R')

IO_THREADS = min(32, 8 * (os.cpu_count() or 2))  # mostly waiting on the database: more than the cores
CHECK_THREADS = max(2, (os.cpu_count() or 2) // 2)  # argon2 is CPU and memory: at most half the cores

_io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix='web-io')
_checks = ThreadPoolExecutor(max_workers=CHECK_THREADS, thread_name_prefix='sign-in')


async def io(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking service call off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_io, partial(function, *args, **kwargs))


async def checking(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a call that checks a password or a code, in the pool of its own."""
    return await asyncio.get_running_loop().run_in_executor(_checks, partial(function, *args, **kwargs))


def shutdown() -> None:
    """Drop queued work at server stop (running calls end on their own)."""
    _io.shutdown(wait=False, cancel_futures=True)
    _checks.shutdown(wait=False, cancel_futures=True)
