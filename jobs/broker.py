"""The Dramatiq broker: in-process with worker threads by default, Redis when PACS_REDIS_URL is set.

Imported before any actor module (jobs/__init__.py) so actors bind to a broker; `setup()` may later
swap in the Redis broker and moves every declared actor onto it.
"""

import logging
from collections.abc import Callable

import dramatiq
from dramatiq.brokers.stub import StubBroker

log = logging.getLogger(__name__)

broker: dramatiq.Broker = StubBroker()
broker.emit_after('process_boot')
dramatiq.set_broker(broker)
_workers: list[dramatiq.Worker] = []
_on_setup: list[Callable[[], None]] = []


def on_setup(callback: Callable[[], None]) -> None:
    """Call `callback` whenever a new broker replaces the old one (its queued messages are gone with it)."""
    _on_setup.append(callback)


def setup(redis_url: str | None) -> dramatiq.Broker:
    """Use Redis when a URL is given, otherwise the in-process broker; returns the broker in use."""
    global broker
    if redis_url:
        from dramatiq.brokers.redis import RedisBroker

        new: dramatiq.Broker = RedisBroker(url=redis_url, namespace='clinicpacs')
    else:
        new = StubBroker()
        new.emit_after('process_boot')
    for actor in list(broker.actors.values()):
        actor.broker = new
        new.declare_actor(actor)
    broker = new
    dramatiq.set_broker(new)
    for callback in _on_setup:
        callback()
    return new


def is_in_process() -> bool:
    """True for the embedded mode's in-memory broker."""
    return isinstance(broker, StubBroker)


def start_workers(threads: int) -> dramatiq.Worker:
    """Start worker threads in this process consuming every queue."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    _workers.append(worker)
    log.info('started %d job worker threads (%s broker)', threads, 'in-process' if is_in_process() else 'Redis')
    return worker


def stop_workers() -> None:
    """Stop every worker started here."""
    while _workers:
        _workers.pop().stop(timeout=5000)


def ping() -> bool:
    """True when the broker can take messages."""
    if is_in_process():
        return True
    try:
        from dramatiq.brokers.redis import RedisBroker

        assert isinstance(broker, RedisBroker)
        return bool(broker.client.ping())
    except Exception:
        log.warning('Redis broker ping failed', exc_info=True)
        return False
