"""Attack: a patient's thumbnails fetched by URL (the timeline no longer embeds them in the page) by someone signed
out, or for a study under no patient (only roles that see studies may see those), or guessed series ids."""

import hashlib
from datetime import date

import httpx
import pytest
from nicegui import app
from nicegui.testing import User

from dicom import storage
from domain import db
from domain.models import Patient, Series, Study
from tests.conftest import Clinic, sign_in


@pytest.fixture(autouse=True)
def _storage(clinic: Clinic) -> None:
    storage.configure(clinic.data_dir, min_free_bytes=0)


PNG = b'\x89PNG\r\n\x1a\n' + b'thumbnail bytes' * 20


def _series(clinic: Clinic, *, matched: bool, number: int) -> int:
    """A series with a thumbnail on disk, of a study filed under a patient or (matched=False) under none."""
    relative = f'thumbnails/sec-{number}.png'
    (clinic.data_dir / 'thumbnails').mkdir(exist_ok=True)
    (clinic.data_dir / relative).write_bytes(PNG)
    with db.transaction() as session:
        patient = Patient(patient_id=f'PT{number:05d}', family_name='Doe', given_name='Jane', name_key='doe jane')
        session.add(patient)
        session.flush()
        study = Study(
            study_instance_uid=f'1.2.826.0.1.3680043.8.498.77.{number}',
            patient_ref_id=patient.id if matched else None,
            modalities='CT',
            state='ready',
            study_date=date.today(),
        )
        session.add(study)
        session.flush()
        series = Series(
            study_id=study.id or 0,
            series_instance_uid=f'1.2.826.0.1.3680043.8.498.78.{number}',
            modality='CT',
            thumbnail_path=relative,
            thumbnail_sha256=hashlib.sha256(PNG).hexdigest(),
        )
        session.add(series)
        session.flush()
        return series.id or 0


async def test_a_signed_out_browser_gets_no_thumbnail(screens: User, clinic: Clinic) -> None:
    series_id = _series(clinic, matched=True, number=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url='http://test') as stranger:
        response = await stranger.get(f'/thumbnails/{series_id}')
    assert response.status_code == 401
    assert PNG not in response.content


async def test_staff_get_a_patients_thumbnail_privately_cached(screens: User, clinic: Clinic) -> None:
    series_id = _series(clinic, matched=True, number=2)
    await sign_in(screens, clinic.receptionist)
    response = await screens.http_client.get(f'/thumbnails/{series_id}')
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers['cache-control'].startswith('private')
    again = await screens.http_client.get(
        f'/thumbnails/{series_id}', headers={'If-None-Match': response.headers['etag']}
    )
    assert again.status_code == 304
    assert again.content == b''


@pytest.mark.parametrize('role', ['receptionist', 'radiologist'])
async def test_the_thumbnail_of_a_study_under_no_patient_is_not_served_here(
    screens: User, clinic: Clinic, role: str
) -> None:
    series_id = _series(clinic, matched=False, number=3)
    await sign_in(screens, clinic.account(role))
    response = await screens.http_client.get(f'/thumbnails/{series_id}')
    assert response.status_code == 404
    assert PNG not in response.content


async def test_an_unknown_series_is_404(screens: User, clinic: Clinic) -> None:
    await sign_in(screens, clinic.receptionist)
    response = await screens.http_client.get('/thumbnails/987654')
    assert response.status_code == 404
