"""MPR: volume geometry from positions and orientation, reslicing with slabs, the crosshair's arithmetic, the route."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from nicegui.testing import User

from dicom import mpr, volume, wado_mpr
from domain import audit, db
from domain.models import Series
from tests.conftest import Clinic, sign_in

from .studies import ct_series, ingest
from .synthetic import write_volume

SHAPE = (20, 32, 24)  # slices, rows, columns: all different, so a swapped axis shows
BRIGHT = (5, 9, 13)  # column, row, slice


def _load(tmp_path: Path, **options) -> volume.Volume:
    return volume.load(write_volume(tmp_path, SHAPE, BRIGHT, **options))


def _peak(image: np.ndarray) -> tuple[set[int], set[int]]:
    rows, columns = np.nonzero(image == image.max())
    return set(rows.tolist()), set(columns.tolist())


def test_the_volume_puts_a_bright_voxel_at_its_column_row_and_slice(tmp_path: Path) -> None:
    found = _load(tmp_path)
    assert found.shape == SHAPE
    assert found.spacing == (2.0, 1.0, 1.0)
    assert found.voxels[13, 9, 5] == 1000 and int((found.voxels == 1000).sum()) == 1
    assert _peak(mpr.reslice(found, 'axial', 13)) == ({9}, {5})


def test_coronal_and_sagittal_place_the_bright_voxel_at_the_right_row_and_column(tmp_path: Path) -> None:
    found = _load(tmp_path)
    coronal, sagittal = mpr.reslice(found, 'coronal', 9), mpr.reslice(found, 'sagittal', 5)
    # 2 mm slices on 1 mm pixels: each plane is 40 rows high; slice 13 of 20 is the 7th from the top (head up)
    assert coronal.shape == (40, 24) and sagittal.shape == (40, 32)
    rows, columns = _peak(coronal)
    assert columns == {5} and rows <= {12, 13}
    rows, columns = _peak(sagittal)
    assert columns == {9} and rows <= {12, 13}
    assert mpr.reslice(found, 'coronal', 8).max() == -1000  # the neighbouring plane misses it


def test_a_point_clicked_in_one_plane_is_the_same_voxel_in_the_others(tmp_path: Path) -> None:
    found = _load(tmp_path)
    assert mpr.voxel_at(found, 'axial', 13, 5.5, 9.5) == BRIGHT
    assert mpr.voxel_at(found, 'coronal', 9, 5.5, 12.5) == BRIGHT
    assert mpr.voxel_at(found, 'sagittal', 5, 9.5, 13.9) == BRIGHT
    for plane, index in (('axial', 13), ('coronal', 9), ('sagittal', 5)):
        at, column, row = mpr.point_of(found, plane, BRIGHT)
        assert at == index
        assert mpr.voxel_at(found, plane, at, column, row) == BRIGHT


def test_slices_are_ordered_by_position_not_by_file_or_instance_number(tmp_path: Path) -> None:
    paths = write_volume(tmp_path, SHAPE, BRIGHT)
    forwards, backwards = volume.load(paths), volume.load(list(reversed(paths)))
    assert np.array_equal(forwards.voxels, backwards.voxels)
    assert backwards.voxels[13, 9, 5] == 1000


def test_a_series_stored_feet_up_with_rows_towards_anterior_is_turned_into_patient_axes(tmp_path: Path) -> None:
    # rows run towards anterior (column direction -y), so the normal points to the feet (-z)
    found = _load(tmp_path, orientation=(1, 0, 0, 0, -1, 0))
    nz, ny, _nx = SHAPE
    assert found.voxels[nz - 1 - 13, ny - 1 - 9, 5] == 1000


def test_irregular_spacing_is_refused_with_a_message(tmp_path: Path) -> None:
    positions = [[0.0, 0.0, n * 2.0 + (1.0 if n > 10 else 0.0)] for n in range(SHAPE[0])]
    with pytest.raises(volume.VolumeError, match='not evenly spaced'):
        _load(tmp_path, positions=positions)


def test_a_gantry_tilt_is_refused_with_a_message(tmp_path: Path) -> None:
    positions = [[0.0, n * 0.5, n * 2.0] for n in range(SHAPE[0])]
    with pytest.raises(volume.VolumeError, match='gantry tilt'):
        _load(tmp_path, positions=positions)


def test_an_oblique_series_is_refused_with_a_message(tmp_path: Path) -> None:
    c, s = float(np.cos(0.3)), float(np.sin(0.3))
    with pytest.raises(volume.VolumeError, match='oblique'):
        _load(tmp_path, orientation=(c, s, 0, -s, c, 0))


def test_thick_slabs_take_the_maximum_minimum_or_mean(tmp_path: Path) -> None:
    found = _load(tmp_path)
    assert mpr.reslice(found, 'axial', 11).max() == -1000  # two slices away: a thin plane misses it
    mip = mpr.reslice(found, 'axial', 11, thickness=5, mode='mip')
    average = mpr.reslice(found, 'axial', 11, thickness=5, mode='avg')
    minip = mpr.reslice(found, 'axial', 11, thickness=5, mode='minip')
    assert mip[9, 5] == 1000 and _peak(mip) == ({9}, {5})
    assert average[9, 5] == pytest.approx((1000 - 4 * 1000) / 5)
    assert minip.max() == -1000


def test_a_sagittal_slab_gathers_the_voxels_beside_the_plane(tmp_path: Path) -> None:
    found = _load(tmp_path)
    assert mpr.reslice(found, 'sagittal', 7).max() == -1000  # x = 7 misses the voxel at x = 5
    mip = mpr.reslice(found, 'sagittal', 7, thickness=5, mode='mip')  # x = 5 … 9
    rows, columns = _peak(mip)
    assert columns == {9} and rows <= {12, 13} and mip.max() == pytest.approx(500)  # 1000 HU half a row up/down
    thin_peak = mpr.reslice(found, 'sagittal', 5).max()
    assert mpr.reslice(found, 'sagittal', 7, thickness=5, mode='avg').max() == pytest.approx((thin_peak - 4000) / 5)
    assert mpr.reslice(found, 'sagittal', 7, thickness=5, mode='minip').max() == -1000


def test_the_cache_keeps_the_newest_volumes_within_its_bytes(tmp_path: Path) -> None:
    found = _load(tmp_path)
    cache = volume.VolumeCache(max_bytes=int(found.nbytes * 2.5))
    for key in ('a', 'b', 'c'):
        cache.put(key, found)
    assert cache.cached('a') is None and cache.cached('b') is found and cache.cached('c') is found
    assert cache.nbytes == 2 * found.nbytes


# ---------------------------------------------------------------- the route


def _auth(clinic: Clinic, role: str = 'radiologist') -> tuple[str, str]:
    account = clinic.account(role)
    return account.username, account.password


def _series_id(study_id: int | None) -> int:
    with db.reading() as session:
        found = session.exec(Series.__table__.select().where(Series.study_id == study_id)).first()  # type: ignore[attr-defined]
    return int(found.id)


@pytest.fixture
def volume_study(clinic: Clinic, tmp_path: Path) -> int:
    wado_mpr.volumes.clear()
    study = ingest(clinic, *write_volume(tmp_path, SHAPE, BRIGHT))
    return _series_id(study.id)


async def test_a_coronal_image_is_rendered_with_the_bright_voxel_in_place(
    pages: User, clinic: Clinic, volume_study: int
) -> None:
    url = f'/mpr/{volume_study}/coronal/avg/1/9?accept=image/png'
    response = await pages.http_client.get(url, auth=_auth(clinic))
    assert response.status_code == 200 and response.headers['content-type'] == 'image/png'
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (40, 24)
    rows, columns = _peak(image)
    assert columns == {5} and rows <= {12, 13}


async def test_roles_decide_who_gets_mpr_images(pages: User, clinic: Clinic, volume_study: int) -> None:
    url = f'/mpr/{volume_study}/sagittal/mip/3/5'
    assert (await pages.http_client.get(url)).status_code == 401
    assert (await pages.http_client.get(url, auth=_auth(clinic, 'receptionist'))).status_code == 403
    for role in ('technician', 'radiologist', 'admin'):
        assert (await pages.http_client.get(url, auth=_auth(clinic, role))).status_code == 200


async def test_the_first_mpr_view_of_a_study_is_audited_once(pages: User, clinic: Clinic, volume_study: int) -> None:
    for index in range(3):
        await pages.http_client.get(f'/mpr/{volume_study}/axial/avg/1/{index}', auth=_auth(clinic))
    found = audit.search(by=clinic.admin.actor, action='study.view')
    assert [e.username for e in found.rows] == ['radiologist1']


async def test_bad_planes_and_series_that_are_no_volume_are_answered_plainly(
    pages: User, clinic: Clinic, volume_study: int, tmp_path: Path
) -> None:
    assert (await pages.http_client.get(f'/mpr/{volume_study}/oblique/avg/1/0', auth=_auth(clinic))).status_code == 400
    assert (await pages.http_client.get(f'/mpr/{volume_study}/axial/avg/1/99', auth=_auth(clinic))).status_code == 404
    two_slices = ct_series(clinic, tmp_path / 'small', slices=2)
    response = await pages.http_client.get(f'/mpr/{_series_id(two_slices.id)}/axial/avg/1/0', auth=_auth(clinic))
    assert response.status_code == 422
    assert 'at least 3 slices' in response.json()['detail']


# ---------------------------------------------------------------- the viewer


async def test_mpr_of_an_unevenly_spaced_series_tells_the_doctor_why(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    positions = [[0.0, 0.0, n * 2.0 + (1.0 if n > 10 else 0.0)] for n in range(SHAPE[0])]
    study = ingest(clinic, *write_volume(tmp_path, SHAPE, BRIGHT, positions=positions))
    await sign_in(pages, clinic.radiologist)
    await pages.open(f'/viewer/{study.id}')
    await pages.should_see(marker='viewer-ready')
    pages.find(marker='mpr').click()
    await pages.should_see('The slices are not evenly spaced (2.00–3.00 mm apart); MPR needs a regular series')
    await pages.should_not_see(marker='mpr-slab')
