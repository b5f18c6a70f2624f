"""Issue 18: a diagnostic centre's staff see only their centre. Every screen and every HTTP route that takes an id or a
UID is walked as staff of centre A with centre B's ids and UIDs (and with A's, which must show A's data: the check
can fail); every list and search they may open shows none of B's patients, studies or reports."""

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from nicegui import app
from nicegui.testing import User
from pydicom.data import get_testdata_file
from sqlmodel import select

from dicom import storage, wado
from dicom.ingest import Ingest
from domain import access, centre_admin, centres, db, modalities, viewing
from domain.centre_admin import CentreData
from domain.modalities import ModalityCreate
from domain.models import Instance, Report, Series, Study
from tests.conftest import Account, Clinic, sign_in
from tests.report_fixtures import StudyRows, final_report, make_study
from ui import live, register_pages


@dataclass(frozen=True)
class Centre:
    """One centre's rows: a booked, scanned and reported study, and a study pushed by its modality with its files."""

    id: int
    booked: StudyRows
    report_id: int
    pushed: Study
    series_id: int
    series_uid: str
    instance_uid: str
    markers: tuple[str, ...]  # what must never show to the other centre: names, UIDs, short IDs

    def ids(self) -> dict[str, str]:
        return {
            'study_id': str(self.booked.study_id),
            'patient_id': str(self.booked.patient_id),
            'report_id': str(self.report_id),
            'series_id': str(self.series_id),
            'study': self.pushed.study_instance_uid,
            'series': self.series_uid,
            'instance': self.instance_uid,
        }


def _centre(clinic: Clinic, centre_id: int, ae_title: str, *, sample: str, family: str, tmp: Path) -> Centre:
    modality = modalities.add(
        ModalityCreate(ae_title=ae_title, host='127.0.0.1', port=104, modality='CT'), by=clinic.admin.actor
    )
    centre_admin.set_modality_centre(modality.id or 0, centre_id, by=clinic.admin.actor)
    with centres.scoped(frozenset({centre_id})):
        booked = make_study(family_name=family, given_name='Centre', description=f'US {family.upper()}')
    report_id = final_report(booked, clinic.radiologist.actor)
    dataset = pydicom.dcmread(get_testdata_file(sample))
    dataset.PatientName, dataset.PatientID = f'{family}^Pushed', f'{ae_title}-1'
    dataset.save_as(tmp / sample)
    pushed_id = Ingest().accept_file(tmp / sample, by=access.modality(ae_title)).study_id
    with db.reading() as session:
        pushed = session.get(Study, pushed_id)
        series = session.exec(select(Series).where(Series.study_id == pushed_id)).one()
        instance = session.exec(select(Instance).where(Instance.series_id == series.id)).one()
        booked_study = session.get(Study, booked.study_id)
    assert pushed is not None and booked_study is not None
    assert pushed.centre_id == centre_id and booked_study.centre_id == centre_id
    markers = (
        family,
        pushed.study_instance_uid,
        booked_study.study_instance_uid,
        booked_study.short_id or '',
        pushed.short_id or '',
    )
    return Centre(
        centre_id,
        booked,
        report_id,
        pushed,
        series.id or 0,
        series.series_instance_uid,
        instance.sop_instance_uid,
        markers,
    )


