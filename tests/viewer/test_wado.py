"""The rendered-frame endpoint: media types, windows, viewports, roles, bad requests and broken files."""

import shutil
from pathlib import Path

import cv2
import numpy as np
from nicegui.testing import User

from dicom import storage, wado
from domain import audit, viewing
from tests.conftest import Clinic

from .studies import DATA_STORE, PYDICOM_FILES, ct_series, first_instance, frame_url, ingest


def _auth(clinic: Clinic, role: str = 'radiologist') -> tuple[str, str]:
    account = clinic.account(role)
    return account.username, account.password


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


async def test_a_frame_is_rendered_as_jpeg_with_the_files_window(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path)
    series, instance = first_instance(study)
    response = await pages.http_client.get(frame_url(study, series, instance), auth=_auth(clinic))
    assert response.status_code == 200
    assert response.headers['content-type'] == 'image/jpeg'
    image = _pixels(response.content)
    assert image.shape == (64, 64)
    assert abs(int(image[32, 32]) - 128) <= 3  # 40 HU at window 40/400 is mid-grey


async def test_png_and_webp_are_answered_by_accept(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    url = frame_url(study, *first_instance(study))
    png = await pages.http_client.get(url, headers={'Accept': 'image/png'}, auth=_auth(clinic))
    webp = await pages.http_client.get(url + '?accept=image/webp', auth=_auth(clinic))
    html = await pages.http_client.get(url, headers={'Accept': 'text/html'}, auth=_auth(clinic))
    assert (png.headers['content-type'], webp.headers['content-type']) == ('image/png', 'image/webp')
    assert html.status_code == 406


async def test_a_new_window_re_renders_without_decoding_again(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    url = frame_url(study, *first_instance(study))
    await pages.http_client.get(url, auth=_auth(clinic))
    misses = wado.frames.misses
    narrow = await pages.http_client.get(f'{url}?window=40,1&accept=image/png', auth=_auth(clinic))
    wide = await pages.http_client.get(f'{url}?window=40,4000,LINEAR_EXACT&accept=image/png', auth=_auth(clinic))
    assert wado.frames.misses == misses
    assert _pixels(narrow.content)[32, 32] == 255 and _pixels(narrow.content)[0, 0] == 0
    assert abs(int(_pixels(wide.content)[32, 32]) - 128) <= 1


async def test_the_viewport_scales_a_large_image_down(pages: User, clinic: Clinic) -> None:
    study = ingest(clinic, DATA_STORE / 'RG3_UNCR.dcm')
    url = frame_url(study, *first_instance(study)).replace('/frames/1/rendered', '/rendered')
    response = await pages.http_client.get(f'{url}?viewport=256,200&accept=image/png', auth=_auth(clinic))
    assert response.status_code == 200
    assert _pixels(response.content).shape == (200, 200)


async def test_absurd_requests_get_a_4xx(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    url = frame_url(study, *first_instance(study))
    for query, status in (
        ('window=40,0', 400),
        ('window=a,b', 400),
        ('window=40,400,CUBIC', 400),
        ('viewport=100000,100000', 400),
        ('viewport=0,10', 400),
        ('quality=0', 400),
        ('quality=x', 400),
    ):
        response = await pages.http_client.get(f'{url}?{query}', auth=_auth(clinic))
        assert response.status_code == status, query
    for frame, status in (('2', 404), ('0', 400), ('1,2', 400), ('999999', 400)):
        response = await pages.http_client.get(url.replace('/frames/1/', f'/frames/{frame}/'), auth=_auth(clinic))
        assert response.status_code == status, frame
    unknown = await pages.http_client.get(url.replace(study.study_instance_uid, '1.2.3.4'), auth=_auth(clinic))
    assert unknown.status_code == 404


async def test_roles_decide_who_gets_frames(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    url = frame_url(study, *first_instance(study))
    assert (await pages.http_client.get(url)).status_code == 401
    assert (await pages.http_client.get(url, auth=_auth(clinic, 'receptionist'))).status_code == 403
    for role in ('technician', 'radiologist', 'admin'):
        assert (await pages.http_client.get(url, auth=_auth(clinic, role))).status_code == 200


async def test_the_first_view_of_a_study_is_audited_once(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=3)
    series, instance = first_instance(study)
    for _frame_source in range(3):
        await pages.http_client.get(frame_url(study, series, instance), auth=_auth(clinic))
    found = audit.search(by=clinic.admin.actor, action='study.view')
    assert [(e.username, e.object_id) for e in found.rows] == [('radiologist1', str(study.id))]


async def test_an_undecodable_image_answers_with_the_reason(pages: User, clinic: Clinic) -> None:
    study = ingest(clinic, PYDICOM_FILES / 'JPEG2000-embedded-sequence-delimiter.dcm')
    response = await pages.http_client.get(frame_url(study, *first_instance(study)), auth=_auth(clinic))
    assert response.status_code == 422
    assert 'cannot be shown' in response.json()['detail']


async def test_a_deleted_file_is_reported_to_the_administrator(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    series, instance = first_instance(study)
    storage.absolute(instance.file_path).unlink()
    response = await pages.http_client.get(frame_url(study, series, instance), auth=_auth(clinic))
    assert response.status_code == 422
    assert 'missing' in response.json()['detail']
    assert viewing.missing_files() == 1


async def test_every_frame_of_a_multi_frame_image_is_served(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    copy = tmp_path / 'us.dcm'
    shutil.copy(DATA_STORE / 'OBXXXX1A_2frame.dcm', copy)
    study = ingest(clinic, copy)
    series, instance = first_instance(study)
    for frame in (1, 2):
        response = await pages.http_client.get(frame_url(study, series, instance, frame), auth=_auth(clinic))
        assert response.status_code == 200
        assert _pixels(response.content).shape == (600, 800, 3)
    third = await pages.http_client.get(frame_url(study, series, instance, 3), auth=_auth(clinic))
    assert third.status_code == 404


async def test_the_health_view_counts_images_whose_file_is_gone(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    from ui import health

    health.register(clinic.data_dir, {})
    study = ct_series(clinic, tmp_path, slices=1)
    series, instance = first_instance(study)
    storage.absolute(instance.file_path).unlink()
    await pages.http_client.get(frame_url(study, series, instance), auth=_auth(clinic))
    assert (await pages.http_client.get('/health')).json()['missing_files'] == 1
