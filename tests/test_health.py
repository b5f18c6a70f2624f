from pathlib import Path

from nicegui.testing import User

from domain import db
from domain.settings import Settings
from tests.conftest import Clinic
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
    assert response.json()['database'] == 'down'


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
