from datetime import timedelta
from pathlib import Path

import pytest
from nicegui.testing import User

from domain import db
from domain.settings import Settings
from tests.conftest import Clinic, eventually
from ui import health


async def test_health_answers_json_without_login(user: User, clinic: Clinic) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True, 'dicom': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 200
    body = response.json()
    assert body['status'] == 'ok'
    assert {'database', 'broker', 'dicom', 'queue_depth', 'pending_instances', 'free_disk_bytes'} <= set(body)
    assert body['queue_depth'] == 0
    assert body['free_disk_bytes'] > 0


async def test_health_is_503_when_a_part_is_down(user: User, clinic: Clinic) -> None:
    health.register(clinic.data_dir, {'broker': lambda: False, 'dicom': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    assert response.json()['broker'] == 'down'


async def test_health_is_503_when_the_database_is_unreachable(user: User, tmp_path: Path) -> None:
    db.configure(
        Settings(
            _env_file=None,
            data_dir=tmp_path,  # type: ignore[call-arg]
            database_url='postgresql+psycopg://nobody@127.0.0.1:1/none',
        )
    )
    try:
        health.register(tmp_path, {'broker': lambda: True})
        response = await user.http_client.get('/health')
    finally:
        db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert (body['database'], body['database_latency_ms'], body['reason']) == ('down', None, 'database down')
    assert 'workers_alive' not in body  # nothing the database would have to answer


async def test_health_is_503_when_free_disk_is_below_the_configured_minimum(user: User, clinic: Clinic) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True}, min_free_disk_mb=10**12)  # more than any disk holds
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    body = response.json()
    assert body['status'] == 'degraded'
    assert body['reason'] == f'free disk below {10**12} MB'
    assert body['min_free_disk_bytes'] == 10**12 * 1024 * 1024


async def test_health_is_ok_when_the_configured_minimum_of_free_disk_is_met(user: User, clinic: Clinic) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True}, min_free_disk_mb=0)
    response = await user.http_client.get('/health')
    assert response.status_code == 200
    assert 'reason' not in response.json()


def _backed_up(clinic: Clinic, *, state: str, verified_minutes_ago: int, error: str | None = None) -> None:
    """A backup policy with one run whose job is in `state`."""
    from datetime import timedelta

    from domain import clock, options, sealed
    from domain.models import BackupRun, Job

    options.put('backup_target', str(clinic.data_dir.parent / 'usb'), by=clinic.admin.actor)
    options.put('backup_public_key', sealed.generate_keypair()[0], by=clinic.admin.actor)
    verified = clock.now() - timedelta(minutes=verified_minutes_ago)
    with db.transaction() as session:
        job = Job(kind='run_backup', object_id=1, state=state, error=error)
        session.add(job)
        session.flush()
        target = str(clinic.data_dir.parent / 'usb')
        session.add(BackupRun(kind='full', job_id=job.id, target=target, created_at=verified, verified_at=verified))


async def test_health_says_backups_are_off_as_a_warning_not_a_failure(user: User, clinic: Clinic) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 200
    body = response.json()
    assert (body['status'], body['warnings']) == ('ok', ['backup'])
    assert body['backup']['state'] == 'off'
    assert (body['backup']['age_seconds'], body['backup']['last_verified_at']) == (None, None)
    assert body['backup']['reason'] == 'No backup folder is chosen'


async def test_health_gives_the_age_of_the_last_verified_backup(user: User, clinic: Clinic) -> None:
    _backed_up(clinic, state='done', verified_minutes_ago=20)
    health.register(clinic.data_dir, {'broker': lambda: True})
    body = (await user.http_client.get('/health')).json()
    assert body['backup']['state'] == 'ok'
    assert 20 * 60 <= body['backup']['age_seconds'] < 30 * 60
    assert body['backup']['last_verified_at'] is not None
    assert body['warnings'] == []


async def test_a_failed_backup_is_red_in_health_and_named_among_the_warnings(user: User, clinic: Clinic) -> None:
    _backed_up(clinic, state='failed', verified_minutes_ago=20, error='OSError: no space left on device')
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    body = response.json()
    assert (response.status_code, body['status'], body['warnings']) == (200, 'ok', ['backup'])
    assert body['backup']['state'] == 'red'
    assert body['backup']['reason'] == 'The last backup failed'  # answered without login: no error text, no path


# ---------------------------------------------------------------- workers, waiting work, stuck studies, latencies


def _worker_beats(process_id: str = 'w' * 32) -> None:
    from domain import heartbeats

    heartbeats.beat(process_id, role='worker', host='pacs-1', pid=4242, jobs=True)


def _add(row: object) -> None:
    with db.transaction() as session:
        session.add(row)


@pytest.mark.parametrize('backend', ['sqlite', 'postgres'], indirect=True)  # the facts' SQL on both databases
async def test_health_is_503_when_jobs_wait_and_no_worker_is_alive(user: User, clinic: Clinic) -> None:
    from domain.models import Job

    _add(Job(kind='build_thumbnails', object_id=1))
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    body = response.json()
    assert (body['status'], body['workers_alive'], body['queue_depth']) == ('degraded', 0, 1)
    assert body['reason'] == 'no job worker alive; jobs waiting: 1'


