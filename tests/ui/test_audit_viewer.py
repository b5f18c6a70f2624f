"""The audit viewer as an administrator asks it questions: filters, old → new values, the CSV of the filtered set,
and the patient page's "who saw this record" list (administrators only)."""

import csv
import io
from datetime import timedelta

from nicegui import ui
from nicegui.testing import User

from domain import appointments, audit, clock, patients, users
from domain.access import Actor
from domain.models import Patient, PatientCreate
from tests.conftest import Clinic, eventually, sign_in


def _failed_sign_in(username: str) -> None:
    """A failed sign-in as domain.sign_in records it (the typed name, no account)."""
    audit.record_alone(Actor(role='', username=username, address='10.0.0.9'), 'login', outcome='failure')


def _register(clinic: Clinic, family_name: str, **details: str) -> Patient:
    return patients.register(
        PatientCreate(family_name=family_name, given_name='Ann', birth_date='1980-02-03', **details),
        by=clinic.receptionist.actor,
    )


def _rows(user: User, marker: str = 'audit-table') -> list[dict]:
    (table,) = user.find(kind=ui.table, marker=marker).elements
    return table.rows


def _names(user: User) -> set[str]:
    """The user names the list shows (none while it is being redrawn)."""
    try:
        rows = _rows(user)
    except AssertionError:  # between the old table's removal and the new one
        return set()
    return {row['username'] for row in rows}


def _search(user: User) -> None:
    user.find(marker='audit-search').click()


async def test_the_user_and_result_filters_narrow_the_list(admin: User, clinic: Clinic) -> None:
    _failed_sign_in('mallory')
    _failed_sign_in('mallory')
    audit.record_alone(Actor(role='', username='mallory', address='10.0.0.9'), 'login', outcome='locked')
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-user').type('mallory')
    _search(admin)
    await admin.should_see('1–3 of 3')
    admin.find(marker='audit-outcome').click()
    admin.find('failure').click()
    _search(admin)
    await admin.should_see('1–2 of 2')
    assert {(row['username'], row['outcome']) for row in _rows(admin)} == {('mallory', 'failure')}


async def test_a_date_range_keeps_only_the_events_of_those_days(screens: User, clinic: Clinic) -> None:
    _failed_sign_in('early-bird')
    first_day = appointments.today()
    clock.advance(timedelta(days=3))
    _failed_sign_in('late-owl')
    await sign_in(screens, clinic.admin)  # a session opened on the later day
    await screens.open('/admin/audit')
    await screens.should_see(marker='audit-table')
    screens.find(marker='audit-since').type(first_day.isoformat())
    screens.find(marker='audit-until').type(first_day.isoformat())
    _search(screens)
    await eventually(lambda: 'early-bird' in _names(screens) and 'late-owl' not in _names(screens), 'the first day')
    assert 'admin1' not in _names(screens)
    screens.find(marker='audit-since').clear().type(appointments.today().isoformat())
    screens.find(marker='audit-until').clear()
    _search(screens)
    await eventually(lambda: 'late-owl' in _names(screens) and 'early-bird' not in _names(screens), 'the later day')
    assert 'admin1' in _names(screens)


async def test_last_day_before_first_is_refused_and_what_was_typed_stays(admin: User) -> None:
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-since').type('2026-12-02')
    admin.find(marker='audit-until').type('2026-11-30')
    _search(admin)
    await admin.should_see('The last day comes before the first')
    (until,) = admin.find(kind=ui.input, marker='audit-until').elements
    assert until.value == '2026-11-30'


async def test_the_patient_filter_shows_only_that_patients_record(admin: User, clinic: Clinic) -> None:
    kept = _register(clinic, 'Filtered')
    other = _register(clinic, 'Other')
    patients.update_details(
        kept.id or 0,
        PatientCreate(family_name='Filtered', given_name='Anna', birth_date='1980-02-03'),
        by=clinic.admin.actor,
    )
    patients.get(other.id or 0, by=clinic.receptionist.actor)
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-patient').type(kept.patient_id)
    _search(admin)
    await admin.should_see('1–2 of 2')
    assert [(row['action'], row['object']) for row in _rows(admin)] == [
        ('patient.update', f'patient {kept.id}'),
        ('patient.create', f'patient {kept.id}'),
    ]
    admin.find(marker='audit-patient').clear().type('NO-SUCH-ID')
    _search(admin)
    await admin.should_see('No patient with the ID NO-SUCH-ID')


