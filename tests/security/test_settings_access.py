"""Attack: someone other than an administrator changes the clinic's settings — a longer session lifetime for their
own role, a kiosk that shows full names, another logo on the reports — through the screen or by calling the
options service from a screen they may open. Both are refused (and the refusal audited); nothing changes."""

import pytest
from nicegui.testing import User
from sqlmodel import col, select

from domain import db, options, reporting
from domain.errors import NotAllowed
from domain.models import AuditEvent
from tests.conftest import Clinic, sign_in

NOT_ADMINS = ('receptionist', 'technician', 'radiologist')
PNG = b'\x89PNG\r\n\x1a\n' + bytes(64)


@pytest.mark.parametrize('role', NOT_ADMINS)
def test_no_other_role_may_store_an_option_or_the_logo(clinic: Clinic, role: str) -> None:
    actor = clinic.account(role).actor
    attempts = (
        lambda: options.put(f'session_hours_{role}', 168, by=actor),
        lambda: options.put_many({'kiosk_show_names': True, 'kiosk_title': 'Mine'}, by=actor),
        lambda: reporting.set_logo(PNG, by=actor),
    )
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
    assert options.get_many(f'session_hours_{role}', 'kiosk_show_names', 'kiosk_title', 'clinic_logo') == {
        f'session_hours_{role}': 8,
        'kiosk_show_names': False,
        'kiosk_title': '',
        'clinic_logo': '',
    }
    with db.reading() as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.username) == actor.username)).all()
    assert [event.action for event in events] == ['denied:manage-settings'] * len(attempts)


async def test_the_settings_screen_is_refused_to_others(screens: User, clinic: Clinic) -> None:
    for role in NOT_ADMINS:
        await sign_in(screens, clinic.account(role))
        await screens.open('/admin/settings')
        await screens.should_see(marker='not-allowed')
        await screens.should_not_see(marker='settings-sessions')
        await screens.should_not_see(marker='save-clinic')
