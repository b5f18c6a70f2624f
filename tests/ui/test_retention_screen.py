"""The Retention screen and the legal-hold toggle, as an administrator (and a receptionist) uses them."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from domain import db, patients, retention, retention_rules, work
from domain.models import Job, Patient, PatientCreate, Study
from domain.retention_rules import RetentionRuleCreate
from tests.conftest import Clinic, eventually, job_worker, sign_in
from tests.domain.test_retention import arrive_study
from tests.viewer.conftest import pages  # noqa: F401 - the viewer's pages with storage configured
from tests.viewer.studies import ct_series
from ui.admin import retention_runs


@pytest.fixture
def patient(clinic: Clinic) -> Patient:
    details = PatientCreate(family_name='Old', given_name='Echo', birth_date='1940-01-02')
    return patients.register(details, by=clinic.receptionist.actor)


@pytest.fixture
def worker(clinic: Clinic) -> Iterator[None]:
    with job_worker():
        yield


async def test_a_refused_rule_keeps_what_was_typed_and_names_the_field(admin: User) -> None:
    await admin.open('/admin/retention')
    await admin.should_see(marker='no-rules')
    admin.find(marker='add-rule').click()
    admin.find(marker='rule-description').type('cine')
    admin.find(marker='save-rule').click()
    await admin.should_see('Give the rule a name of at most 100 characters')
    assert admin.find(marker='rule-description').elements.pop().value == 'cine'
    admin.find(marker='rule-name').type('Old cine')
    admin.find(marker='save-rule').click()
    await admin.should_see('Rule added')
    await admin.should_see('Old cine')
    await admin.should_see('10 years')


async def test_preview_confirm_and_run_show_what_was_moved_to_the_trash(
    admin: User, clinic: Clinic, patient: Patient, worker: None
) -> None:
    old = arrive_study(clinic, patient.patient_id, date(2009, 1, 2), 'US', 'Cine loop')
    stills = arrive_study(clinic, patient.patient_id, date(2009, 1, 2), 'US', 'Stills')
    rule = retention_rules.add(RetentionRuleCreate(name='Old cine', description='cine'), by=clinic.admin.actor)
    await admin.open('/admin/retention')
    await admin.should_see(marker=f'preview-rule-{rule.id}')
    admin.find(marker=f'preview-rule-{rule.id}').click()
    await admin.should_see(marker='preview-table')
    rows = admin.find(ui.table).elements.pop().rows
    assert [(row['id'], row['patient']) for row in rows] == [(old, 'Old, Echo')]
    admin.find(marker='move-to-trash').click()
    await admin.should_see('Move 1 study to the trash?')
    await admin.should_see('They stay in the trash for 30 days')
    admin.find(marker='confirm-run').click()
    await admin.should_see('1 removed · 0 skipped · of 1 study')
    await admin.should_see('Studies moved to the trash')
    with db.reading() as session:
        assert session.get(Study, old) is None
        assert session.get(Study, stills) is not None


async def test_an_admin_puts_a_patient_under_legal_hold_saying_why(
    admin: User, clinic: Clinic, patient: Patient
) -> None:
    await admin.open(f'/patients/{patient.id}')
    await admin.should_see(marker='legal-hold')
    admin.find(marker='legal-hold').click()
    admin.find(marker='hold-cancel').click()  # cancelled: the switch shows what is on file again
    await eventually(lambda: admin.find(marker='legal-hold').elements.pop().value is False, 'the switch off again')
    admin.find(marker='legal-hold').click()
    await admin.should_see(marker='hold-reason')
    admin.find(marker='hold-save').click()
    await admin.should_see('Say why (a case, a request) in at most 500 characters')
    admin.find(marker='hold-reason').type('Court order 12')
    admin.find(marker='hold-save').click()
    await admin.should_see('Legal hold placed')
    assert retention.hold_of(patient_id=patient.id, by=clinic.admin.actor).held


async def test_others_see_a_legal_hold_chip_and_no_switch(screens: User, clinic: Clinic, patient: Patient) -> None:
    retention.set_legal_hold(patient_id=patient.id, held=True, by=clinic.admin.actor, reason='Case 4')
    await sign_in(screens, clinic.receptionist)
    await screens.open(f'/patients/{patient.id}')
    await screens.should_see(marker='legal-hold-chip')
    await screens.should_not_see(marker='legal-hold')


async def test_the_viewer_shows_the_study_hold_switch_to_admins_and_the_chip_to_others(
    pages: User,  # noqa: F811 - the fixture imported above
    clinic: Clinic,
    tmp_path: Path,
) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    await sign_in(pages, clinic.admin)
    await pages.open(f'/viewer/{study.id}')
    await pages.should_see(marker='viewer-ready')
    pages.find(marker='legal-hold').click()
    pages.find(marker='hold-reason').type('Complaint 8')
    pages.find(marker='hold-save').click()
    await pages.should_see('Legal hold placed')
    assert retention.hold_of(study_id=study.id, by=clinic.admin.actor).held
    await sign_in(pages, clinic.technician)
    await pages.open(f'/viewer/{study.id}')
    await pages.should_see(marker='legal-hold-chip')
    await pages.should_not_see(marker='legal-hold')


async def test_the_jobs_screen_names_a_retention_run(admin: User, clinic: Clinic, patient: Patient) -> None:
    old = arrive_study(clinic, patient.patient_id, date(2009, 1, 2), 'US', 'Cine loop')
    rule = retention_rules.add(RetentionRuleCreate(name='Old cine', description='cine'), by=clinic.admin.actor)
    run_id = retention.confirm(rule.id or 0, [old], by=clinic.admin.actor)
    await admin.open('/admin/jobs')
    await admin.should_see(marker='jobs-queued')
    admin.find(marker='jobs-queued').click()
    await admin.should_see(f'Retention run {run_id}')


async def test_a_run_whose_job_was_discarded_says_so_and_stops_polling(
    admin: User, clinic: Clinic, patient: Patient
) -> None:
    old = arrive_study(clinic, patient.patient_id, date(2009, 1, 2), 'US', 'Cine loop')
    rule = retention_rules.add(RetentionRuleCreate(name='Old cine', description='cine'), by=clinic.admin.actor)
    run_id = retention.confirm(rule.id or 0, [old], by=clinic.admin.actor)
    with db.transaction() as session:  # its job failed (no worker runs here) …
        job = session.exec(select(Job).where(Job.kind == retention.RUN_JOB, Job.object_id == run_id)).one()
        job.state, job.error = 'failed', 'disk gone'
        session.add(job)
    work.discard(job.id or 0, by=clinic.admin.actor)  # … and the administrator gave it up
    await admin.open('/admin/retention')
    await admin.should_see(marker=f'run-discarded-{run_id}')
    await admin.should_not_see(marker=f'run-failed-{run_id}')
    panel_timers = [t for t in admin.find(kind=ui.timer).elements if t.interval == retention_runs.POLL_S]
    assert panel_timers and not any(t.active for t in panel_timers)
