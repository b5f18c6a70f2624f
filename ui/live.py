"""Moves domain events from SCP and worker threads (and other processes) onto the event loop.

Screens subscribe with `live.on(SomeEvent).subscribe(refresh)`; the callback runs on the loop in the
screen's own context. This is the only module that touches the UI from another thread.
"""

import asyncio
import logging

from nicegui import Event

from domain import events

log = logging.getLogger(__name__)

_events: dict[type[events.Event], Event] = {}
_state: dict[str, object] = {}


def on(kind: type[events.Event]) -> Event:
    """The NiceGUI event that fires (with the domain event as argument) whenever `kind` happens."""
    if kind not in _events:
        _events[kind] = Event()
    return _events[kind]


def start_bridge() -> None:
    """Relay domain events onto this event loop from now on (main.py on start-up; tests call it)."""
    stop_bridge()
    loop = asyncio.get_running_loop()

    def relay(event: events.Event) -> None:
        target = _events.get(type(event))
        if target is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_emit, target, event)

    _state['unsubscribe'] = events.subscribe(relay)


def stop_bridge() -> None:
    """Stop relaying (shutdown)."""
    unsubscribe = _state.pop('unsubscribe', None)
    if callable(unsubscribe):
        unsubscribe()


def _emit(target: Event, event: events.Event) -> None:
    target.emit(event)


