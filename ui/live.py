"""Moves domain events from SCP and worker threads (and other processes) onto the event loop.

Screens subscribe with `live.on(SomeEvent).subscribe(refresh)` inside their page function; the callback
runs on the loop in the screen's own context and stops when the screen is left or its browser tab closes.
This is the only module that touches the UI from another thread.
"""

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from nicegui import Client, Event, context, helpers
from nicegui.element import Element

from domain import events

log = logging.getLogger(__name__)


class LiveEvent:
    """A domain event kind as seen by screens."""

    def __init__(self) -> None:
        self.event: Event = Event()
        self.held: dict[Callable[..., Any], tuple[Client, Element | None]] = {}  # handler -> its client and screen
        self.watched: weakref.WeakSet[Client] = weakref.WeakSet()  # the clients that sweep this kind as they go

    def subscribe(self, callback: Callable[..., Any]) -> None:
        """Call `callback` (with the domain event if it takes an argument) while this screen is open: until the
        browser tab closes or moves to another screen (ui.sub_pages deletes the screen it leaves)."""
        client = context.client
        screen = next((e for e in context.slot.parent.ancestors(include_self=True) if e in _screens), None)
        wants_event = helpers.expects_arguments(callback)

        def handler(event: events.Event) -> Any:
            if _gone(client, screen):
                self.drop(handler)
                return None
            return callback(event) if wants_event else callback()

        self.sweep()  # the screens this tab (or another) left since the last event of this kind
        self.event.subscribe(handler, expect_args=True, unsubscribe_on_delete=False)
        self.held[handler] = (client, screen)
        if client not in self.watched:  # once per client, however many screens it opens
            self.watched.add(client)
            client.on_delete(lambda: self.forget(client))

    def sweep(self) -> None:
        """Forget the subscriptions of screens that are gone."""
        for handler, (client, screen) in list(self.held.items()):
            if _gone(client, screen):
                self.drop(handler)

    def forget(self, client: Client) -> None:
        """Forget a client's subscriptions as it is deleted (NiceGUI calls this before it marks it deleted)."""
        for handler, (held, _screen) in list(self.held.items()):
            if held is client:
                self.drop(handler)

    def drop(self, handler: Callable[..., Any]) -> None:
        if self.held.pop(handler, None) is not None:
            self.event.unsubscribe(handler)

    async def emitted(self, timeout: float | None = None) -> Any:
        """Wait for the next event of this kind (tests)."""
        return await self.event.emitted(timeout)


_screens: weakref.WeakSet[Element] = weakref.WeakSet()  # the containers screens are built in (ui.shell)


def screen_built_in(container: Element) -> None:
    """Mark `container` as a screen's: subscriptions made inside it end when it is deleted (ui.shell)."""
    _screens.add(container)


def _gone(client: Client, screen: Element | None) -> bool:
    return client.is_deleted or (screen is not None and screen.is_deleted)


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
