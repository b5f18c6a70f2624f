from collections.abc import Iterator

import pytest
from nicegui import ui
from nicegui.element import Element
from nicegui.testing import User
from sqlmodel import select

from domain import db, mfa
from domain.models import AuditEvent
from domain.settings import Settings
from tests.conftest import Clinic, eventually
from tests.mfa_fixtures import code_now, enrol


@pytest.fixture(autouse=True)
def _nobody_required(settings: Settings) -> Iterator[None]:
    yield
    mfa.configure(settings.model_copy(update={'mfa_required': ''}))


async def test_a_radiologist_turns_on_two_step_sign_in_from_the_account_page(radiologist: User, clinic: Clinic) -> None:
    await radiologist.open('/account')
    await radiologist.should_see(marker='mfa-off')
    await radiologist.should_see(marker='mfa-turn-on')
    radiologist.find(marker='mfa-turn-on').click()
    await radiologist.should_see(marker='mfa-qr')
    secret = _text(radiologist.find(marker='mfa-secret').elements.pop()).replace(' ', '')
    radiologist.find(marker='mfa-code').type(code_now(secret))
    radiologist.find(marker='mfa-confirm').click()
    await radiologist.should_see('Recovery codes')
    shown = [_text(label) for label in radiologist.find(marker='recovery-codes').elements.pop().descendants()]
    assert len(shown) == 10
    radiologist.find(marker='recovery-codes-stored').click()
    await radiologist.should_see('On · recovery codes left: 10')
    assert mfa.is_enabled(clinic.radiologist.user_id)
    assert mfa.check(clinic.radiologist.user_id, shown[0])


async def test_a_wrong_code_leaves_two_step_sign_in_off(radiologist: User, clinic: Clinic) -> None:
    await radiologist.open('/account')
    await radiologist.should_see(marker='mfa-turn-on')
    radiologist.find(marker='mfa-turn-on').click()
    await radiologist.should_see(marker='mfa-qr')
    radiologist.find(marker='mfa-code').type('12345')
    radiologist.find(marker='mfa-confirm').click()
    await radiologist.should_see('That code does not match')
    assert not mfa.is_enabled(clinic.radiologist.user_id)


async def test_a_user_turns_it_off_with_a_current_code(technician: User, clinic: Clinic) -> None:
    secret, _ = enrol(clinic.technician)
    await technician.open('/account')
    await technician.should_see(marker='mfa-turn-off')
    technician.find(marker='mfa-turn-off').click()
    await technician.should_see(marker='mfa-current-code')
    technician.find(marker='mfa-current-code').type(code_now(secret))
    technician.find(marker='mfa-code-go').click()
    await technician.should_see('Two-step sign-in is off')
    await technician.should_see(marker='mfa-off')
    assert not mfa.is_enabled(clinic.technician.user_id)


async def test_turning_it_off_is_not_offered_when_the_role_requires_it(
    admin: User, clinic: Clinic, settings: Settings
) -> None:
    enrol(clinic.admin)
    mfa.configure(settings.model_copy(update={'mfa_required': 'admin'}))
    await admin.open('/account')
    await admin.should_see(marker='mfa-on')
    await admin.should_not_see(marker='mfa-turn-off')


async def test_new_recovery_codes_are_shown_once_after_a_current_code(technician: User, clinic: Clinic) -> None:
    secret, old = enrol(clinic.technician)
    assert mfa.check(clinic.technician.user_id, old[0])  # one used up
    await technician.open('/account')
    await technician.should_see('On · recovery codes left: 9')
    await technician.should_see(marker='mfa-new-codes')
    technician.find(marker='mfa-new-codes').click()
    await technician.should_see(marker='mfa-current-code')
    technician.find(marker='mfa-current-code').type(code_now(secret))
    technician.find(marker='mfa-code-go').click()
    await technician.should_see(marker='recovery-codes')
    technician.find(marker='recovery-codes-stored').click()
    await technician.should_see('On · recovery codes left: 10')
    assert not mfa.check(clinic.technician.user_id, old[1])


async def test_an_admin_resets_a_users_two_step_sign_in_from_the_user_list(admin: User, clinic: Clinic) -> None:
    enrol(clinic.radiologist)
    await admin.open('/admin/users')
    await admin.should_see(marker='mfa-reset-radiologist1')
    admin.find(marker='mfa-reset-radiologist1').click()
    await admin.should_see(marker='mfa-reset-confirm')
    admin.find(marker='mfa-reset-confirm').click()
    await admin.should_see('Two-step sign-in reset')
    await admin.should_not_see(marker='mfa-reset-radiologist1')
    assert not mfa.is_enabled(clinic.radiologist.user_id)
    reset = await eventually(lambda: _audited('mfa.reset'), 'the reset in the audit trail')
    assert reset is not None
    assert (reset.user_id, reset.object_id) == (clinic.admin.user_id, str(clinic.radiologist.user_id))


def _audited(action: str) -> AuditEvent | None:
    with db.reading() as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action)).first()


def _text(element: Element) -> str:
    assert isinstance(element, ui.label)
    return element.text
