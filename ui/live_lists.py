"""What screens share when a live change reaches every open browser at once.

A move on the board reaches a hundred open boards in the same moment. Each screen waits a little (`Debounce`:
a burst of changes is one update), then reads what it shows through a `SharedRead`: the first screen of a role
to ask after a change runs the query, the others of that role get its answer instead of a query of their own.
Screens then change only the parts that differ (ui/board.py) instead of rebuilding everything.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from domain.access import Actor

from . import threads

log = logging.getLogger(__name__)

R = TypeVar('R')
DEBOUNCE_S = 0.25


class SharedRead(Generic[R]):
    """A read-only service call shared by the screens that refresh after the same live change.

    `changed(event)` is called by every screen that received the event; the first call per event starts a new
    generation, and answers of an older generation are never handed out. Answers are shared only between actors of
    the same role (every permission here is a role's), and only after a change: a page being built reads for itself.
    """

    def __init__(self, function: Callable[..., R]) -> None:
        self.function = function
        self.last_event: object = None
        self.flights: dict[Hashable, asyncio.Future[R]] = {}

    def changed(self, event: object) -> None:
        """A change arrived (each screen calls this with the same event object): later reads see it."""
        if event is not self.last_event:
            self.last_event = event
            self.flights = {}

    async def read(self, *args: Hashable, by: Actor, **kwargs: Hashable) -> R:
        """The call's answer for this role since the last change: one query however many screens ask."""
        key = (args, tuple(sorted(kwargs.items())), by.role)
        flights = self.flights
        flight = flights.get(key)
        if flight is None or (flight.done() and flight.exception() is not None):
            flight = asyncio.ensure_future(threads.io(self.function, *args, by=by, **kwargs))
            flights[key] = flight
        return await asyncio.shield(flight)


class Debounce:
    """Run an update once after a burst of calls: the first call schedules it, later ones join it."""

    def __init__(self, update: Callable[[], Awaitable[Any]], delay: float = DEBOUNCE_S) -> None:
        self.update, self.delay = update, delay
        self.pending = False

    async def __call__(self) -> None:
        if self.pending:
            return
        self.pending = True
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.pending = False
        await self.update()
