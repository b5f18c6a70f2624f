"""The report screens as a radiologist, an admin and the reception use them."""

import pytest
from nicegui import ui
from nicegui.testing import User

from domain import report_ownership, reporting, templates, users
from domain.access import system
from domain.models import ReportDraft, UserCreate
from jobs.reports import render_report_pdf
from tests.conftest import PASSWORD, Account, Clinic, eventually, sign_in
from tests.report_fixtures import add_measurement, final_report, make_study, template_id


@pytest.fixture(autouse=True)
def _reports(clinic: Clinic) -> None:
    reporting.configure(clinic.data_dir)
    templates.seed_shipped()


def _draft(clinic: Clinic, study=None, code: str = 'us-abdomen') -> int:
    study = study or make_study()
    return reporting.start(study.study_id, template_id(code), by=clinic.radiologist.actor).id


def _saved(report_id: int, clinic: Clinic):
    return reporting.view(report_id, by=clinic.admin.actor, audited=False).report


async def test_a_radiologist_starts_a_report_for_a_study_with_a_template(radiologist: User, clinic: Clinic) -> None:
    study = make_study()
    await radiologist.open(f'/studies/{study.study_id}/report')
    await radiologist.should_see(marker='template')
    radiologist.find(marker='template').click()
    radiologist.find('Obstetric ultrasound (version 1)').click()
    radiologist.find(marker='start-report').click()
    await radiologist.should_see('Biparietal diameter (BPD) *')
    report = reporting.for_study(study.study_id, by=clinic.admin.actor)
    assert report is not None and report.state == 'draft'


async def test_a_report_started_on_a_study_with_the_scanners_sr_shows_its_values_and_their_source(
    radiologist: User, clinic: Clinic
) -> None:
    from pydicom.uid import generate_uid

    from dicom import ingest, storage
    from tests.dicom.test_sr_import import ob_sr

    storage.configure(clinic.data_dir, min_free_bytes=0)
    ingest.share(ingest.Ingest())
    sr = ob_sr(generate_uid(), clinic.data_dir.parent / 'ob-sr.dcm')
    study_id = ingest.shared().accept_file(sr, by=clinic.technician.actor).study_id
    await radiologist.open(f'/studies/{study_id}/report')
    await radiologist.should_see(marker='template')
    radiologist.find(marker='template').click()
    radiologist.find('Obstetric ultrasound (version 1)').click()
    radiologist.find(marker='start-report').click()
    await radiologist.should_see(marker='field-bpd')
    bpd = radiologist.find(kind=ui.input, marker='field-bpd').elements.pop()
    assert bpd.value == '52.3'
    assert 'from the scanner’s structured report (GE Healthcare Voluson E10, 2026-12-01)' in bpd.props['hint']
    radiologist.find(kind=ui.input, marker='field-bpd').type('1')  # typed over: the value is the doctor's now
    await eventually(lambda: 'structured report' not in bpd.props.get('hint', ''), 'the source hint gone')


async def test_a_suggested_draft_is_shown_marked_and_taken_into_the_report_only_when_accepted(
    radiologist: User, clinic: Clinic
) -> None:
    report_id = _draft(clinic, code='us-obstetrics')
    values = {'bpd': '52.3', 'hc': '190', 'ac': '170', 'fl': '38'}
    reporting.save_draft(report_id, ReportDraft(values=values), by=clinic.radiologist.actor)
    await radiologist.open(f'/reports/{report_id}')
    radiologist.find(marker='suggest-draft').click()
    await radiologist.should_see(marker='suggestion-measurements')
    await radiologist.should_see('not part of the report until you accept it')
    await radiologist.should_see('Fetal biometry: BPD 52.3 mm, HC 190 mm, AC 170 mm, FL 38 mm.')
    assert 'Fetal biometry' not in _saved(report_id, clinic).findings
    radiologist.find(marker='accept-measurements').click()
    await eventually(lambda: 'Fetal biometry: BPD 52.3 mm' in _saved(report_id, clinic).findings, 'the accepted text')
    assert _saved(report_id, clinic).state == 'draft'


async def test_typing_is_saved_by_itself_and_shows_who_saved(radiologist: User, clinic: Clinic) -> None:
    report_id = _draft(clinic)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('128')
    await radiologist.should_see('Unsaved changes…')
    await eventually(lambda: _saved(report_id, clinic).values.get('liver_right_lobe') == '128', 'the autosave')
    await radiologist.should_see('Saved by Test radiologist')


