"""The administrator's audit, modality and password screens as an admin uses them."""

from nicegui import ui
from nicegui.testing import User

from domain import auth, modalities, procedures, users, work
from domain.modalities import ModalityCreate
from tests.conftest import Clinic, sign_in


async def test_the_audit_trail_is_searched_by_user_and_its_chain_checked(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/audit')
    await admin.should_see(marker='audit-table')
    admin.find(marker='audit-user').type('admin1')
    admin.find(marker='audit-search').click()
    await admin.should_see('1–1 of 1')
    rows = admin.find(ui.table).elements.pop().rows
    assert [(row['username'], row['action']) for row in rows] == [('admin1', 'login')]
    admin.find(marker='audit-verify').click()
    await admin.should_see('Chain intact')


async def test_a_disabled_modality_may_no_longer_send(admin: User, clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='CT_ROOM1', host='10.1.1.10'), by=clinic.admin.actor)
    await admin.open('/admin/modalities')
    await admin.should_see(marker='modality-CT_ROOM1')
    admin.find(marker='toggle-CT_ROOM1').click()
    await admin.should_see('Disabled')
    assert not modalities.is_allowed('CT_ROOM1')


async def test_an_admin_edits_a_modality_host(admin: User, clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='US_ROOM2', host='10.1.1.20'), by=clinic.admin.actor)
    await admin.open('/admin/modalities')
    await admin.should_see(marker='edit-US_ROOM2')
    admin.find(marker='edit-US_ROOM2').click()
    await admin.should_see(marker='host')
    admin.find(marker='host').clear().type('10.1.1.21')
    admin.find(marker='save-modality').click()
    await admin.should_see('Saved')
    assert [m.host for m in modalities.list_all(by=clinic.admin.actor)] == ['10.1.1.21']


async def test_a_reset_password_is_the_one_that_signs_in(admin: User) -> None:
    await admin.open('/admin/users')
    await admin.should_see(marker='reset-technician1')
    admin.find(marker='reset-technician1').click()
    await admin.should_see(marker='reset-password')
    admin.find(marker='reset-password').type('a brand new long password')
    admin.find(marker='reset-save').click()
    await admin.should_see('Password changed')
    assert auth.login('technician1', 'a brand new long password').actor.username == 'technician1'


async def test_a_procedure_no_longer_offered_leaves_the_booking_list(admin: User, clinic: Clinic) -> None:
    procedures.create('CT-HEAD', 'CT head', 'CT', 15, by=clinic.admin.actor)
    await admin.open('/admin/procedures')
    await admin.should_see(marker='active-CT-HEAD')
    admin.find(marker='active-CT-HEAD').click()
    await admin.should_see('Saved')
    assert [p.code for p in procedures.list_all(by=clinic.admin.actor)] == []


async def test_a_failed_job_shows_its_error_and_is_queued_again_by_retry(admin: User, clinic: Clinic) -> None:
    job = work.submit('render_report_pdf', 7)
    work.fail(job.id or 0, 'template missing')
    await admin.open('/admin/jobs')
    await admin.should_see('template missing')
    admin.find(marker=f'retry-{job.id}').click()
    await admin.should_see('Queued again')
    assert [j.state for j in work.listing(by=clinic.admin.actor)] == ['queued']


async def test_a_failed_job_reads_in_the_admins_language(screens: User, clinic: Clinic) -> None:
    users.set_language('de', by=clinic.admin.actor)
    job = work.submit('render_report_pdf', 12)
    work.start(job.id or 0)
    work.fail(job.id or 0, 'NotFound: No report 12')
    await sign_in(screens, clinic.admin)
    await screens.open('/admin/jobs')
    await screens.should_see('NotFound: Kein Befund 12')
    await screens.should_see(f'#{job.id} PDF des Befunds 12')
    await screens.should_see('1 Versuch')


async def test_the_audit_trail_names_roles_and_outcomes_in_the_admins_language(screens: User, clinic: Clinic) -> None:
    users.set_language('fr', by=clinic.admin.actor)
    await sign_in(screens, clinic.admin)
    await screens.open('/admin/audit')
    await screens.should_see(marker='audit-table')
    rows = screens.find(ui.table).elements.pop().rows
    assert ('administrateur', 'réussi') in {(row['role'], row['outcome']) for row in rows if row['action'] == 'login'}
    screens.find(marker='audit-verify').click()
    await screens.should_see('Chaîne intacte')


async def test_the_settings_offer_no_clinic_language(admin: User) -> None:
    await admin.open('/admin/settings')
    await admin.should_see(marker='clinic-name')
    await admin.should_not_see('Clinic language')
