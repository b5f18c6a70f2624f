"""The reading worklist draws its first page of studies with 'Show more' for the rest, opens a study in the
viewer or its report through plain links, and claims, assigns, releases and flags studies from buttons drawn as
HTML in one element (ui/html_actions.py; the tests press them with tests/conftest.press())."""

import re
from datetime import timedelta

from nicegui import ui
from nicegui.testing import User
from sqlmodel import col, select

from domain import clock, db
from domain.models import AuditEvent, Study
from domain.reading import UNASSIGNED
from tests.conftest import Clinic, eventually, press, pressable, shown_html
from ui import reading

LIST = 'reading-list'


def _ready_studies(count: int, *, modalities: str = 'CT', assigned_to_id: int | None = None) -> list[Study]:
    with db.transaction() as session:
        studies = [
            Study(
                study_instance_uid=f'9.7.{modalities}.{n}',
                modalities=modalities,
                state='ready',
                description=f'Chest {n:03d}' if modalities == 'CT' else f'Knee {n:03d}',
                first_arrival=clock.now() - timedelta(minutes=count - n),
                assigned_to_id=assigned_to_id,
            )
            for n in range(count)
        ]
        session.add_all(studies)
    return studies


def _study(study_id: int) -> Study:
    with db.reading() as session:
        study = session.get(Study, study_id)
        assert study is not None
        return study


def _actions(study_id: int) -> list[str]:
    with db.reading() as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.object_id == str(study_id)).order_by(col(AuditEvent.id))
        ).all()
    return [e.action for e in events if e.action.startswith('study.')]


async def _assign_dialog(admin: User, study_id: int) -> ui.select:
    """Press a row's Assign… and return the open dialog's choice of reader."""
    press(admin, LIST, 'assign', study_id)
    await admin.should_see(marker='assign-reader')
    return admin.find(kind=ui.select, marker='assign-reader').elements.pop()


async def test_a_long_worklist_draws_its_first_page_and_the_rest_on_request(radiologist: User, clinic: Clinic) -> None:
    _ready_studies(reading.PAGE_SIZE + 2)
    await radiologist.open('/reading')
    await radiologist.should_see(f'Chest {reading.PAGE_SIZE - 1:03d}')  # oldest first
    await radiologist.should_not_see(f'Chest {reading.PAGE_SIZE:03d}')
    radiologist.find(marker='reading-more').click()
    await radiologist.should_see(f'Chest {reading.PAGE_SIZE + 1:03d}')
    await radiologist.should_not_see(marker='reading-more')


