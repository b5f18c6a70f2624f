"""Annotations refuse who they must: the GSPS download is 401 without credentials and 403 for reception (audited,
no DICOM bytes); a colleague who did not draw an annotation may neither move, rewrite nor delete it."""

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pydicom
import pytest
from nicegui.testing import User

from dicom import gsps, storage
from domain import annotations, audit, viewing
from domain.annotations import ARROW
from domain.errors import NotAllowed
from tests.conftest import Clinic
from tests.viewer.studies import ct_series


@pytest.fixture
async def served(screens: User, clinic: Clinic) -> AsyncIterator[User]:
    storage.configure(clinic.data_dir)
    yield screens


def _auth(clinic: Clinic, role: str) -> tuple[str, str]:
    return clinic.account(role).username, clinic.account(role).password


async def test_the_presentation_state_is_for_staff_who_read_images_only(
    served: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    instance = viewing.open_study(study.id or 0, by=clinic.admin.actor).series[0].instances[0]
    annotations.add(study.id or 0, instance.id, 1, ARROW, [[1, 2], [20, 30]], by=clinic.technician.actor)
    url = f'/viewer/{study.id}/annotations.dcm'

    assert (await served.http_client.get(url)).status_code == 401
    refused = await served.http_client.get(url, auth=_auth(clinic, 'receptionist'))
    assert refused.status_code == 403 and b'DICM' not in refused.content
    assert audit.search(by=clinic.admin.actor, action='route.denied').total == 1
    assert audit.search(by=clinic.admin.actor, action='annotation.export').total == 0

    for role in ('technician', 'radiologist', 'admin'):
        answer = await served.http_client.get(url, auth=_auth(clinic, role))
        assert answer.status_code == 200, role
        assert answer.headers['content-type'] == 'application/dicom'
        assert pydicom.dcmread(io.BytesIO(answer.content)).SOPClassUID == gsps.GSPS_SOP_CLASS
    assert audit.search(by=clinic.admin.actor, action='annotation.export').total == 3
    missing = await served.http_client.get('/viewer/999999/annotations.dcm', auth=_auth(clinic, 'admin'))
    assert missing.status_code == 404


async def test_a_colleague_cannot_change_what_someone_else_drew(served: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    instance = viewing.open_study(study.id or 0, by=clinic.admin.actor).series[0].instances[0]
    made = annotations.add(study.id or 0, instance.id, 1, ARROW, [[1, 2], [20, 30]], by=clinic.technician.actor)
    for who in (clinic.radiologist.actor, clinic.receptionist.actor):
        with pytest.raises(NotAllowed):
            annotations.change(made.id, points=[[0, 0], [5, 5]], by=who)
        with pytest.raises(NotAllowed):
            annotations.change(made.id, text='changed', by=who)
        with pytest.raises(NotAllowed):
            annotations.delete(made.id, by=who)
    (kept,) = annotations.of_study(study.id or 0, by=clinic.admin.actor)
    assert (kept.points, kept.text, kept.changed_by) == ([[1.0, 2.0], [20.0, 30.0]], '', '')
