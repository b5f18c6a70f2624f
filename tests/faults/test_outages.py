"""Outages heal by themselves in the scaled mode (`main.py scp` and `main.py worker` on PostgreSQL and Redis):
after the dependency returns, the study becomes ready without a restart, and no committed image got a failure
status. The servers are the test's own (tests/faults/servers.py)."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from pynetdicom import AE
from sqlalchemy import Engine, text

from tests.conftest import wait_until
from tests.faults.servers import Postgres, Redis, Scaled, engine_for, postgres_server, redis_server

__all__ = ['postgres_server', 'redis_server']  # fixtures

IMAGES = 20
HEAL_S = 60.0  # the promise: ready within a minute of the dependency's return
SUCCESS = 0x0000


@pytest.fixture
def database(postgres_server: Postgres) -> Iterator[tuple[str, Engine]]:
    url = postgres_server.create_database(f'pacs_{uuid.uuid4().hex[:10]}')
    engine = engine_for(url)
    yield url, engine
    engine.dispose()


def push(port: int, count: int) -> tuple[str, list[int]]:
    """A scanner sends one study of `count` images over one association; returns its UID and each status."""
    study_uid, series_uid = generate_uid(), generate_uid()
    template = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
    ae = AE(ae_title='FAULTSCU')
    ae.add_requested_context(template.SOPClassUID, template.file_meta.TransferSyntaxUID)
    assoc = ae.associate('127.0.0.1', port, ae_title='CLINICPACS')
    assert assoc.is_established, 'the scp refused the association'
    statuses = []
    try:
        for number in range(1, count + 1):
            template.StudyInstanceUID, template.SeriesInstanceUID = study_uid, series_uid
            template.SOPInstanceUID, template.InstanceNumber = generate_uid(), number
            answer = assoc.send_c_store(template)
            statuses.append(int(answer.Status) if 'Status' in answer else -1)
    finally:
        assoc.release()
    return study_uid, statuses


def study_state(engine: Engine, study_uid: str) -> tuple[str, int, int] | None:
    """(state, images, images still owed processing) of the study, or None before it exists."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                'SELECT s.state, s.num_instances, '
                '(SELECT count(*) FROM instance i JOIN series r ON r.id = i.series_id WHERE r.study_id = s.id '
                "AND i.state = 'stored') FROM study s WHERE s.study_instance_uid = :uid"
            ),
            {'uid': study_uid},
        ).first()
    return (row[0], row[1], row[2]) if row else None


def failed_jobs(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM job WHERE state = 'failed'")).scalar_one())


def ready(engine: Engine, study_uid: str) -> bool:
    return study_state(engine, study_uid) == ('ready', IMAGES, 0)


def test_a_study_pushed_while_redis_is_down_is_acknowledged_and_becomes_ready_when_redis_is_back(
    tmp_path: Path, database: tuple[str, Engine], redis_server: Redis
) -> None:
    url, engine = database
    scaled = Scaled(tmp_path, url, redis_server.url)
    scaled.start()
    try:
        redis_server.stop()
        study_uid, statuses = push(scaled.dicom_port, IMAGES)
        assert statuses == [SUCCESS] * IMAGES  # every image is committed and the scanner hears so
        state, images, _owed = study_state(engine, study_uid) or ('', 0, 0)
        assert images == IMAGES and state != 'ready'  # committed; nothing can be processed without the broker
        assert 'its completion decision was not queued' in scaled.log('scp')  # the fault happened
        redis_server.start()  # empty: whatever was queued before is gone
        wait_until(lambda: ready(engine, study_uid), 'the study to become ready', timeout=HEAL_S)
    finally:
        scaled.stop()
    assert failed_jobs(engine) == 0


def test_a_study_whose_decision_ran_out_of_retries_while_postgresql_was_down_becomes_ready_when_it_is_back(
    tmp_path: Path, postgres_server: Postgres, database: tuple[str, Engine], redis_server: Redis
) -> None:
    url, engine = database
    scaled = Scaled(tmp_path, url, redis_server.url, PACS_JOB_OUTAGE_RETRIES='2')  # a short budget for the test
    scaled.start()
    try:
        scaled.pause('worker')  # so that the study's decision can only come after PostgreSQL is down
        study_uid, statuses = push(scaled.dicom_port, IMAGES)
        assert statuses == [SUCCESS] * IMAGES
        postgres_server.stop()
        scaled.resume('worker')
        wait_until(
            lambda: 'Retries exceeded' in scaled.log('worker'), 'the decision to exhaust its retries', timeout=HEAL_S
        )
        postgres_server.start()
        wait_until(lambda: ready(engine, study_uid), 'the study to become ready', timeout=HEAL_S)
    finally:
        if not postgres_server.running():
            postgres_server.start()  # the module's other tests use the cluster
        scaled.stop()
    assert failed_jobs(engine) == 0  # no job failed for good over the outage
