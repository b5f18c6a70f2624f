"""The Forwarding rules screen as an administrator uses it, and forward jobs on the Jobs screen."""

from nicegui.testing import User

from domain import forwarding, modalities, work
from domain.forwarding import ForwardingRuleCreate
from domain.modalities import ModalityCreate
from tests.conftest import Clinic
from ui.shell import menu_for


def _archive(clinic: Clinic) -> int:
    entered = modalities.add(ModalityCreate(ae_title='ARCHIVE', host='10.1.1.50', port=11112), by=clinic.admin.actor)
    return entered.id or 0


async def test_an_admin_adds_a_rule_sending_ct_studies_to_an_entered_modality(admin: User, clinic: Clinic) -> None:
    _archive(clinic)
    await admin.open('/admin/forwarding')
    await admin.should_see(marker='no-rules')
    admin.find(marker='add-rule').click()
    await admin.should_see(marker='rule-name')
    admin.find(marker='rule-name').type('CT to the archive')
    admin.find(marker='rule-description').type('CT*')
    admin.find(marker='rule-destination').click()
    admin.find('ARCHIVE').click()
    admin.find(marker='save-rule').click()
    await admin.should_see('Rule added')
    rules = forwarding.list_rules(by=clinic.admin.actor)
    assert [(r.name, r.description, r.destination_ae, r.active) for r in rules] == [
        ('CT to the archive', 'CT*', 'ARCHIVE', True)
    ]
    await admin.should_see(marker=f'rule-{rules[0].id}')


async def test_a_rule_without_a_destination_is_refused_and_keeps_what_was_typed(admin: User, clinic: Clinic) -> None:
    _archive(clinic)
    await admin.open('/admin/forwarding')
    admin.find(marker='add-rule').click()
    await admin.should_see(marker='rule-name')
    admin.find(marker='rule-name').type('Half typed')
    admin.find(marker='rule-calling-ae').type('CT_ROOM1')
    admin.find(marker='save-rule').click()
    await admin.should_see('Choose the destination among the entered modalities with an address')
    assert admin.find(marker='rule-name').elements.pop().value == 'Half typed'
    assert admin.find(marker='rule-calling-ae').elements.pop().value == 'CT_ROOM1'
    assert forwarding.list_rules(by=clinic.admin.actor) == []


async def test_a_rule_is_disabled_then_deleted(admin: User, clinic: Clinic) -> None:
    rule = forwarding.add(
        ForwardingRuleCreate(name='Everything', destination_id=_archive(clinic)), by=clinic.admin.actor
    )
    await admin.open('/admin/forwarding')
    await admin.should_see(marker=f'toggle-rule-{rule.id}')
    admin.find(marker=f'toggle-rule-{rule.id}').click()
    await admin.should_see('Disabled')
    assert [r.active for r in forwarding.list_rules(by=clinic.admin.actor)] == [False]
    admin.find(marker=f'delete-rule-{rule.id}').click()
    await admin.should_see(marker='confirm-delete-rule')
    admin.find(marker='confirm-delete-rule').click()
    await admin.should_see('Rule deleted')
    assert forwarding.list_rules(by=clinic.admin.actor) == []


async def test_forwarding_rules_sit_next_to_modalities_in_the_admin_menu(admin: User) -> None:
    paths = [item.path for item in menu_for('admin')]
    assert paths.index('/admin/forwarding') == paths.index('/admin/modalities') + 1
    await admin.open('/admin/forwarding')
    await admin.should_see(marker='nav-admin-forwarding')


async def test_a_failed_forward_shows_a_readable_name_and_is_queued_again_by_retry(admin: User, clinic: Clinic) -> None:
    job = work.submit(forwarding.FORWARD_JOB, 3)
    work.fail(job.id or 0, 'Unreachable: ARCHIVE at 10.1.1.50:11112 did not accept an association')
    await admin.open('/admin/jobs')
    await admin.should_see('Forwarding of a study (3)')
    await admin.should_see('did not accept an association')
    admin.find(marker=f'retry-{job.id}').click()
    await admin.should_see('Queued again')
    assert [j.state for j in work.listing(by=clinic.admin.actor)] == ['queued']


async def test_other_roles_cannot_open_the_forwarding_rules(technician: User) -> None:
    await technician.open('/admin/forwarding')
    await technician.should_not_see(marker='add-rule')
