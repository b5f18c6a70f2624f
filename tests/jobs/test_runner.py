"""Database jobs through the real Dramatiq machinery: the in-process broker, and Redis when configured."""

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest
import redis.exceptions
from sqlalchemy.exc import OperationalError

import jobs  # noqa: F401 - the broker first
from domain import clock, db, work
from domain.access import system
from domain.models import Job
from jobs import broker, dispatch, runner
from jobs.runner import job_actor
from jobs.sweeper import Sweeper
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


# ---------------------------------------------------------------- outages and the sweeper

outage = {'left': 0}


def _unreachable() -> OperationalError:
    return OperationalError('SELECT 1', {}, Exception('connection refused'))


@job_actor('test_outage', max_retries=1)
def meets_an_outage(object_id: int) -> None:
    _count(object_id)
    with lock:
        if outage['left'] > 0:
            outage['left'] -= 1
            raise _unreachable()


def test_attempts_that_meet_an_outage_do_not_count_towards_failing_the_job(worker: dramatiq.Worker) -> None:
    outage['left'] = 3  # more failed attempts than max_retries allows for a genuine error
    job = work.submit('test_outage', 50)
    _drain()
    done = _job(job.id)
    assert (done.state, done.attempts) == ('done', 1)
    assert calls[50] == 4


def test_a_job_whose_retries_ran_out_in_an_outage_stays_queued_and_the_sweeper_sends_it_again(
    worker: dramatiq.Worker,
) -> None:
    runner.configure(outage_retries=0)
    try:
        outage['left'] = 1
        job = work.submit('test_outage', 51)
        broker.broker.join('default', timeout=20_000, fail_fast=False)  # its message gives up
        waiting = _job(job.id)
        assert (waiting.state, waiting.attempts) == ('queued', 0)
        assert 'connection refused' in (waiting.error or '')
        assert Sweeper().sweep().resent == []  # not overdue yet: its retry may still be on its way
        clock.advance(timedelta(seconds=work.QUEUED_GRACE_S + 1))
        assert Sweeper().sweep().resent == [job.id]
        broker.broker.join('default', timeout=20_000, fail_fast=False)  # the first message is a dead letter
    finally:
        runner.configure(outage_retries=30)
    assert _job(job.id).state == 'done'
    assert calls[51] == 2


def test_the_job_of_a_worker_that_died_is_sent_again_once_its_lease_lapses(worker: dramatiq.Worker) -> None:
    job = work.submit('test_succeeds', 52)
    _drain()
    calls.clear()
    with db.transaction() as session:  # as a worker leaves it when killed mid-job
        row = session.get(Job, job.id)
        assert row is not None
        row.state, row.due_at = 'running', clock.now() + timedelta(seconds=work.LEASE_S)
        session.add(row)
    succeeds.send(job.id)  # a second delivery while the lease holds does nothing
    _drain()
    assert calls.get(52) is None
    assert Sweeper().sweep().resent == []
    clock.advance(timedelta(seconds=work.LEASE_S + 1))
    assert Sweeper().sweep().resent == [job.id]
    _drain()
    assert _job(job.id).state == 'done' and calls[52] == 1


def test_the_sweeper_renews_the_leases_of_the_jobs_running_in_its_process(clinic: Clinic) -> None:
    job = work.submit('test_succeeds', 53)
    started = work.start(job.id or 0)
    assert started is not None
    clock.advance(timedelta(seconds=work.LEASE_S - 1))
    with lock:
        runner._running.add(job.id or 0)
    try:
        assert Sweeper().sweep().renewed == 1
    finally:
        with lock:
            runner._running.discard(job.id or 0)
    clock.advance(timedelta(seconds=2))  # past the first lease, within the renewed one
    assert Sweeper().sweep().resent == []


def test_a_job_queued_while_the_broker_is_down_is_sent_by_the_sweeper_when_it_is_back(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker.setup(None)
    unsubscribe = dispatch.start()
    sent: list[int] = []

    def down(job_id: int, kind: str) -> None:
        raise redis.exceptions.ConnectionError('Connection refused')

    monkeypatch.setattr(runner, 'send', down)
    try:
        job = work.submit('test_succeeds', 54)  # committed; the message could not go out
        sweeper = Sweeper()
        assert sweeper.sweep().failed == ['resend']  # due at once, and still not sendable
        monkeypatch.setattr(runner, 'send', lambda job_id, kind: sent.append(job_id))
        assert sweeper.sweep().resent == [job.id]
    finally:
        unsubscribe()
    assert sent == [job.id]
    assert sweeper.sweep().resent == []  # sent once: due again only after the grace period


def test_outages_are_told_apart_from_genuine_errors() -> None:
    assert runner.dependency_down(_unreachable())
    assert runner.dependency_down(redis.exceptions.ConnectionError('Connection refused'))
    assert runner.dependency_down(redis.exceptions.TimeoutError('Timeout reading from socket'))
    try:
        try:
            raise _unreachable()
        except OperationalError as error:
            raise ValueError('could not read the series') from error
    except ValueError as chained:
        assert runner.dependency_down(chained)
    missing_table = OperationalError('SELECT 1', {}, sqlite3.OperationalError('no such table: job'))
    missing_table.__cause__ = missing_table.orig
    assert not runner.dependency_down(missing_table)
    locked = OperationalError('SELECT 1', {}, sqlite3.OperationalError('database is locked'))
    locked.__cause__ = locked.orig
    assert runner.dependency_down(locked)
    assert not runner.dependency_down(OSError('disk busy'))
    rule = runner.retry_when(max_retries=2)
    assert rule(2, _unreachable()) and not rule(2, OSError('disk busy'))
