"""The periodic thread under the heartbeat and the scheduler: an outage is logged once, its end too; stop() stops."""

import logging
import threading

import pytest
from sqlalchemy.exc import OperationalError

from jobs.periodic import Periodic
from tests.conftest import wait_until

LOGGER = 'jobs.test_periodic'
log = logging.getLogger(LOGGER)


class Work:
    """Work that raises `errors` one after the other, then works; counts its calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.calls += 1
            if self.errors:
                raise self.errors.pop(0)

    def called(self) -> int:
        with self._lock:
            return self.calls


def _unreachable() -> OperationalError:
    return OperationalError('SELECT 1', {}, Exception('connection refused'))


def _logged(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    return [(r.levelno, r.getMessage(), bool(r.exc_info)) for r in caplog.records if r.name == LOGGER]


def test_a_tick_failing_in_the_thread_is_logged_once_and_so_is_its_recovery(caplog: pytest.LogCaptureFixture) -> None:
    work = Work(_unreachable(), _unreachable(), _unreachable())
    ticking = Periodic('clock', 0.01, work, log=log)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert ticking.start()
        try:
            wait_until(lambda: work.called() >= 5, 'three failed ticks and two that work')
        finally:
            ticking.stop()
    assert _logged(caplog) == [
        (logging.WARNING, 'clock failed (OperationalError); trying again in 0 s', False),  # an outage: no traceback
        (logging.INFO, 'clock works again', False),
    ]
    assert not ticking.failing


def test_a_genuine_error_is_logged_with_its_traceback_and_each_outage_once(caplog: pytest.LogCaptureFixture) -> None:
    ticking = Periodic(
        'beat', 10, Work(ValueError('a bug'), ValueError('a bug'), _unreachable()), log=log, recovered='beats again'
    )
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert not ticking.guarded_tick()
        assert not ticking.guarded_tick()
        assert ticking.failing
        assert ticking.guarded_tick() is False  # the outage that follows is the same failing spell
        assert ticking.guarded_tick()
        assert ticking.guarded_tick()
    assert _logged(caplog) == [
        (logging.WARNING, 'beat failed (ValueError); trying again in 10 s', True),
        (logging.INFO, 'beats again', False),
    ]


def test_the_thread_starts_once_and_stop_ends_it_without_waiting_out_the_interval() -> None:
    work = Work()
    ticking = Periodic('slow', 3600, work, log=log)  # the first tick at once, the next one an hour later
    assert ticking.start()
    assert not ticking.start()
    thread = ticking._thread
    assert thread is not None and thread.name == 'slow' and thread.daemon
    wait_until(lambda: work.called() == 1, 'the first tick')
    ticking.stop()
    assert not thread.is_alive()  # woken from its hour's wait, not left behind after the join timed out
    assert ticking._thread is None
    assert work.called() == 1
