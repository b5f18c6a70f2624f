"""Database jobs through the real Dramatiq machinery: the in-process broker, and Redis when configured."""

import threading
from collections.abc import Iterator

import dramatiq
import pytest

import jobs  # noqa: F401 - the broker first
from domain import work
from domain.access import system
from jobs import broker, dispatch
from jobs.runner import job_actor
from tests.conftest import REDIS_URL, Clinic

calls: dict[int, int] = {}
lock = threading.Lock()


class Unfixable(Exception):
    pass


def _count(object_id: int) -> int:
    with lock:
        calls[object_id] = calls.get(object_id, 0) + 1
        return calls[object_id]


@job_actor('test_succeeds', max_retries=3)
def succeeds(object_id: int) -> None:
    _count(object_id)


@job_actor('test_flaky', max_retries=3)
def flaky(object_id: int) -> None:
    if _count(object_id) < 3:
        raise OSError('disk busy')


@job_actor('test_unfixable', max_retries=3, throws=(Unfixable,))
def unfixable(object_id: int) -> None:
    _count(object_id)
    raise Unfixable('the file is not an image')


@pytest.fixture
def worker(clinic: Clinic) -> Iterator[dramatiq.Worker]:
    calls.clear()
    broker.setup(None)
    unsubscribe = dispatch.start()
    running = dramatiq.Worker(broker.broker, worker_threads=2, worker_timeout=50)
    running.start()
    yield running
    running.stop()
    unsubscribe()


def _drain() -> None:
    broker.broker.join('default', timeout=20_000)


def _job(job_id: int):
    return next(job for job in work.listing(by=system(), limit=50) if job.id == job_id)


def test_a_queued_job_runs_once_and_is_done(worker: dramatiq.Worker) -> None:
    job = work.submit('test_succeeds', 41)
    _drain()
    assert _job(job.id).state == 'done'
    assert calls[41] == 1


def test_a_second_delivery_of_a_done_job_does_nothing(worker: dramatiq.Worker) -> None:
    job = work.submit('test_succeeds', 42)
    _drain()
    succeeds.send(job.id)
    _drain()
    assert calls[42] == 1


def test_a_transient_failure_is_retried_until_it_works(worker: dramatiq.Worker) -> None:
    job = work.submit('test_flaky', 43)
    _drain()
    done = _job(job.id)
    assert done.state == 'done'
    assert done.attempts == 3
    assert 'disk busy' in (done.error or '')


def test_an_unfixable_failure_is_visible_and_can_be_retried(worker: dramatiq.Worker, clinic: Clinic) -> None:
    job = work.submit('test_unfixable', 44)
    _drain()
    failed = _job(job.id)
    assert (failed.state, failed.attempts) == ('failed', 1)
    assert failed.error == 'Unfixable: the file is not an image'
    work.retry(job.id, by=clinic.admin.actor)
    _drain()
    assert _job(job.id).state == 'failed'
    assert calls[44] == 2


def test_the_same_job_is_not_queued_twice_while_waiting(clinic: Clinic) -> None:
    first = work.submit('test_succeeds', 45)
    second = work.submit('test_succeeds', 45)
    assert first.id == second.id
    assert work.queue_depth() == 1


def test_unfinished_jobs_are_queued_again_at_start_up(clinic: Clinic) -> None:
    calls.clear()
    broker.setup(None)
    job = work.submit('test_succeeds', 46)  # nobody dispatches: as if the process died before running it
    assert work.queue_depth() == 1
    assert dispatch.requeue_unfinished() == 1
    running = dramatiq.Worker(broker.broker, worker_threads=1, worker_timeout=50)
    running.start()
    try:
        _drain()
    finally:
        running.stop()
    assert _job(job.id).state == 'done'
    assert work.queue_depth() == 0


def test_jobs_run_through_redis_when_configured(clinic: Clinic) -> None:
    if not REDIS_URL:
        pytest.skip('Redis variant off: set PACS_TEST_REDIS_URL')
    calls.clear()
    redis_broker = broker.setup(REDIS_URL)
    redis_broker.flush_all()
    unsubscribe = dispatch.start()
    running = dramatiq.Worker(redis_broker, worker_threads=1, worker_timeout=50)
    running.start()
    try:
        job = work.submit('test_succeeds', 47)
        redis_broker.join('default', timeout=20_000)
        assert _job(job.id).state == 'done'
    finally:
        running.stop()
        unsubscribe()
        redis_broker.flush_all()
        redis_broker.close()
        broker.setup(None)
