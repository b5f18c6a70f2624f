"""Carries domain events between processes over Redis pub/sub (the scaled mode).

A Redis outage does not end the relay: the listening thread logs the outage once, waits a little between
attempts and subscribes again when Redis is back (events published meanwhile are lost, as pub/sub never keeps
them; the screens they would have refreshed catch up on their next change). Publishing while Redis is down
fails quietly after one warning per outage: the data is committed, only a live refresh elsewhere is missed.
"""

import json
import logging
import os
import threading
import uuid
from typing import Any

import redis

from domain import events

log = logging.getLogger(__name__)

CHANNEL = 'clinicpacs:events'
RECONNECT_S = 1.0  # between attempts to reach Redis again


class RedisRelay:
    """Publishes this process's events to Redis and delivers the other processes' events here."""

    def __init__(self, url: str) -> None:
        self.origin = f'{os.getpid()}-{uuid.uuid4().hex[:8]}'
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(**{CHANNEL: self._on_message})
        self._down = threading.Event()  # set while Redis cannot be reached (one warning per outage)
        self._stopping = threading.Event()
        self.thread = self.pubsub.run_in_thread(sleep_time=0.05, daemon=True, exception_handler=self._on_error)

    def send(self, event: events.Event) -> None:
        message = json.dumps({'origin': self.origin, 'event': event.to_wire()}, default=str)
        try:
            self.client.publish(CHANNEL, message)
        except redis.RedisError as error:
            self._outage(error)
            return
        self._back()

    @property
    def down(self) -> bool:
        """True from a failed attempt to reach Redis until it answers again."""
        return self._down.is_set()

    def close(self) -> None:
        """Stop listening and relaying."""
        events.remove_transport(self)
        self._stopping.set()
        self.thread.stop()
        self.thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()

    def _on_error(self, error: BaseException, _pubsub: object, _thread: object) -> None:
        """The listening thread lost Redis: note it and wait before the next attempt (the thread goes on)."""
        if isinstance(error, redis.RedisError):
            self._outage(error)
        else:
            log.exception('the event relay failed on a message', exc_info=error)
        self._stopping.wait(RECONNECT_S)

    def _outage(self, error: BaseException) -> None:
        if not self._down.is_set():
            self._down.set()
            log.warning('event relay: Redis unreachable (%s); live updates between processes wait for it', error)

    def _back(self) -> None:
        if self._down.is_set():
            self._down.clear()
            log.info('event relay: Redis reachable again')

    def _on_message(self, message: dict[str, Any]) -> None:
        self._back()
        try:
            data = json.loads(message['data'])
        except (ValueError, TypeError):
            log.warning('ignored a malformed event on %s', CHANNEL)
            return
        if data.get('origin') == self.origin:
            return
        event = events.Event.from_wire(data.get('event') or {})
        if event is not None:
            events.deliver(event, remote=True)


def start(url: str) -> RedisRelay:
    """Relay events through Redis from now on."""
    relay = RedisRelay(url)
    events.add_transport(relay)
    return relay
