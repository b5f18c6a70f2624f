"""The draft editor as its tab closes or is finalised mid-save: no typing is lost; a report signed since stays."""

import logging
import threading

import pytest
from nicegui.testing import User

from domain import reporting, templates
from domain.models import ReportDraft
from tests.conftest import WAIT_S, Clinic, eventually
from tests.report_fixtures import ABDOMEN_VALUES, make_study, template_id
from ui import report_editor


@pytest.fixture(autouse=True)
def _reports(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    reporting.configure(clinic.data_dir)
    templates.seed_shipped()
    monkeypatch.setattr(report_editor, 'AUTOSAVE_S', 3600.0)  # only closing the tab can save


async def test_what_was_typed_since_the_last_autosave_is_saved_when_the_tab_closes(
    radiologist: User, clinic: Clinic
) -> None:
    report_id = reporting.start(make_study().study_id, template_id('us-abdomen'), by=clinic.radiologist.actor).id
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('131')
    await radiologist.should_see('Unsaved changes…')
    _close_tab(radiologist)
    await eventually(lambda: _saved(report_id, clinic).values.get('liver_right_lobe') == '131', 'the save on closing')
    await radiologist.should_see('Saved by Test radiologist')  # what a browser reconnecting to the page sees


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


def _close_tab(user: User) -> None:
    """What NiceGUI does when the browser's socket goes away: call the page's disconnect handlers."""
    client = user.client
    assert client is not None
    for handler in client.disconnect_handlers:
        client.safe_invoke(handler)


def _saved(report_id: int, clinic: Clinic):
    return reporting.view(report_id, by=clinic.admin.actor, audited=False).report
