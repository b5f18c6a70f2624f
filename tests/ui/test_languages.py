"""The language a reader sees: the account's, else the browser's, else the clinic's (PACS_LANGUAGE)."""

from collections.abc import Iterator

import pytest
from nicegui.testing import User

from domain import users
from tests.conftest import Clinic, sign_in
from ui.i18n import set_clinic_language


@pytest.fixture
def clinic_language() -> Iterator[None]:
    yield
    set_clinic_language('en')


async def test_the_login_page_speaks_the_browsers_language(screens: User) -> None:
    screens.http_client.headers['Accept-Language'] = 'de-DE,de;q=0.9,en;q=0.5'
    await screens.open('/login')
    await screens.should_see('Anmelden')


async def test_without_a_browser_language_the_login_page_speaks_the_clinics(
    screens: User, clinic_language: None
) -> None:
    set_clinic_language('fr')
    await screens.open('/login')
    await screens.should_see('Se connecter')


async def test_the_accounts_language_wins_over_the_browsers(screens: User, clinic: Clinic) -> None:
    users.set_language('ru', by=clinic.admin.actor)
    screens.http_client.headers['Accept-Language'] = 'de'
    await sign_in(screens, clinic.admin)
    await screens.should_see('Добро пожаловать, admin1')


async def test_a_refusal_is_shown_in_the_accounts_language(screens: User, clinic: Clinic) -> None:
    users.set_language('de', by=clinic.receptionist.actor)
    await sign_in(screens, clinic.receptionist)
    await screens.open('/account')
    screens.find(marker='current-password').type('not my password')
    screens.find(marker='new-password').type('a new long passphrase')
    screens.find(marker='repeat-password').type('a new long passphrase')
    screens.find(marker='change-password').click()
    await screens.should_see('Das aktuelle Passwort ist falsch')


async def test_an_account_without_a_language_follows_the_browser(screens: User, clinic: Clinic) -> None:
    screens.http_client.headers['Accept-Language'] = 'es-ES,es;q=0.9'
    await sign_in(screens, clinic.admin)
    await screens.should_see('Bienvenido, admin1')


def test_an_account_may_go_back_to_following_the_browser(clinic: Clinic) -> None:
    users.set_language('de', by=clinic.admin.actor)
    users.set_language('', by=clinic.admin.actor)
    assert users.get_by_username('admin1', by=clinic.admin.actor).language == ''
