"""A move between screens within an open page (ui.sub_pages, no page load) checks what a page load checks.

The frame is built once per tab and the browser asks for the next screen over its open connection: a receptionist
could try to move to the users screen, or a tab left open after its session ended could keep moving. Each move
checks the session and the role again.
"""

from html import escape

from nicegui.testing import User
from sqlmodel import col, select

from domain import access, auth, db
from domain.models import AuditEvent
from tests.conftest import Clinic, eventually, sign_in
from tests.test_access_table import _concrete, _register_all, _registered
from ui import live, shell


def _title(user: User) -> str:
    return str(user.find(marker='screen-title').elements.pop().content)


async def _moved(user: User, path: str, client: object) -> None:
    """Move as sub_pages.js does on a click on a link, and wait until the move has started (the screen it left is
    gone) on the same page (no page load)."""
    user.navigate.to(path)
    await eventually(lambda: user.back_history[-1] == path, f'the move to {path}')
    assert user.client is client, 'the move loaded a new page'


async def test_a_move_to_a_screen_the_role_may_not_open_is_refused_and_recorded(screens: User, clinic: Clinic) -> None:
    receptionist = screens
    await sign_in(receptionist, clinic.receptionist)
    await receptionist.open('/board')
    await receptionist.should_see(marker='screen-title')
    await _moved(receptionist, '/admin/users', receptionist.client)
    await receptionist.should_see(marker='not-allowed')
    assert 'Not allowed' in _title(receptionist)
    await receptionist.should_not_see(marker='add-user')
    with db.reading() as session:
        refused = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.action) == 'screen.denied', col(AuditEvent.object_id) == '/admin/users'
            )
        ).all()
    assert [event.user_id for event in refused] == [clinic.receptionist.user_id]


async def test_a_tab_whose_session_ended_moves_to_the_sign_in_page_not_to_the_screen(
    screens: User, clinic: Clinic
) -> None:
    await sign_in(screens, clinic.receptionist)
    await screens.open('/board')
    await screens.should_see(marker='screen-title')
    auth.logout(screens.client.storage['actor'])  # signed out in another tab, or ended by an administrator
    screens.navigate.to('/')  # the home screen asks the database nothing that would notice the ended session
    await screens.should_see(marker='username')  # the sign-in page
    await screens.should_not_see(marker='welcome')


async def test_each_role_moves_to_exactly_the_screens_the_table_allows(screens: User, clinic: Clinic) -> None:
    """The table of domain.access.SCREENS, walked by moves instead of page loads, for a role without admin rights
    and for the administrator."""
    _register_all(clinic)
    live.start_bridge()
    for account in (clinic.receptionist, clinic.admin):
        await sign_in(screens, account)
        await screens.should_see(marker='screen-title')
        client = screens.client
        framed = shell.framed_titles()
        for path in _registered()[0]:
            if path not in framed:
                continue
            await _moved(screens, _concrete(path), client)
            if account.role in access.SCREENS[path]:
                shown = f'>{escape(framed[path])}</span>'
                await eventually(lambda shown=shown: shown in _title(screens), f'{path} opened')  # type: ignore[misc]
                await screens.should_not_see(marker='not-allowed')
            else:
                await screens.should_see(marker='not-allowed')
