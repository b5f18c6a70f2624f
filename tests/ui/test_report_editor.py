"""The draft editor as its tab closes, is finalised mid-save or is taken over: no typing lost, nothing overwritten."""

import logging
import threading

import pytest
from nicegui.testing import User

from domain import report_ownership, reporting, templates, users
from domain.access import system
from domain.models import ReportDraft, UserCreate
from tests.conftest import PASSWORD, WAIT_S, Account, Clinic, eventually
from tests.report_fixtures import ABDOMEN_VALUES, make_study, template_id
from ui import live, report_editor


@pytest.fixture(autouse=True)
def _reports(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    reporting.configure(clinic.data_dir)
    templates.seed_shipped()
    monkeypatch.setattr(report_editor, 'AUTOSAVE_S', 3600.0)  # only closing the tab can save


async def test_what_was_typed_since_the_last_autosave_is_saved_when_the_tab_closes(
    radiologist: User, clinic: Clinic
) -> None:
    report_id = await _typed_unsaved(radiologist, clinic)
    _close_tab(radiologist)
    await eventually(lambda: _saved(report_id, clinic).values.get('liver_right_lobe') == '131', 'the save on closing')
    await radiologist.should_see('Saved by Test radiologist')  # what a browser reconnecting to the page sees


async def test_what_was_typed_is_saved_when_the_doctor_moves_to_another_screen(
    radiologist: User, clinic: Clinic
) -> None:
    """A move within the page (a menu entry, no page load) leaves the editor without closing the tab."""
    report_id = await _typed_unsaved(radiologist, clinic)
    page = radiologist.client
    radiologist.navigate.to('/reading')
    await eventually(lambda: _saved(report_id, clinic).values.get('liver_right_lobe') == '131', 'the save on leaving')
    assert radiologist.client is page  # a move, not a page load


async def _typed_unsaved(radiologist: User, clinic: Clinic) -> int:
    """A new draft open in the editor with a value typed and not saved yet; its report id."""
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=clinic.radiologist.actor).id
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('131')
    await radiologist.should_see('Unsaved changes…')
    return report_id


async def test_closing_the_tab_of_a_report_finalised_elsewhere_leaves_it_as_signed(
    radiologist: User, clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    writer = clinic.radiologist.actor
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=writer).id
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('999')
    reporting.save_draft(report_id, ReportDraft(values=ABDOMEN_VALUES, impression='<p>Normal.</p>'), by=writer)
    reporting.finalise(report_id, by=writer)  # in another tab
    caplog.set_level(logging.INFO, logger='ui.report_editor')
    _close_tab(radiologist)
    await eventually(lambda: 'not saved as its tab closed' in caplog.text, 'the refused save on closing')
    assert _saved(report_id, clinic).state == 'final'
    assert _saved(report_id, clinic).values['liver_right_lobe'] == '142'


async def test_finalising_waits_for_a_save_still_on_its_way(
    radiologist: User, clinic: Clinic, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=clinic.radiologist.actor).id
    arrived, release = threading.Event(), threading.Event()
    save_draft = reporting.save_draft

    def slow_save(*args, **kwargs):  # a busy database: the save waits until the test lets it go
        arrived.set()
        release.wait(WAIT_S)
        return save_draft(*args, **kwargs)

    monkeypatch.setattr(reporting, 'save_draft', slow_save)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('140')
    radiologist.find(marker='save-report').click()
    await eventually(arrived.is_set, 'the save reaching the database')
    caplog.set_level(logging.DEBUG, logger='ui.report_editor')
    radiologist.find(marker='finalise').click()
    await eventually(lambda: 'waits for the save on its way' in caplog.text, 'Finalise waiting for the save')
    release.set()
    await radiologist.should_see('Report finalised')
    assert _saved(report_id, clinic).values['liver_right_lobe'] == '140'


async def test_the_authors_open_editor_turns_read_only_when_a_colleague_takes_the_draft_over(
    radiologist: User, clinic: Clinic
) -> None:
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=clinic.radiologist.actor).id
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('131')
    report_ownership.take_over(report_id, by=_colleague().actor)
    await radiologist.should_see('This draft was taken over by Test colleague')
    await radiologist.should_see(marker='taken-over')
    await radiologist.should_not_see(marker='finalise')
    for marker in ('field-liver_right_lobe', 'findings', 'impression', 'report-language'):
        assert radiologist.find(marker=marker).elements.pop().props.get('readonly'), marker
    assert radiologist.find(marker='field-liver_right_lobe').elements.pop().value == '131'  # still there to copy


async def test_a_late_save_after_a_take_over_is_refused_quietly_and_keeps_the_text_on_screen(
    radiologist: User, clinic: Clinic
) -> None:
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=clinic.radiologist.actor).id
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('131')
    live.stop_bridge()  # the save gets there before the news of the take-over does
    colleague = _colleague().actor
    report_ownership.take_over(report_id, by=colleague)
    reporting.save_draft(report_id, ReportDraft(values={'liver_right_lobe': '150'}), by=colleague)
    radiologist.find(marker='save-report').click()
    await radiologist.should_see('This draft was taken over by Test colleague')
    await radiologist.should_not_see('only its author may change')
    assert _saved(report_id, clinic).values == {'liver_right_lobe': '150'}
    assert radiologist.find(marker='field-liver_right_lobe').elements.pop().value == '131'


async def test_closing_the_tab_after_a_take_over_does_not_overwrite_the_new_author(
    radiologist: User, clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=clinic.radiologist.actor).id
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('131')
    live.stop_bridge()  # the tab closes before the news of the take-over arrives
    report_ownership.take_over(report_id, by=_colleague().actor)
    caplog.set_level(logging.INFO, logger='ui.report_editor')
    _close_tab(radiologist)
    await eventually(lambda: 'not saved as its tab closed (NotTheAuthor)' in caplog.text, 'the refused save on closing')
    assert 'liver_right_lobe' not in _saved(report_id, clinic).values


def _colleague() -> Account:
    """A second radiologist of the clinic."""
    created = users.create(
        UserCreate(username='radiologist2', full_name='Test colleague', role='radiologist', password=PASSWORD),
        by=system('test'),
    )
    return Account('radiologist2', PASSWORD, 'radiologist', created.id or 0)


def _close_tab(user: User) -> None:
    """What NiceGUI does when the browser's socket goes away: call the page's disconnect handlers."""
    client = user.client
    assert client is not None
    for handler in client.disconnect_handlers:
        client.safe_invoke(handler)


def _saved(report_id: int, clinic: Clinic):
    return reporting.view(report_id, by=clinic.admin.actor, audited=False).report
