"""The Settings screen as an administrator uses it: each card saves its group, a refused value is kept as typed with
the reason beside it and nothing of the group is stored, and every change is audited with its old and new value."""

import base64
import io
from typing import Any

from nicegui import ui
from nicegui.elements.mixins.value_element import ValueElement
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User
from PIL import Image
from sqlmodel import col, select

from domain import db, options, reporting, templates
from domain.models import AuditEvent
from tests.conftest import Clinic, eventually
from tests.report_fixtures import make_study


def audited(key: str) -> list[dict[str, Any]]:
    """The old -> new values of every audited change of one option, oldest first."""
    with db.reading() as session:
        found = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == 'setting.change', AuditEvent.object_id == key)
            .order_by(col(AuditEvent.id))
        ).all()
    return [event.detail for event in found]


def typed(user: User, marker: str) -> Any:
    """What the field now holds in the browser."""
    return user.find(kind=ValueElement, marker=marker).elements.pop().value


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new('RGB', (40, 20), (31, 95, 139)).save(buffer, format='PNG')
    return buffer.getvalue()


async def test_the_clinic_card_saves_name_and_address_audited_old_to_new(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='clinic-name').clear().type('Sunrise Imaging')
    admin.find(marker='clinic-address').type('1 Harbour Road')
    admin.find(marker='save-clinic').click()
    await admin.should_see('Saved')
    assert options.get_many('clinic_name', 'clinic_address') == {
        'clinic_name': 'Sunrise Imaging',
        'clinic_address': '1 Harbour Road',
    }
    assert audited('clinic_name') == [{'from': 'ClinicPACS', 'to': 'Sunrise Imaging'}]
    assert audited('clinic_address') == [{'from': '', 'to': '1 Harbour Road'}]


async def test_an_empty_clinic_name_is_refused_and_what_was_typed_stays(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='clinic-name').clear()
    admin.find(marker='clinic-address').type('2 Quay Street')
    admin.find(marker='save-clinic').click()
    await admin.should_see('This may not be empty')
    assert typed(admin, 'clinic-address') == '2 Quay Street'
    assert options.get('clinic_address') == ''  # nothing of the group is stored
    assert audited('clinic_address') == []


async def test_turnaround_thresholds_save_together(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='turnaround-amber-minutes').clear().type('90')
    admin.find(marker='turnaround-red-minutes').clear().type('300')
    admin.find(marker='save-reading').click()
    await admin.should_see('Saved')
    assert (options.get('turnaround_amber_minutes'), options.get('turnaround_red_minutes')) == (90, 300)
    assert audited('turnaround_amber_minutes') == [{'from': 60, 'to': 90}]
    assert audited('turnaround_red_minutes') == [{'from': 240, 'to': 300}]


async def test_amber_at_or_past_red_is_refused_with_its_reason_and_kept(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='turnaround-amber-minutes').clear().type('300')
    admin.find(marker='save-reading').click()
    await admin.should_see('Red must be more minutes than amber')
    assert typed(admin, 'turnaround-amber-minutes') == 300
    assert options.get('turnaround_amber_minutes') == 60
    assert audited('turnaround_amber_minutes') == []