async def test_health_is_ok_while_a_worker_beats_and_counts_it(user: User, clinic: Clinic) -> None:
    from domain.models import Job

    _add(Job(kind='build_thumbnails', object_id=1))
    _worker_beats()
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 200
    body = response.json()
    assert (body['workers_alive'], body['processes_alive'], body['queue_depth']) == (1, 1, 1)
    assert body['oldest_pending_seconds'] is not None


async def test_a_worker_that_stopped_beating_is_not_counted(user: User, clinic: Clinic) -> None:
    from domain import clock, heartbeats
    from domain.models import Job

    _worker_beats()
    clock.advance(timedelta(seconds=heartbeats.ALIVE_SECONDS + 1))
    _add(Job(kind='build_thumbnails', object_id=1))
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    assert (response.status_code, response.json()['workers_alive']) == (503, 0)


async def test_in_the_scaled_mode_no_worker_alive_is_degraded_even_with_nothing_waiting(
    user: User, clinic: Clinic
) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True}, scaled=True)
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    body = response.json()
    assert (body['mode'], body['queue_depth'], body['reason']) == ('scaled', 0, 'no job worker alive')


@pytest.mark.parametrize('backend', ['sqlite', 'postgres'], indirect=True)  # the facts' SQL on both databases
async def test_a_study_stuck_receiving_is_counted_and_makes_health_degraded(user: User, clinic: Clinic) -> None:
    from domain import clock, health_facts
    from domain.models import Study

    _add(Study(study_instance_uid='1.2.840.99.1', state='receiving'))
    clock.advance(timedelta(seconds=health_facts.RECEIVING_LIMIT_S + 1))
    _worker_beats()
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    body = response.json()
    assert (body['stuck_studies'], body['stuck']) == (1, {'receiving': 1, 'processing': 0})
    assert body['reason'] == f'stuck studies: 1 (1 receiving over {health_facts.RECEIVING_LIMIT_S} s)'
    assert body['limits']['receiving_seconds'] == health_facts.RECEIVING_LIMIT_S


async def test_a_job_waiting_past_the_limit_makes_health_degraded(user: User, clinic: Clinic) -> None:
    from domain import clock, health_facts
    from domain.models import Job

    _add(Job(kind='render_report_pdf', object_id=1, due_at=clock.now()))  # no sweeper sends it again
    clock.advance(timedelta(seconds=health_facts.PENDING_LIMIT_S + 60))
    _worker_beats()
    health.register(clinic.data_dir, {'broker': lambda: True})
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    body = response.json()
    assert body['oldest_pending_seconds'] >= health_facts.PENDING_LIMIT_S + 60
    assert body['reason'].startswith('oldest pending job waiting ')
    assert body['overdue_jobs'] == 1


async def test_health_gives_database_and_broker_latencies(user: User, clinic: Clinic) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True})
    embedded = (await user.http_client.get('/health')).json()
    assert embedded['database_latency_ms'] >= 0
    assert (embedded['mode'], embedded['broker_latency_ms']) == ('embedded', 0)  # the in-process broker


async def test_in_the_scaled_mode_the_broker_ping_is_timed_and_a_broker_down_has_none(
    user: User, clinic: Clinic
) -> None:
    _worker_beats()
    health.register(clinic.data_dir, {'broker': lambda: True}, scaled=True)
    assert (await user.http_client.get('/health')).json()['broker_latency_ms'] >= 0


async def test_a_broker_that_is_down_has_no_latency(user: User, clinic: Clinic) -> None:
    _worker_beats()
    health.register(clinic.data_dir, {'broker': lambda: False}, scaled=True)
    response = await user.http_client.get('/health')
    body = response.json()
    assert (response.status_code, body['broker'], body['broker_latency_ms']) == (503, 'down', None)
    assert body['reason'] == 'broker down'


async def test_a_broker_that_never_answers_is_down_without_holding_health(
    user: User, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    monkeypatch.setattr(health, 'PROBE_TIMEOUT_S', 0.2)
    released = threading.Event()
    calls = []

    def hung_ping() -> bool:  # a Redis that accepts the connection and answers nothing
        calls.append(1)
        released.wait()
        return True

    _worker_beats()
    health.register(clinic.data_dir, {'broker': hung_ping}, scaled=True)
    try:
        for _ in range(2):
            response = await user.http_client.get('/health')
            body = response.json()
            assert (response.status_code, body['broker'], body['broker_latency_ms']) == (503, 'down', None)
            assert body['reason'] == 'broker down: no answer within 0.2 s'
        assert len(calls) == 1  # the second poll waited on the same probe instead of starting another
    finally:
        released.set()


async def test_a_database_that_never_answers_is_down_without_holding_health(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setattr(health, 'PROBE_TIMEOUT_S', 0.2)
    with socket.socket() as silent:  # takes the connection (the kernel's backlog) and never says a word
        silent.bind(('127.0.0.1', 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        db.configure(
            Settings(
                _env_file=None,
                data_dir=tmp_path,  # type: ignore[call-arg]
                database_url=f'postgresql+psycopg://nobody@127.0.0.1:{port}/none',
            )
        )
        try:
            health.register(tmp_path, {'broker': lambda: True})
            response = await user.http_client.get('/health')
        finally:
            db.dispose()
    # closed, the socket resets the connection: the ping still waiting ends, and the next test's /health pings anew
    await eventually(lambda: all(probe.done() for probe in health._probing.values()), 'the hung ping to end')
    body = response.json()
    assert (response.status_code, body['database'], body['database_latency_ms']) == (503, 'down', None)
    assert body['reason'] == 'database down'