async def test_changes_show_their_old_and_new_values(admin: User, clinic: Clinic) -> None:
    patient = _register(clinic, 'Changed')
    patients.update_details(
        patient.id or 0,
        PatientCreate(family_name='Changed', given_name='Ann', birth_date='1980-02-03', phone='+44 20 7946 0958'),
        by=clinic.admin.actor,
    )
    users.update(clinic.technician.username, role='radiologist', by=clinic.admin.actor)
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    changes = {row['action']: row['changes'] for row in _rows(admin)}
    assert changes['patient.update'] == 'phone: — → +44 20 7946 0958'
    assert changes['user.update'] == 'role: technician → radiologist'


async def test_the_csv_export_holds_exactly_the_filtered_events(admin: User, clinic: Clinic) -> None:
    _failed_sign_in('mallory')
    _failed_sign_in('mallory')
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-user').type('mallory')
    _search(admin)
    await admin.should_see('1–2 of 2')
    admin.find(marker='audit-export').click()
    response = await admin.download.next(timeout=20)
    assert response.status_code == 200 and response.headers['content-type'].startswith('text/csv')
    rows = list(csv.DictReader(io.StringIO(response.content.decode('utf-8-sig'))))
    assert [(row['user'], row['action'], row['outcome']) for row in rows] == [('mallory', 'login', 'failure')] * 2
    assert {row['dicom_event_id'] for row in rows} == {'(110114, DCM, "User Authentication")'}
    assert {(row['dicom_event_action_code'], row['dicom_event_outcome_indicator']) for row in rows} == {('E', '8')}
    (exported,) = audit.search(by=clinic.admin.actor, action='audit.export').rows
    assert exported.detail == {'filters': {'username': 'mallory'}, 'rows': 2, 'capped': False}


async def test_an_admin_sees_who_saw_a_patients_record(admin: User, clinic: Clinic) -> None:
    patient = _register(clinic, 'Watched')
    patients.get(patient.id or 0, by=clinic.receptionist.actor)
    await admin.open(f'/patients/{patient.id}')
    await admin.should_see(marker='patient-access-log')
    await admin.should_not_see(marker='patient-access-table')  # read only when opened
    (expansion,) = admin.find(kind=ui.expansion, marker='patient-access-log').elements
    assert admin.client is not None
    with admin.client:
        expansion.open()  # what a click on its header does in the browser
    await admin.should_see(marker='patient-access-table')
    seen = [(row['username'], row['access']) for row in _rows(admin, 'patient-access-table')]
    opened = f'Opened the record (patient {patient.id})'
    assert seen[0] == ('admin1', opened)  # this page view, newest first
    assert seen[-1] == ('receptionist1', opened)


async def test_the_who_saw_list_leads_to_every_event_about_the_record(admin: User, clinic: Clinic) -> None:
    patient = _register(clinic, 'Followed')
    await admin.open(f'/patients/{patient.id}')
    await admin.should_see(marker='patient-access-log')
    (expansion,) = admin.find(kind=ui.expansion, marker='patient-access-log').elements
    assert admin.client is not None
    with admin.client:
        expansion.open()
    await admin.should_see('Every audit event about this record')
    admin.find('Every audit event about this record').click()
    await admin.should_see('1–2 of 2')  # registered, and opened by the admin just now
    assert [row['action'] for row in _rows(admin)] == ['patient.view', 'patient.create']
    (typed,) = admin.find(kind=ui.input, marker='audit-patient').elements
    assert typed.value == patient.patient_id


async def test_a_receptionist_gets_no_who_saw_list(receptionist: User, clinic: Clinic) -> None:
    patient = _register(clinic, 'Private')
    await receptionist.open(f'/patients/{patient.id}')
    await receptionist.should_see(marker='patient-name')
    await receptionist.should_not_see(marker='patient-access-log')
    await receptionist.should_not_see('Who saw this record')


async def test_export_without_search_writes_what_the_inputs_ask_and_shows_it(admin: User, clinic: Clinic) -> None:
    _failed_sign_in('mallory')
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-user').type('mallory')
    admin.find(marker='audit-export').click()
    response = await admin.download.next(timeout=20)
    rows = list(csv.DictReader(io.StringIO(response.content.decode('utf-8-sig'))))
    assert [row['user'] for row in rows] == ['mallory']
    await admin.should_see('1–1 of 1')


async def test_an_unknown_patient_id_exports_nothing(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-patient').type('NO-SUCH-ID')
    admin.find(marker='audit-export').click()
    await admin.should_see('No patient with the ID NO-SUCH-ID')
    admin.find(marker='audit-patient').clear()
    admin.find(marker='audit-export').click()  # then a valid one: it is the only download and the only export
    await admin.download.next(timeout=20)
    assert len(admin.download.http_responses) == 1
    assert audit.search(by=clinic.admin.actor, action='audit.export').total == 1