async def test_the_default_report_language_is_saved(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(kind=ui.select, marker='report-language').elements.pop().value = 'de'
    admin.find(marker='save-reading').click()
    await admin.should_see('Saved')
    assert options.get('report_language') == 'de'
    assert audited('report_language') == [{'from': '', 'to': 'de'}]


async def test_the_kiosk_card_saves_title_columns_and_names(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='kiosk-title').type('Welcome to Sunrise Imaging')
    admin.find(kind=ui.select, marker='kiosk-states').elements.pop().value = ['waiting', 'in-room']
    admin.find(marker='kiosk-show-names').click()
    admin.find(marker='save-kiosk').click()
    await admin.should_see('Saved')
    assert options.get_many('kiosk_title', 'kiosk_states', 'kiosk_show_names') == {
        'kiosk_title': 'Welcome to Sunrise Imaging',
        'kiosk_states': ['waiting', 'in-room'],
        'kiosk_show_names': True,
    }
    assert audited('kiosk_states') == [
        {'from': ['waiting', 'in-room', 'in-scan', 'review'], 'to': ['waiting', 'in-room']}
    ]


async def test_a_kiosk_without_columns_is_refused(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='kiosk-title').type('Front desk')
    admin.find(kind=ui.select, marker='kiosk-states').elements.pop().value = []
    admin.find(marker='save-kiosk').click()
    await admin.should_see('Choose at least one')
    assert typed(admin, 'kiosk-title') == 'Front desk'
    assert options.get('kiosk_title') == ''


async def test_session_lifetimes_are_saved_per_role(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='session-hours-radiologist').clear().type('12')
    admin.find(marker='session-hours-kiosk').clear().type('48')
    admin.find(marker='save-sessions').click()
    await admin.should_see('Saved')
    assert options.get('session_hours_radiologist') == 12
    assert options.get('session_hours_kiosk') == 48
    assert options.get('session_hours_technician') == 8  # the environment's default, untouched
    assert audited('session_hours_radiologist') == [{'from': 8, 'to': 12}]


async def test_a_lifetime_out_of_range_is_refused_and_kept(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='session-hours-admin').clear().type('500')
    admin.find(marker='save-sessions').click()
    await admin.should_see('Enter a number from 1 to 168')
    assert typed(admin, 'session-hours-admin') == 500
    assert options.get('session_hours_admin') == 8


async def test_the_quiet_period_is_saved_and_a_blank_one_refused(admin: User) -> None:
    await admin.open('/admin/settings')
    admin.find(marker='study-quiet-seconds').clear()
    admin.find(marker='save-arrivals').click()
    await admin.should_see('Enter a number')
    assert options.get('study_quiet_seconds') == 1.0
    admin.find(marker='study-quiet-seconds').type('2.5')
    admin.find(marker='save-arrivals').click()
    await admin.should_see('Saved')
    assert options.get('study_quiet_seconds') == 2.5
    assert audited('study_quiet_seconds') == [{'from': 1.0, 'to': 2.5}]


async def test_a_logo_is_uploaded_shown_and_removed(admin: User) -> None:
    await admin.open('/admin/settings')
    await admin.should_see(marker='no-logo')
    image = png()
    await admin.find(ui.upload).elements.pop().handle_uploads([SmallFileUpload('logo.png', 'image/png', image)])
    await admin.should_see(marker='logo-preview')
    assert base64.b64decode(options.get('clinic_logo')) == image
    (change,) = audited('clinic_logo')
    assert change['from'] == '' and change['to'].startswith(f'{len(image)} bytes, sha256 ')  # not the image itself
    admin.find(marker='remove-logo').click()
    await admin.should_see(marker='no-logo')
    assert options.get('clinic_logo') == ''


async def test_a_logo_that_is_no_image_or_too_large_is_refused(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/settings')
    upload = admin.find(ui.upload).elements.pop()
    await upload.handle_uploads([SmallFileUpload('logo.svg', 'image/svg+xml', b'<svg onload="alert(1)"/>')])
    await admin.should_see('The logo must be a PNG or JPEG image')
    too_large = png() + bytes(reporting.LOGO_MAX_BYTES)
    await upload.handle_uploads([SmallFileUpload('big.png', 'image/png', too_large)])
    await admin.should_see('The logo must be at most 512 KB')
    await admin.should_see(marker='no-logo')
    assert options.get('clinic_logo') == ''
    assert audited('clinic_logo') == []


async def test_an_open_kiosk_follows_its_title_and_columns_live(receptionist: User, clinic: Clinic) -> None:
    await receptionist.open('/kiosk')
    await receptionist.should_see(marker='kiosk-in-scan')
    options.put_many({'kiosk_title': 'Sunrise Imaging', 'kiosk_states': ['waiting']}, by=clinic.admin.actor)
    await receptionist.should_see('Sunrise Imaging')
    await receptionist.should_not_see(marker='kiosk-in-scan')
    await receptionist.should_see(marker='kiosk-waiting')


async def test_a_new_report_is_offered_in_the_clinics_report_language(radiologist: User, clinic: Clinic) -> None:
    reporting.configure(clinic.data_dir)
    templates.seed_shipped()
    options.put('report_language', 'es', by=clinic.admin.actor)
    study = make_study()
    await radiologist.open(f'/studies/{study.study_id}/report')
    await radiologist.should_see(marker='report-language')
    assert radiologist.find(kind=ui.select, marker='report-language').elements.pop().value == 'es'
    radiologist.find(marker='start-report').click()
    await eventually(lambda: reporting.for_study(study.study_id, by=clinic.admin.actor), 'the new report')
    report = reporting.for_study(study.study_id, by=clinic.admin.actor)
    assert report is not None and report.language == 'es'