async def test_an_out_of_range_value_is_flagged_beside_its_field_and_kept(radiologist: User, clinic: Clinic) -> None:
    report_id = _draft(clinic)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-spleen_length').type('190')
    radiologist.find(marker='field-gb_wall').type('thick')
    radiologist.find(marker='save-report').click()
    await radiologist.should_see(marker='flag-spleen_length')
    await radiologist.should_see('Outside the normal range 0–120')
    await radiologist.should_see('Not a number')
    assert _saved(report_id, clinic).values['gb_wall'] == 'thick'


async def test_finalising_with_required_fields_empty_lists_them(radiologist: User, clinic: Clinic) -> None:
    report_id = _draft(clinic)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='finalise').click()
    await radiologist.should_see('Fill in before finalising: Right lobe')
    assert _saved(report_id, clinic).state == 'draft'


async def test_a_finalised_report_is_read_only_on_screen_and_takes_an_addendum(
    radiologist: User, clinic: Clinic
) -> None:
    report_id = _draft(clinic)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='saved-by')
    radiologist.find(marker='field-liver_right_lobe').type('140')
    radiologist.find(marker='finalise').click()
    await radiologist.should_see('Report finalised')
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='signed-by')
    await radiologist.should_see(marker='pdf-pending')
    await radiologist.should_not_see(marker='field-liver_right_lobe')
    await radiologist.should_not_see(marker='save-report')
    assert _saved(report_id, clinic).state == 'final'
    radiologist.find(marker='addendum-text').type('<p>Spleen 104 mm on review.</p>')
    radiologist.find(marker='sign-addendum').click()
    await radiologist.should_see('Addendum signed')
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see(marker='addendum')
    assert _saved(report_id, clinic).state == 'addended'


async def test_a_measurement_goes_into_its_field_with_one_click(radiologist: User, clinic: Clinic) -> None:
    study = make_study()
    measurement = add_measurement(study, 'spleen', 10.45, unit='cm')
    report_id = _draft(clinic, study)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see('spleen: 10.4 cm')
    radiologist.find(marker=f'insert-{measurement}').click()
    assert radiologist.find(marker='field-spleen_length').elements.pop().value == '104.5'
    radiologist.find(marker='save-report').click()
    await radiologist.should_see('Saved')
    # 'Saved by …' shows from the start, so the save is awaited where it lands
    await eventually(lambda: _saved(report_id, clinic).values.get('spleen_length') == '104.5', 'the saved measurement')


async def test_the_reception_reads_a_draft_without_editing_it(receptionist: User, clinic: Clinic) -> None:
    report_id = _draft(clinic)
    await receptionist.open(f'/reports/{report_id}')
    await receptionist.should_see(marker='draft-notice')
    await receptionist.should_not_see(marker='finalise')
    await receptionist.should_not_see(marker='field-liver_right_lobe')


async def test_the_pdf_is_downloaded_by_staff_and_refused_to_strangers(screens: User, clinic: Clinic) -> None:
    report_id = final_report(make_study(), clinic.radiologist.actor)
    url = f'/reports/{report_id}/pdf'
    account = clinic.receptionist
    response = await screens.http_client.get(url, auth=(account.username, account.password))
    assert response.status_code == 404  # not rendered yet
    from domain import work

    render_report_pdf(work.unfinished()[0].id)
    response = await screens.http_client.get(url, auth=(account.username, account.password))
    assert response.status_code == 200
    assert response.headers['content-type'] == 'application/pdf' and response.content.startswith(b'%PDF')
    assert (await screens.http_client.get(url)).status_code == 401


