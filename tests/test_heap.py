"""The web process's garbage collector: start-up objects frozen, young generations collected less often."""

import gc
from collections.abc import Iterator

import pytest

from ui import heap


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)
    if heap._watch in gc.callbacks:
        gc.callbacks.remove(heap._watch)


def test_tuning_freezes_start_up_objects_and_raises_the_thresholds(collector: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    heap.tune()
    assert gc.get_freeze_count() > 10_000  # the modules and tables this test process imported
    assert gc.get_threshold() == heap.THRESHOLDS
    assert heap.THRESHOLDS[0] > 700  # Python's default


def test_a_long_full_collection_is_logged_and_a_young_one_is_not(
    collector: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    heap.tune()
    monkeypatch.setattr(heap, 'SLOW_PAUSE_S', 0.0)  # every full collection counts as long
    with caplog.at_level('INFO', logger='ui.heap'):
        gc.collect(0)
        assert not caplog.records
        gc.collect(2)
    assert [r.getMessage().split(' paused')[0] for r in caplog.records] == ['garbage collection']
