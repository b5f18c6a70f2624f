from nicegui.testing import User

from domain import audit, db, throttle
from tests.conftest import Clinic, sign_in


async def test_staff_sign_in_and_land_on_their_home_screen(screens: User, clinic: Clinic) -> None:
    await sign_in(screens, clinic.admin)
    await screens.should_see('Welcome, admin1')


async def test_a_technician_lands_on_the_studies_screen(screens: User, clinic: Clinic) -> None:
    await sign_in(screens, clinic.technician)
    await screens.should_see(marker='screen-title', content='Studies')


async def test_a_wrong_password_says_so_without_naming_the_account(screens: User, clinic: Clinic) -> None:
    await screens.open('/login')
    screens.find(marker='username').type('technician1')
    screens.find(marker='password').type('not my password')
    screens.find(marker='sign-in').click()
    await screens.should_see('Wrong username or password')


async def test_the_fifth_failure_says_the_account_is_locked(screens: User, clinic: Clinic) -> None:
    with db.transaction() as session:  # four guesses from elsewhere (one address alone soon has to wait: throttle)
        for n in range(4):
            throttle.record(session, 'radiologist1', f'192.0.2.{n + 1}', success=False)
    await screens.open('/login')
    screens.find(marker='username').type('radiologist1')
    screens.find(marker='password').type('not my password')
    screens.find(marker='sign-in').click()
    await screens.should_see('locked for 15 minutes')


async def test_an_unsigned_visit_goes_to_login_and_back_to_the_page_asked_for(screens: User, clinic: Clinic) -> None:
    await screens.open('/admin/audit')
    await screens.should_see(marker='sign-in')
    screens.find(marker='username').type('admin1')
    screens.find(marker='password').type(clinic.admin.password)
    screens.find(marker='sign-in').click()
    await screens.should_see('Verify chain')


async def test_a_screen_the_role_may_not_use_is_refused_and_audited(receptionist: User, clinic: Clinic) -> None:
    await receptionist.open('/admin/users')
    await receptionist.should_see(marker='not-allowed')
    await receptionist.should_not_see('Add a user')
    refusals = audit.search(by=clinic.admin.actor, action='screen.denied').rows
    assert refusals[0].username == 'receptionist1'
    assert refusals[0].object_id == '/admin/users'


async def test_sign_out_ends_the_session(admin: User) -> None:
    admin.find(marker='user-menu').click()  # the menu is built when it opens
    admin.find(marker='sign-out').click()
    await admin.should_see(marker='sign-in')
    await admin.open('/')
    await admin.should_see(marker='sign-in')


async def test_the_menu_shows_only_what_the_role_may_use(receptionist: User) -> None:
    await receptionist.should_not_see(marker='nav-admin-users')
    await receptionist.should_see(marker='nav-home')
