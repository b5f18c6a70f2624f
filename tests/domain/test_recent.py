"""Answers remembered for a short while (domain/recent.py): used until their lifetime ends, then forgotten."""

from datetime import timedelta

from domain import clock
from domain.recent import Remembered, remembered


def _counting() -> tuple[Remembered[[str], str], list[str]]:
    made: list[str] = []

    @remembered(timedelta(minutes=5), maxsize=3)
    def shout(name: str) -> str:
        made.append(name)
        return name.upper()

    return shout, made


def test_an_answer_is_made_once_within_its_lifetime() -> None:
    shout, made = _counting()
    assert shout('doe') == 'DOE'
    clock.advance(timedelta(minutes=4))
    assert shout('doe') == 'DOE'
    assert made == ['doe']


def test_an_answer_is_made_again_once_its_lifetime_has_passed_even_if_used_meanwhile() -> None:
    shout, made = _counting()
    shout('doe')
    clock.advance(timedelta(minutes=3))
    shout('doe')
    clock.advance(timedelta(minutes=3))
    shout('doe')
    assert made == ['doe', 'doe']


def test_an_expired_entry_is_gone_from_memory() -> None:
    shout, _made = _counting()
    shout('doe')
    shout('roe')
    assert len(shout) == 2
    clock.advance(timedelta(minutes=5, seconds=1))
    shout.forget_expired()  # what the sweep does on its own once the oldest entry has expired
    assert len(shout) == 0


def test_the_next_call_after_the_lifetime_forgets_the_other_expired_entries() -> None:
    shout, _made = _counting()
    shout('doe')
    shout('roe')
    clock.advance(timedelta(minutes=6))
    shout('poe')
    assert len(shout) == 1


def test_the_oldest_entries_go_first_beyond_the_size_limit() -> None:
    shout, made = _counting()
    for name in ('a', 'b', 'c', 'd'):
        shout(name)
    assert len(shout) == 3
    shout('d')
    shout('a')
    assert made == ['a', 'b', 'c', 'd', 'a']
