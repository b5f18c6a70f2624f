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


def test_tuning_freezes_start_up_objects_and_raises_the_thresholds(collector: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    heap.tune()
    assert gc.get_freeze_count() > 10_000  # the modules and tables this test process imported
    assert gc.get_threshold() == heap.THRESHOLDS
    assert heap.THRESHOLDS[0] > 700  # Python's default