async def test_an_admin_saves_a_template_edit_as_a_new_version(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/templates')
    await admin.should_see(marker='edit-us-thyroid')
    admin.find(marker='edit-us-thyroid').click()
    await admin.should_see(marker='template-definition')
    box = admin.find(marker='template-definition').elements.pop()
    box.value = box.value.replace(
        '"normal": [\n            0.0,\n            10.0\n          ]',
        '"normal": [\n            0.0,\n            12.0\n          ]',
        1,
    )
    admin.find(marker='save-template').click()
    await admin.should_see('Saved as version 2')
    newest = {t.code: t for t in templates.current(by=clinic.admin.actor)}['us-thyroid']
    assert templates.definition(newest).fields()[0].normal == [0.0, 12.0]


async def test_a_broken_template_edit_is_refused_and_kept(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/templates')
    await admin.should_see(marker='edit-free')
    admin.find(marker='edit-free').click()
    await admin.should_see(marker='template-definition')
    box = admin.find(marker='template-definition').elements.pop()
    box.value = '{"name": {"en": "Free"}, "sections": [{"key": "Bad Key"}]}'
    admin.find(marker='save-template').click()
    await admin.should_see('The template is not valid')
    assert box.value.startswith('{"name": {"en": "Free"}')
    assert [t.version for t in templates.versions('free', by=clinic.admin.actor)] == [1]


async def test_the_templates_page_holds_no_logo_upload_and_links_to_the_settings_that_do(admin: User) -> None:
    await admin.open('/admin/templates')
    await admin.should_see(marker='edit-us-thyroid')
    await admin.should_not_see(kind=ui.upload)  # the logo is uploaded on the Settings screen only
    admin.find(marker='logo-settings-link').click()
    await admin.should_see(marker='settings-logo')


async def test_reports_are_searched_by_text_and_state(radiologist: User, clinic: Clinic) -> None:
    final_report(make_study(family_name='Orlova'), clinic.radiologist.actor, findings='<p>Hepatic cyst 8 mm.</p>')
    draft = _draft(clinic, make_study(family_name='Sokolov'))
    reporting.save_draft(draft, ReportDraft(findings='<p>Renal cyst.</p>'), by=clinic.radiologist.actor)
    await radiologist.open('/reports')
    await radiologist.should_see('Orlova, Anna')
    radiologist.find(marker='report-search').type('hepatic')
    await radiologist.should_not_see('Sokolov, Anna')
    await radiologist.should_see('Orlova, Anna')


def _colleague() -> Account:
    """A second radiologist of the clinic."""
    created = users.create(
        UserCreate(username='radiologist2', full_name='Test colleague', role='radiologist', password=PASSWORD),
        by=system('test'),
    )
    return Account('radiologist2', PASSWORD, 'radiologist', created.id or 0)


async def test_a_colleague_takes_a_draft_over_after_confirming_and_writes_it(screens: User, clinic: Clinic) -> None:
    colleague = _colleague()
    report_id = _draft(clinic)
    await sign_in(screens, colleague)
    await screens.open(f'/reports/{report_id}')
    await screens.should_see(marker='take-over')
    screens.find(marker='take-over').click()
    await screens.should_see('Take over this draft from Test radiologist?')
    screens.find(marker='confirm-take-over').click()
    await screens.should_see(marker='field-liver_right_lobe')
    await screens.should_see('taken over from Test radiologist by Test colleague')
    assert _saved(report_id, clinic).author_id == colleague.user_id
    screens.find(marker='field-liver_right_lobe').type('133')
    screens.find(marker='save-report').click()
    await eventually(lambda: _saved(report_id, clinic).values.get('liver_right_lobe') == '133', 'the new author saving')


async def test_the_author_sees_afterwards_who_took_the_draft_over(radiologist: User, clinic: Clinic) -> None:
    colleague = _colleague()
    report_id = _draft(clinic)
    report_ownership.take_over(report_id, by=colleague.actor)
    await radiologist.open(f'/reports/{report_id}')
    await radiologist.should_see('This draft is being written by Test colleague')
    await radiologist.should_see('taken over from Test radiologist by Test colleague')
    await radiologist.should_not_see(marker='finalise')


async def test_an_admin_reassigns_a_draft_but_may_not_write_or_finalise_it(admin: User, clinic: Clinic) -> None:
    colleague = _colleague()
    report_id = _draft(clinic)
    await admin.open(f'/reports/{report_id}')
    await admin.should_see(marker='reassign-to')
    await admin.should_see(marker='ownership-banner')
    await admin.should_not_see(marker='take-over')
    await admin.should_not_see(marker='finalise')
    await admin.should_not_see(marker='field-liver_right_lobe')
    admin.find(marker='reassign-to').click()
    admin.find('Test colleague').click()
    admin.find(marker='reassign').click()
    await admin.should_see('reassigned from Test radiologist to Test colleague by Test admin')
    assert _saved(report_id, clinic).author_id == colleague.user_id
