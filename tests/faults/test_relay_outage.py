"""The event relay between processes (jobs/relay.py) outlives a Redis outage: publishing while Redis is down
does not raise into the code that committed, and once Redis is back the relay hears other processes again
without a restart. The Redis is the test's own (tests/faults/servers.py)."""

from collections.abc import Iterator

import pytest

from domain import events
from jobs import relay
from tests.conftest import wait_until
from tests.faults.servers import Redis, redis_server

__all__ = ['redis_server']  # fixture

HEAL_S = 60.0


@pytest.fixture
def heard() -> Iterator[list[events.Event]]:
    received: list[events.Event] = []
    unsubscribe = events.subscribe(received.append)
    yield received
    unsubscribe()


def test_the_relay_hears_other_processes_again_after_redis_comes_back(
    redis_server: Redis, heard: list[events.Event]
) -> None:
    here, elsewhere = relay.RedisRelay(redis_server.url), relay.RedisRelay(redis_server.url)
    try:
        elsewhere.send(events.StudyReady(1))
        wait_until(lambda: events.StudyReady(1) in heard, 'the first event before the outage')

        redis_server.stop()
        here.send(events.StudyReady(2))  # a commit's event while Redis is down: no exception for the caller
        assert here.down
        redis_server.start()

        def arrived() -> bool:
            elsewhere.send(events.StudyReady(3))  # pub/sub keeps nothing: said again until the relay listens
            return events.StudyReady(3) in heard

        wait_until(arrived, 'an event from another process after Redis came back', timeout=HEAL_S)
        assert not here.down
        assert events.StudyReady(2) not in heard  # this process's own event is never delivered back to it
    finally:
        here.close()
        elsewhere.close()
