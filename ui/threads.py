"""The web process's threads for blocking work, sized for the machine, and kept apart for password checks.

Screens and routes wait on the database and on files in `io()`'s pool. Password checks (argon2: tens of ms of
CPU and 64 MiB each) run in a small pool of their own, `checking()`, so that a storm of wrong logins queues there
and never takes the threads pages need. A call whose caller went away (browser gone, server stopping) raises
CancelledError in the caller; the thread finishes its work unobserved.

Each call runs in a copy of its caller's context, with the centres of the browser's signed-in actor (domain.centres)
when it comes from a screen: every query of the call is limited to them, whichever service it calls.
"""

import asyncio
import contextvars
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, ParamSpec, TypeVar

from nicegui import app

from domain import centres

P = ParamSpec('P')
R = TypeVar('R')

IO_THREADS = min(32, 8 * (os.cpu_count() or 2))  # mostly waiting on the database: more than the cores
CHECK_THREADS = max(2, (os.cpu_count() or 2) // 2)  # argon2 is CPU and memory: at most half the cores

_io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix='web-io')
_checks = ThreadPoolExecutor(max_workers=CHECK_THREADS, thread_name_prefix='sign-in')


async def io(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking service call off the event loop, seeing only the centres of the screen's actor."""
    context = contextvars.copy_context()
    actor = _screen_actor()
    if actor is not None:
        context.run(centres.set_scope, actor.centres)
    return await asyncio.get_running_loop().run_in_executor(_io, partial(context.run, function, *args, **kwargs))


async def checking(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a call that checks a password or a code, in the pool of its own."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_checks, partial(context.run, function, *args, **kwargs))


def _screen_actor() -> Any:
    """The actor of the browser whose screen or event handler is calling (ui.shell.screen keeps it), or None."""
    try:
        return app.storage.client.get('actor')
    except RuntimeError:  # not in a screen: an HTTP route (its guard set the scope) or start-up work
        return None


def shutdown() -> None:
    """Drop queued work at server stop (running calls end on their own)."""
    _io.shutdown(wait=False, cancel_futures=True)
    _checks.shutdown(wait=False, cancel_futures=True)
