"""WADO-RS refuses what it must: no credentials 401, roles without READ_IMAGES 403, UIDs that name nothing (or do not
belong together) a JSON 404, bulk data paths outside the instance 404, unreadable frame lists 400, an Accept it cannot
serve 406 — never a 500, never another study's data. The first view of a study is audited once."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nicegui.testing import User
from pydicom.data import get_testdata_file
from sqlmodel import select

from dicom import storage, wado
from domain import audit, db, viewing
from domain.models import Instance, Series, Study
from tests.conftest import Clinic
from tests.viewer.studies import ingest


@pytest.fixture
async def pacs(screens: User, clinic: Clinic) -> AsyncIterator[User]:
    storage.configure(clinic.data_dir)
    wado.sources.clear()
    viewing.forget_views()
    yield screens


def _uids(study: Study) -> tuple[str, str, str]:
    with db.reading() as session:
        series = session.exec(select(Series).where(Series.study_id == study.id)).one()
        instance = session.exec(select(Instance).where(Instance.series_id == series.id)).one()
    return study.study_instance_uid, series.series_instance_uid, instance.sop_instance_uid


def _routes(study: str, series: str, instance: str, *, level: str = 'study') -> list[str]:
    """Every WADO-RS resource of these UIDs at or below `level` (study, series, instance)."""
    base = f'/dicomweb/studies/{study}'
    one = f'{base}/series/{series}/instances/{instance}'
    by_level = {
        'study': [base, f'{base}/metadata', f'{base}/thumbnail', f'{base}/rendered'],
        'series': [f'{base}/series/{series}{end}' for end in ('', '/metadata', '/thumbnail', '/rendered')],
        'instance': [f'{one}{end}' for end in ('', '/metadata', '/frames/1', '/bulkdata/7FE00010', '/thumbnail')],
    }
    levels = ('study', 'series', 'instance')
    return [url for name in levels[levels.index(level) :] for url in by_level[name]]


def _auth(clinic: Clinic, role: str) -> tuple[str, str]:
    return clinic.account(role).username, clinic.account(role).password


async def test_only_roles_that_read_images_get_anything(pacs: User, clinic: Clinic) -> None:
    urls = _routes(*_uids(ingest(clinic, Path(get_testdata_file('CT_small.dcm')))))
    for url in urls:
        assert (await pacs.http_client.get(url)).status_code == 401, url
        refused = await pacs.http_client.get(url, auth=_auth(clinic, 'receptionist'))
        assert refused.status_code == 403, url
        for role in ('technician', 'radiologist', 'admin'):
            assert (await pacs.http_client.get(url, auth=_auth(clinic, role))).status_code == 200, (url, role)
    refusals = audit.search(by=clinic.admin.actor, action='route.denied')
    assert len(refusals.rows) == len(urls)


async def test_uids_that_name_nothing_or_do_not_belong_together_are_a_json_404(pacs: User, clinic: Clinic) -> None:
    ct = _uids(ingest(clinic, Path(get_testdata_file('CT_small.dcm'))))
    mr = _uids(ingest(clinic, Path(get_testdata_file('MR_small.dcm'))))
    auth = _auth(clinic, 'radiologist')
    wrong = [
        *_routes('1.2.3.4', ct[1], ct[2]),  # unknown study
        *_routes(ct[0], mr[1], mr[2], level='series'),  # another study's series under this study
        *_routes(ct[0], ct[1], mr[2], level='instance'),  # another series' instance
        *_routes(ct[0], '1.2.3', ct[2], level='series'),  # unknown series
    ]
    for url in wrong:
        answer = await pacs.http_client.get(url, auth=auth)
        assert answer.status_code == 404, url
        assert answer.headers['content-type'] == 'application/json' and 'detail' in answer.json(), url
    for junk in ('junk', '1.2.x', '1' * 80, "1'--"):
        answer = await pacs.http_client.get(f'/dicomweb/studies/{junk}/metadata', auth=auth)
        assert answer.status_code == 404, junk


async def test_frame_lists_and_bulk_data_paths_are_checked(pacs: User, clinic: Clinic) -> None:
    study, series, instance = _uids(ingest(clinic, Path(get_testdata_file('CT_small.dcm'))))
    one = f'/dicomweb/studies/{study}/series/{series}/instances/{instance}'
    auth = _auth(clinic, 'radiologist')
    for frames, status in (('0', 400), ('a', 400), ('1,,2', 400), ('-1', 400), ('1;2', 400), ('2', 404), ('1,2', 404)):
        assert (await pacs.http_client.get(f'{one}/frames/{frames}', auth=auth)).status_code == status, frames
    for path in (
        '..%2F..%2F..%2Fetc%2Fpasswd',
        '7FE00010/../../x',
        '00100010',
        'FFFFFFFF',
        '7FE00010/0',
        '%2e%2e',
        'x',
    ):
        answer = await pacs.http_client.get(f'{one}/bulkdata/{path}', auth=auth)
        assert answer.status_code == 404, path
    private = await pacs.http_client.get(f'{one}/bulkdata/00431029', auth=auth)
    assert private.status_code == 200 and private.headers['content-type'].startswith('multipart/related')


async def test_an_accept_it_cannot_serve_is_406(pacs: User, clinic: Clinic) -> None:
    study, series, instance = _uids(ingest(clinic, Path(get_testdata_file('CT_small.dcm'))))
    base = f'/dicomweb/studies/{study}'
    one = f'{base}/series/{series}/instances/{instance}'
    auth = _auth(clinic, 'radiologist')
    for url, accept in (
        (f'{base}/metadata', 'multipart/related; type="application/dicom+xml"'),
        (base, 'application/pdf'),
        (base, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'),
        (f'{one}/frames/1', 'multipart/related; type="image/jp2"'),
        (f'{one}/bulkdata/00431029', 'image/png'),
        (f'{one}/thumbnail', 'text/html'),
    ):
        answer = await pacs.http_client.get(url, auth=auth, headers={'Accept': accept})
        assert answer.status_code == 406, (url, accept)


async def test_the_first_view_of_a_study_is_audited_once(pacs: User, clinic: Clinic) -> None:
    study_row = ingest(clinic, Path(get_testdata_file('CT_small.dcm')))
    study, series, instance = _uids(study_row)
    auth = _auth(clinic, 'technician')
    for url in _routes(study, series, instance):
        assert (await pacs.http_client.get(url, auth=auth)).status_code == 200
    found = audit.search(by=clinic.admin.actor, action='study.view')
    assert [(e.username, e.object_id) for e in found.rows] == [('technician1', str(study_row.id))]
