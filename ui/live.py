"""Moves domain events from SCP and worker threads (and other processes) onto the event loop.

Screens subscribe with `live.on(SomeEvent).subscribe(refresh)` inside their page function; the callback
runs on the loop in the screen's own context and stops with the screen's browser tab. This is the only
module that touches the UI from another thread.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from nicegui import Event, context, helpers

from domain import events

log = logging.getLogger(__name__)


class LiveEvent:
    """A domain event kind as seen by screens."""

    def __init__(self) -> None:
        self.event: Event = Event()

    def subscribe(self, callback: Callable[..., Any]) -> None:
        """Call `callback` (with the domain event if it takes an argument) while this screen is open."""
        client = context.client
        wants_event = helpers.expects_arguments(callback)

        def handler(event: events.Event) -> Any:
            if client.is_deleted:
                return None
            return callback(event) if wants_event else callback()

        self.event.subscribe(handler, expect_args=True, unsubscribe_on_delete=False)
        client.on_delete(lambda: self.event.unsubscribe(handler))

    async def emitted(self, timeout: float | None = None) -> Any:
        """Wait for the next event of this kind (tests)."""
        return await self.event.emitted(timeout)


_events: dict[type[events.Event], LiveEvent] = {}
_state: dict[str, object] = {}


def on(kind: type[events.Event]) -> LiveEvent:
    """The live event that fires (with the domain event as argument) whenever `kind` happens."""
    if kind not in _events:
        _events[kind] = LiveEvent()
    return _events[kind]


def start_bridge() -> None:
    """Relay domain events onto this event loop from now on (main.py on start-up; tests call it).

    Subscriptions of screens built before this call are dropped: they belonged to an earlier app.
    """
    stop_bridge()
    _events.clear()
    loop = asyncio.get_running_loop()

    def relay(event: events.Event) -> None:
        target = _events.get(type(event))
        if target is not None and not loop.is_closed():
            loop.call_soon_threadsafe(target.event.emit, event)

    _state['unsubscribe'] = events.subscribe(relay)


def stop_bridge() -> None:
    """Stop relaying (shutdown)."""
    unsubscribe = _state.pop('unsubscribe', None)
    if callable(unsubscribe):
        unsubscribe()
