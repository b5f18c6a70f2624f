"""The heartbeat thread: beats while the process runs, leaves when it stops, outlives a database outage."""

import logging
from pathlib import Path

import pytest

from domain import db, heartbeats
from domain.settings import Settings
from jobs import heartbeat
from tests.conftest import Clinic, eventually


async def test_a_running_heartbeat_keeps_its_process_alive_and_stopping_removes_it(clinic: Clinic) -> None:
    beating = heartbeat.start('worker', jobs=True, interval=0.05)
    try:
        await eventually(lambda: heartbeats.alive(jobs=True) == 1, 'the first beat')
        first = heartbeats.listing()[0].seen_at
        await eventually(lambda: heartbeats.listing()[0].seen_at > first, 'a second beat')
        [row] = heartbeats.listing()
        assert (row.id, row.role, row.jobs) == (beating.process_id, 'worker', True)
    finally:
        heartbeat.stop()
    assert heartbeats.listing() == []


def test_a_web_process_in_the_scaled_mode_beats_but_is_no_worker(clinic: Clinic) -> None:
    beating = heartbeat.Heartbeat('serve', jobs=False)
    assert beating.beat()
    assert (heartbeats.alive(), heartbeats.alive(jobs=True)) == (1, 0)


def test_a_beat_during_a_database_outage_is_logged_once_and_the_next_one_after_it_counts(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    beating = heartbeat.Heartbeat('worker', jobs=True)
    unreachable = settings.model_copy(update={'database_url': 'postgresql+psycopg://nobody@127.0.0.1:1/none'})
    db.configure(unreachable)  # nothing listens on port 1: every connection is refused
    try:
        with caplog.at_level(logging.WARNING, logger='jobs.heartbeat'):
            assert not beating.beat()
            assert not beating.beat()
        assert [record.message for record in caplog.records if record.name == 'jobs.heartbeat'] == [
            'heartbeat failed; trying again every 10 s'
        ]
    finally:
        db.dispose()
    db.configure(settings)  # the database is back (restored empty: the row is written anew)
    db.create_all()
    try:
        assert beating.beat()
        assert heartbeats.alive(jobs=True) == 1
        assert not beating.failing
    finally:
        db.dispose()
