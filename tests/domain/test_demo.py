import pytest

from domain import appointments, demo, reading
from domain.access import system
from domain.errors import Conflict
from tests.conftest import Clinic


def test_the_demo_fills_a_day_in_every_state_and_refuses_to_run_twice(database) -> None:  # type: ignore[no-untyped-def]
    summary = demo.fill(by=system('demo'))
    cards = appointments.day(appointments.today(), by=system('test'))
    assert {c.state for c in cards} == {*appointments.BOARD_ORDER, 'cancelled', 'no-show'}
    assert any(c.urgent for c in cards) and summary.patients == len(demo.PEOPLE)
    assert reading.worklist(by=system('test'))[0].urgent
    with pytest.raises(Conflict, match='already holds data'):
        demo.fill(by=system('demo'))


def test_the_demo_refuses_a_database_with_real_data(clinic: Clinic) -> None:
    with pytest.raises(Conflict):
        demo.fill(by=system('demo'))