@pytest.fixture
async def two(user: User, clinic: Clinic, tmp_path: Path) -> AsyncIterator[tuple[Centre, Centre]]:
    """Centre A (the clinic's own, id 1) and centre B, each with its data; the clinic's technician and receptionist
    work for A and its radiologist reads for A only."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    wado.sources.clear()
    viewing.forget_views()
    b = centre_admin.create(CentreData(name='Centre B', currency='INR'), by=clinic.admin.actor)
    a_id, b_id = centres.default_id(), b.id or 0
    a = _centre(clinic, a_id, 'CENTREA', sample='MR_small.dcm', family='Alphaville', tmp=tmp_path)
    other = _centre(clinic, b_id, 'CENTREB', sample='CT_small.dcm', family='Betatown', tmp=tmp_path)
    for account in (clinic.technician, clinic.receptionist):
        centre_admin.set_staff_centre(account.user_id, a_id, by=clinic.admin.actor)
    centre_admin.set_served(clinic.radiologist.user_id, {a_id}, by=clinic.admin.actor)
    register_pages()
    live.start_bridge()
    yield a, other
    live.stop_bridge()


def _page_text(user: User) -> str:
    """Everything the simulated browser holds: text, HTML content and props (tables' rows, selects' options)."""
    assert user.client is not None
    parts = []
    for element in user.client.elements.values():
        parts.append(str(getattr(element, 'text', '')))
        parts.append(str(getattr(element, 'content', '')))
        parts.append(json.dumps(element.props, default=str))
    return '\n'.join(parts)


def _leaks(text: str, centre: Centre) -> list[str]:
    return [marker for marker in centre.markers if marker and marker in text]


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r'\{(\w+)(?::path)?\}', lambda m: ids.get(m.group(1), '1'), path)


STAFF = ('centre', 'technician', 'radiologist', 'receptionist')


def _screens(role: str, *, with_ids: bool) -> list[str]:
    return sorted(
        path
        for path, roles in access.SCREENS.items()
        if role in roles and ('{' in path) == with_ids and path not in ('/login', '/certificate', '/kiosk')
    )


@pytest.mark.parametrize('role', STAFF)
async def test_every_screen_with_an_id_shows_nothing_of_another_centre(
    two: tuple[Centre, Centre], user: User, clinic: Clinic, role: str
) -> None:
    a, b = two
    account: Account = clinic.account(role)
    await sign_in(user, account)
    paths = _screens(role, with_ids=True)
    assert paths, role
    shown_own = 0
    for path in paths:
        await user.open(_fill(path, b.ids()))
        assert _leaks(_page_text(user), b) == [], (role, path)
        await user.open(_fill(path, a.ids()))
        shown_own += bool(_leaks(_page_text(user), a))
    assert shown_own, f'no screen of {role} showed its own centre: the check could not fail'


@pytest.mark.parametrize('role', STAFF)
async def test_every_list_shows_only_the_own_centre(
    two: tuple[Centre, Centre], user: User, clinic: Clinic, role: str
) -> None:
    a, b = two
    await sign_in(user, clinic.account(role))
    for path in _screens(role, with_ids=False):
        await user.open(path)
        assert _leaks(_page_text(user), b) == [], (role, path)
    if access.may_open(role, '/patients'):
        await user.open('/patients?q=Betatown')
        assert _leaks(_page_text(user), b) == []
        await user.open('/patients?q=Alphaville')
        assert _leaks(_page_text(user), a), 'the search found not even the own centre’s patient'


def _routes(role: str) -> list[str]:
    return sorted(
        path
        for path, roles in access.ROUTES.items()
        if role in roles and ('{' in path or path.startswith('/dicomweb/')) and not path.startswith('/ohif/')
    )


BOTH = pytest.mark.parametrize('backend', ['sqlite', 'postgres'], indirect=True)  # the scope's SQL on each


@BOTH
@pytest.mark.parametrize('role', STAFF)
async def test_every_route_answers_another_centres_ids_with_nothing(
    two: tuple[Centre, Centre], user: User, clinic: Clinic, role: str
) -> None:
    a, b = two
    account: Account = clinic.account(role)
    auth = (account.username, account.password)
    answered_own = 0
    for path in _routes(role):
        for ids in (b.ids(), {**b.ids(), 'study_id': str(b.pushed.id)}):
            response = await user.http_client.get(_fill(path, ids), auth=auth)
            assert response.status_code in (200, 204, 400, 403, 404), (path, response.status_code)
            assert _leaks(response.text, b) == [], (role, path)
            if response.status_code == 200 and '{' in path:
                assert not response.content.startswith(b'\x89PNG') and b'DICM' not in response.content[:200], path
        own = await user.http_client.get(_fill(path, {**a.ids(), 'study_id': str(a.pushed.id)}), auth=auth)
        answered_own += own.status_code == 200
    assert answered_own, f'no route answered {role} about its own centre: the check could not fail'


@BOTH
async def test_a_search_of_dicomweb_lists_only_the_own_centre(
    two: tuple[Centre, Centre], user: User, clinic: Clinic
) -> None:
    a, b = two
    auth = (clinic.centre.username, clinic.centre.password)
    studies = (await user.http_client.get('/dicomweb/studies', auth=auth)).json()
    uids = {study['0020000D']['Value'][0] for study in studies}
    assert a.pushed.study_instance_uid in uids and b.pushed.study_instance_uid not in uids


@BOTH
async def test_services_called_directly_by_centre_staff_refuse_another_centres_rows(
    two: tuple[Centre, Centre], clinic: Clinic
) -> None:
    from domain import patients, reporting, viewing
    from domain.errors import NotFound

    a, b = two
    actor = clinic.centre.actor
    with pytest.raises(NotFound):
        patients.get(b.booked.patient_id, by=actor)
    with pytest.raises(NotFound):
        reporting.view(b.report_id, by=actor)
    with pytest.raises(NotFound):
        reporting.pdf_file(b.report_id, by=actor)
    assert reporting.for_study(b.booked.study_id, by=actor) is None
    assert [row for row in reporting.search(by=actor) if row.id == b.report_id] == []
    with pytest.raises(NotFound):
        viewing.open_study(b.booked.study_id, by=actor)
    with pytest.raises(NotFound):
        viewing.series_files(b.series_id, by=actor)
    assert patients.get(a.booked.patient_id, by=actor).id == a.booked.patient_id
    with centres.unscoped(), db.reading() as session:
        assert session.get(Report, b.report_id) is not None  # the system still sees every centre
    assert app is not None
