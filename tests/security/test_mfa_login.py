"""Two-step sign-in cannot be stepped around: not by the password alone, HTTP Basic, a forged step or guessing."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from nicegui.testing import User

from domain import auth, clock, mfa, sign_in
from domain.errors import AccountLocked, LoginFailed, SecondFactorRequired
from domain.settings import Settings
from tests.conftest import Account, Clinic
from tests.mfa_fixtures import code_now, enrol


@pytest.fixture
def required_for_admins(database: Settings) -> Iterator[None]:
    mfa.configure(database.model_copy(update={'mfa_required': 'admin'}))
    yield
    mfa.configure(database)


async def _password_step(browser: User, account: Account) -> None:
    await browser.open('/login')
    browser.find(marker='username').type(account.username)
    browser.find(marker='password').type(account.password)
    browser.find(marker='sign-in').click()


async def test_the_password_alone_opens_nothing_for_an_account_with_a_second_factor(
    screens: User, clinic: Clinic
) -> None:
    secret = enrol(clinic.admin)[0]
    await _password_step(screens, clinic.admin)
    await screens.should_see(marker='mfa-verify')
    assert 'pacs_session' not in screens.http_client.cookies
    await screens.open('/admin/users')
    await screens.should_see(marker='username')  # still the login page
    await _password_step(screens, clinic.admin)
    await screens.should_see(marker='mfa-verify')
    screens.find(marker='mfa-code').type('000000' if code_now(secret) != '000000' else '111111')
    screens.find(marker='mfa-verify').click()
    await screens.should_see('Wrong code')
    screens.find(marker='mfa-code').clear().type(code_now(secret))
    screens.find(marker='mfa-verify').click()
    await screens.should_see(marker='user-menu')


def test_http_basic_and_the_console_login_refuse_an_account_with_a_second_factor(clinic: Clinic) -> None:
    from domain import machine_auth

    enrol(clinic.admin)
    with pytest.raises(SecondFactorRequired):
        machine_auth.basic(clinic.admin.username, clinic.admin.password)
    with pytest.raises(SecondFactorRequired):
        auth.login(clinic.admin.username, clinic.admin.password)


async def test_basic_credentials_stop_working_when_the_account_turns_on_a_second_factor(
    screens: User, clinic: Clinic
) -> None:
    credentials = (clinic.technician.username, clinic.technician.password)
    assert (await screens.http_client.get('/dicomweb/studies', auth=credentials)).status_code == 200
    enrol(clinic.technician)
    assert (await screens.http_client.get('/dicomweb/studies', auth=credentials)).status_code == 401


def test_a_forged_or_stale_second_step_opens_nothing(clinic: Clinic) -> None:
    secret = enrol(clinic.admin)[0]
    step = sign_in.sign_in(clinic.technician.username, clinic.technician.password, browser='b')
    assert isinstance(step, str)  # the technician has no second factor: a ticket at once
    admin_step = sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser='b')
    assert isinstance(admin_step, sign_in.SecondStep)
    forged = replace(admin_step, user_id=clinic.radiologist.user_id, username=clinic.radiologist.username)
    with pytest.raises(LoginFailed):
        sign_in.second_step(forged, code_now(secret), browser='b')
    clock.advance(timedelta(seconds=sign_in.SECOND_STEP_S + 1))
    with pytest.raises(LoginFailed):
        sign_in.second_step(admin_step, code_now(secret), browser='b')


def test_wrong_codes_lock_the_account_like_wrong_passwords(clinic: Clinic) -> None:
    secret = enrol(clinic.admin)[0]
    wrong = '123456' if code_now(secret) != '123456' else '654321'
    for _ in range(4):
        step = sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser='b')
        assert isinstance(step, sign_in.SecondStep)
        with pytest.raises(LoginFailed) as failed:
            sign_in.second_step(step, wrong, browser='b')
        assert not isinstance(failed.value, AccountLocked)
    step = sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser='b')
    assert isinstance(step, sign_in.SecondStep)
    with pytest.raises(AccountLocked):
        sign_in.second_step(step, wrong, browser='b')
    with pytest.raises(AccountLocked):
        sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser='b')


async def test_an_admin_who_must_use_a_second_factor_sets_it_up_before_getting_in(
    screens: User, clinic: Clinic, required_for_admins: None
) -> None:
    with pytest.raises(SecondFactorRequired):
        auth.login(clinic.admin.username, clinic.admin.password)  # not enrolled yet: no way round it
    await _password_step(screens, clinic.admin)
    await screens.should_see(marker='mfa-enrol')
    assert 'pacs_session' not in screens.http_client.cookies
    await screens.should_see(marker='mfa-secret')
    secret = next(iter(screens.find(marker='mfa-secret').elements)).text.replace(' ', '')
    screens.find(marker='mfa-code').type(code_now(secret))
    screens.find(marker='mfa-confirm').click()
    await screens.should_see(marker='recovery-codes')
    screens.find(marker='recovery-codes-stored').click()
    await screens.should_see(marker='user-menu')
    assert mfa.is_enabled(clinic.admin.user_id)


def test_other_roles_are_not_asked_when_only_admins_must(clinic: Clinic, required_for_admins: None) -> None:
    assert isinstance(sign_in.sign_in(clinic.radiologist.username, clinic.radiologist.password, browser='b'), str)