async def test_a_row_shows_the_studys_short_id(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    with db.transaction() as session:
        row = session.get(Study, study.id)
        assert row is not None
        row.short_id = 'KX7P2M9Q'
    await radiologist.open('/reading')
    await radiologist.should_see(marker=LIST)
    assert '>KX7P2M9Q</span>' in shown_html(radiologist, LIST)


async def test_a_row_opens_the_viewer_and_the_report_by_link(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await radiologist.open('/reading')
    await radiologist.should_see('Chest 000')
    html = shown_html(radiologist, LIST)
    viewer = re.search(rf'<a [^>]*data-mark="view-{study.id}"[^>]*>', html)
    report = re.search(rf'<a [^>]*data-mark="report-{study.id}"[^>]*>', html)
    assert viewer is not None and report is not None
    assert f'href="/viewer/{study.id}"' in viewer[0] and 'title="Open in viewer"' in viewer[0]
    assert f'href="/studies/{study.id}/report"' in report[0] and 'title="Report"' in report[0]


async def test_a_radiologist_may_claim_but_not_assign(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await radiologist.open('/reading')
    await radiologist.should_see('Chest 000')
    assert pressable(radiologist, LIST, f'claim-{study.id}')
    assert not pressable(radiologist, LIST, f'assign-{study.id}')


async def test_an_admin_may_assign_but_not_claim(admin: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await admin.open('/reading')
    await admin.should_see('Chest 000')
    assert pressable(admin, LIST, f'assign-{study.id}')
    assert not pressable(admin, LIST, f'claim-{study.id}')


async def test_an_admin_assigns_a_study_to_a_radiologist(admin: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await admin.open('/reading')
    await admin.should_see('Chest 000')
    (await _assign_dialog(admin, study.id or 0)).value = clinic.radiologist.user_id
    admin.find(marker='assign-save').click()
    await admin.should_see('Assigned')
    assert _study(study.id or 0).assigned_to_id == clinic.radiologist.user_id
    assert _actions(study.id or 0) == ['study.assign']
    await admin.should_see('Test radiologist')  # the row shows its reader now


async def test_an_admin_releases_a_study_by_clearing_its_reader(admin: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1, assigned_to_id=clinic.radiologist.user_id)
    await admin.open('/reading')
    await admin.should_see('Test radiologist')
    reader = await _assign_dialog(admin, study.id or 0)
    assert reader.value == clinic.radiologist.user_id  # the dialog starts from the study's reader
    reader.value = None
    admin.find(marker='assign-save').click()
    await eventually(lambda: _study(study.id or 0).assigned_to_id is None, 'the study released')
    assert _actions(study.id or 0) == ['study.release']
    await admin.should_not_see('Test radiologist')


async def test_cancelling_the_assign_dialog_changes_nothing(admin: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await admin.open('/reading')
    await admin.should_see('Chest 000')
    (await _assign_dialog(admin, study.id or 0)).value = clinic.radiologist.user_id
    admin.find(marker='assign-cancel').click()
    dialog = admin.find(kind=ui.dialog).elements.pop()
    await eventually(lambda: not dialog.value, 'the dialog closed')
    assert _study(study.id or 0).assigned_to_id is None
    assert _actions(study.id or 0) == []


async def test_a_radiologist_claims_a_study_and_its_claim_button_goes(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await radiologist.open('/reading')
    await radiologist.should_see('Chest 000')
    press(radiologist, LIST, 'claim', study.id)
    await radiologist.should_see('Claimed')
    await eventually(lambda: not pressable(radiologist, LIST, f'claim-{study.id}'), 'the claim button gone')
    assert _study(study.id or 0).assigned_to_id == clinic.radiologist.user_id


async def test_the_flag_marks_a_study_urgent_and_back(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await radiologist.open('/reading')
    await radiologist.should_see('Chest 000')
    assert 'priority_high' not in shown_html(radiologist, LIST)
    press(radiologist, LIST, 'flag', study.id, '1')
    await eventually(lambda: 'priority_high' in shown_html(radiologist, LIST), 'the urgent mark')
    assert _study(study.id or 0).urgent
    assert re.search(
        rf'data-value="0" data-mark="flag-{study.id}"', shown_html(radiologist, LIST)
    )  # pressed again: not
    press(radiologist, LIST, 'flag', study.id, '0')
    await eventually(lambda: 'priority_high' not in shown_html(radiologist, LIST), 'the urgent mark gone')
    assert not _study(study.id or 0).urgent


async def test_garbled_presses_do_nothing(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await radiologist.open('/reading')
    await radiologist.should_see('Chest 000')
    press(radiologist, LIST, 'claim', 'not-a-number')
    press(radiologist, LIST, 'flag', study.id, 'maybe')
    press(radiologist, LIST, 'delete', study.id)
    press(radiologist, LIST, 'claim', '<script>')
    await radiologist.should_see('Chest 000')
    assert _actions(study.id or 0) == []


async def test_the_modality_filter_narrows_the_list(radiologist: User, clinic: Clinic) -> None:
    _ready_studies(1)
    _ready_studies(1, modalities='MR')
    await radiologist.open('/reading')
    await radiologist.should_see('Knee 000')
    radiologist.find(kind=ui.select, marker='reading-modality').elements.pop().value = 'MR'
    await radiologist.should_not_see('Chest 000')
    await radiologist.should_see('Knee 000')


async def test_the_unassigned_filter_leaves_out_claimed_studies(radiologist: User, clinic: Clinic) -> None:
    _ready_studies(1)
    _ready_studies(1, modalities='MR', assigned_to_id=clinic.radiologist.user_id)
    await radiologist.open('/reading')
    await radiologist.should_see('Knee 000')
    radiologist.find(kind=ui.toggle, marker='reading-who').elements.pop().value = UNASSIGNED
    await radiologist.should_not_see('Knee 000')
    await radiologist.should_see('Chest 000')


async def test_values_are_escaped_in_the_list(radiologist: User, clinic: Clinic) -> None:
    with db.transaction() as session:
        session.add(Study(study_instance_uid='9.8', modalities='CT', state='ready', description='<b>bold</b> & co'))
    await radiologist.open('/reading')
    await radiologist.should_see('&lt;b&gt;bold&lt;/b&gt; &amp; co')
    assert '<b>bold</b>' not in shown_html(radiologist, LIST)
