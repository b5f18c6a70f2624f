"""Carries domain events between processes over Redis pub/sub (the scaled mode)."""

import json
import logging
import os
import uuid
from typing import Any

import redis

from domain import events

log = logging.getLogger(__name__)

CHANNEL = 'clinicpacs:events'


class RedisRelay:
    """Publishes this process's events to Redis and delivers the other processes' events here."""

    def __init__(self, url: str) -> None:
        self.origin = f'{os.getpid()}-{uuid.uuid4().hex[:8]}'
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(**{CHANNEL: self._on_message})
        self.thread = self.pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def send(self, event: events.Event) -> None:
        self.client.publish(CHANNEL, json.dumps({'origin': self.origin, 'event': event.to_wire()}, default=str))

    def close(self) -> None:
        """Stop listening and relaying."""
        events.remove_transport(self)
        self.thread.stop()
        self.thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()

    def _on_message(self, message: dict[str, Any]) -> None:
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
