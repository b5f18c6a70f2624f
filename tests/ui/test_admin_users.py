from nicegui.testing import User

from domain import auth, users
from tests.conftest import Clinic


async def test_an_admin_adds_a_user_who_can_then_sign_in(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/users')
    admin.find(marker='add-user').click()
    admin.find(marker='new-username').type('dr-ivanova')
    admin.find(marker='new-full-name').type('Dr Ivanova')
    admin.find(marker='new-password').type('a fine long password')
    admin.find(marker='new-role').click()
    admin.find('radiologist').click()
    admin.find(marker='add-save').click()
    await admin.should_see('User added')
    await admin.should_see(marker='user-dr-ivanova')
    assert auth.login('dr-ivanova', 'a fine long password').actor.role == 'radiologist'


async def test_a_refused_new_user_keeps_what_was_typed(admin: User) -> None:
    await admin.open('/admin/users')
    admin.find(marker='add-user').click()
    admin.find(marker='new-username').type('shortpw')
    admin.find(marker='new-password').type('short')
    admin.find(marker='add-save').click()
    await admin.should_see('at least 10 characters')
    assert admin.find(marker='new-username').elements.pop().value == 'shortpw'


async def test_disabling_an_account_stops_its_sign_in(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/users')
    await admin.should_see(marker='toggle-technician1')
    admin.find(marker='toggle-technician1').click()
    await admin.should_see('Account disabled')
    assert not users.get_by_username('technician1', by=clinic.admin.actor).active
