"""Study export refuses who it must: no credentials 401, reception 403 at the route and NotAllowed at the service
(both audited as refusals, no zip, no export audited); an export that would carry the report de-identified is 400."""

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nicegui.testing import User
from pydicom.data import get_testdata_file

from dicom import storage
from domain import audit
from domain import export as exports
from domain.errors import NotAllowed
from domain.export import ExportRequest
from tests.conftest import Clinic
from tests.viewer.studies import ingest


@pytest.fixture
async def served(screens: User, clinic: Clinic) -> AsyncIterator[User]:
    storage.configure(clinic.data_dir)
    yield screens


def _auth(clinic: Clinic, role: str) -> tuple[str, str]:
    return clinic.account(role).username, clinic.account(role).password


async def test_reception_may_not_export_a_study(served: User, clinic: Clinic) -> None:
    study = ingest(clinic, Path(get_testdata_file('CT_small.dcm')))
    url = f'/studies/{study.id}/export'
    assert (await served.http_client.get(url)).status_code == 401
    refused = await served.http_client.get(url, auth=_auth(clinic, 'receptionist'))
    assert refused.status_code == 403 and not refused.content.startswith(b'PK')
    with pytest.raises(NotAllowed):
        exports.prepare(ExportRequest(study.id or 0), by=clinic.receptionist.actor)
    with pytest.raises(NotAllowed):
        exports.choices(study.id or 0, by=clinic.receptionist.actor)
    assert audit.search(by=clinic.admin.actor, action='study.export').total == 0
    assert audit.search(by=clinic.admin.actor, action='route.denied').total == 1

    for role in ('technician', 'radiologist', 'admin'):
        answer = await served.http_client.get(url, auth=_auth(clinic, role))
        assert answer.status_code == 200, role
        assert 'DICOMDIR' in zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert audit.search(by=clinic.admin.actor, action='study.export').total == 3


async def test_a_deidentified_export_with_the_report_is_refused(served: User, clinic: Clinic) -> None:
    study = ingest(clinic, Path(get_testdata_file('CT_small.dcm')))
    url = f'/studies/{study.id}/export?deidentify=true&report=true'
    answer = await served.http_client.get(url, auth=_auth(clinic, 'radiologist'))
    assert answer.status_code == 400 and 'names the patient' in answer.json()['detail']
    answer = await served.http_client.get(f'/studies/{study.id}/export?series=x', auth=_auth(clinic, 'radiologist'))
    assert answer.status_code == 400
    assert (await served.http_client.get('/studies/999999/export', auth=_auth(clinic, 'admin'))).status_code == 404
