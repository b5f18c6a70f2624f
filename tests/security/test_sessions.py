"""Sessions on a hostile LAN: fixation, replay after sign-out, open redirects, Basic after an account change, storms.

Each test reproduces an attack that worked before (issue 12, attacks 1, 4, 5 and 7) against the real screens
and routes, with the simulated browser's real cookies.
"""

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from nicegui.testing import User
from pydicom.data import get_testdata_file
from sqlmodel import col, select, update

from domain import db, throttle, users
from domain.auth import hash_password
from domain.models import LoginAttempt
from domain.models import User as UserTable
from tests.conftest import Clinic, PatientUser, eventually, sign_in
from ui.redirects import local_target

CT = 'CT_small.dcm'


def _copy_of(browser: User, other: User) -> User:
    """`other` now carries every cookie `browser` has: what an attacker copies off a shared PC."""
    other.http_client.cookies = httpx.Cookies(browser.http_client.cookies)
    return other


async def _signed_in(browser: User, path: str) -> bool:
    """Whether `path` opened signed in (the user menu) rather than the login page, whichever shows first."""
    await browser.open(path)

    def landed() -> str | None:
        for marker in ('user-menu', 'username'):
            try:
                browser.find(marker=marker)
            except AssertionError:
                continue
            return marker
        return None

    return await eventually(landed, f'{path} or the login page') == 'user-menu'


async def test_a_cookie_copied_before_sign_in_opens_nothing_afterwards(
    screens: User, create_user: Callable[[], PatientUser], clinic: Clinic
) -> None:
    attacker = create_user()
    await screens.open('/login')
    _copy_of(screens, attacker)  # the pre-login cookie, copied off the shared browser
    await sign_in(screens, clinic.radiologist)  # a colleague signs in on that browser
    assert not await _signed_in(attacker, '/reading')
    screens.find(marker='user-menu').click()
    screens.find(marker='sign-out').click()
    await screens.should_see(marker='username')
    await sign_in(screens, clinic.admin)  # then the administrator, same browser
    assert not await _signed_in(attacker, '/admin/users')


async def test_a_session_cookie_replayed_after_sign_out_opens_nothing(
    screens: User, create_user: Callable[[], PatientUser], clinic: Clinic
) -> None:
    await sign_in(screens, clinic.admin)
    thief = _copy_of(screens, create_user())  # the signed-in cookie itself
    assert await _signed_in(thief, '/admin/users')
    screens.find(marker='user-menu').click()
    screens.find(marker='sign-out').click()
    await screens.should_see(marker='username')
    assert 'pacs_session' not in screens.http_client.cookies
    assert not await _signed_in(thief, '/admin/users')


async def test_a_ticket_is_worth_nothing_in_another_browser_or_twice(
    screens: User, create_user: Callable[[], PatientUser], clinic: Clinic
) -> None:
    from domain import sign_in

    await screens.open('/login')
    browser = str(dict(screens.http_client.cookies).get('session', ''))
    assert browser
    other = create_user()
    await other.open('/login')
    ticket = sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser='not this browser')
    assert isinstance(ticket, str)
    response = await other.http_client.get(f'/auth/session?ticket={ticket}')
    assert response.status_code == 303 and response.headers['location'].startswith('/login')
    assert 'pacs_session' not in other.http_client.cookies


@pytest.mark.parametrize(
    'target',
    [
        '/\\evil.example/x',
        '//evil.example/x',
        '/\\/evil.example',
        'https://evil.example/',
        '/%5Cevil.example',
        '\\\\evil.example',
        ' /patients',
        '/patients\r\nLocation: https://evil.example',
        'javascript:alert(1)',
    ],
)
def test_only_local_paths_are_redirect_targets(target: str) -> None:
    assert local_target(target) == ''


def test_ordinary_local_targets_are_kept() -> None:
    for target in ('/', '/patients/12', '/reading?when=today', '/login?next=%2Fboard'):
        assert local_target(target) == target


async def test_sign_in_never_lands_on_another_site(screens: User, clinic: Clinic) -> None:
    await screens.open('/login?next=%2F%5Cevil.example%2Fx')
    screens.find(marker='username').type(clinic.admin.username)
    screens.find(marker='password').type(clinic.admin.password)
    screens.find(marker='sign-in').click()
    await screens.should_see(marker='user-menu')
    assert screens.back_history[0].startswith('/login?next=')
    assert all('evil' not in path for path in screens.back_history[1:])  # the ticket's next and what followed


def _basic(account: object) -> tuple[str, str]:
    return (account.username, account.password)  # type: ignore[attr-defined]


async def _stow(client: httpx.AsyncClient, auth: tuple[str, str]) -> httpx.Response:
    boundary = 'pacs-test-boundary'
    data = open(get_testdata_file(CT), 'rb').read()
    body = (
        f'--{boundary}\r\nContent-Type: application/dicom\r\n\r\n'.encode() + data + f'\r\n--{boundary}--\r\n'.encode()
    )
    headers = {'Content-Type': f'multipart/related; type="application/dicom"; boundary={boundary}'}
    return await client.post('/dicomweb/studies', content=body, headers=headers, auth=auth)


@pytest.mark.parametrize('change', ['disable', 'password', 'role'])
async def test_basic_credentials_stop_at_once_when_another_process_changes_the_account(
    screens: User, clinic: Clinic, change: str
) -> None:
    auth = _basic(clinic.technician)
    assert (await screens.http_client.get('/dicomweb/studies', auth=auth)).status_code == 200
    # what `main.py user disable` / `user passwd` or another web process does: only the database changes here
    values = {
        'disable': {'active': False},
        'password': {'password_hash': hash_password('another long password 42')},
        'role': {'role': 'receptionist'},
    }[change]
    with db.transaction() as session:
        session.exec(update(UserTable).where(col(UserTable.id) == clinic.technician.user_id).values(**values))
    refused = 403 if change == 'role' else 401  # a receptionist may not use DICOMweb
    assert (await screens.http_client.get('/dicomweb/studies', auth=auth)).status_code == refused
    assert (await _stow(screens.http_client, auth)).status_code == refused


async def test_basic_credentials_stop_when_an_administrator_disables_the_account(screens: User, clinic: Clinic) -> None:
    auth = _basic(clinic.technician)
    assert (await screens.http_client.get('/dicomweb/studies', auth=auth)).status_code == 200
    users.disable(clinic.technician.username, by=clinic.admin.actor)
    assert (await _stow(screens.http_client, auth)).status_code == 401


async def test_a_storm_of_wrong_basic_logins_is_answered_at_once_with_429(screens: User, clinic: Clinic) -> None:
    statuses: list[int] = []
    for n in range(30):  # until the address must wait several seconds (each refusal says how long)
        response = await screens.http_client.get('/dicomweb/studies', auth=(f'ghost{n}', 'wrong password'))
        statuses.append(response.status_code)
        if response.status_code == 429 and int(response.headers['Retry-After']) >= 4:
            break
    assert statuses[:4] == [401] * 4  # three free failures, then each further one must wait
    assert statuses[-1] == 429
    # the right credentials from the same address wait too (nothing is checked while throttled)
    assert (await screens.http_client.get('/dicomweb/studies', auth=_basic(clinic.technician))).status_code == 429


async def test_a_throttled_sign_in_says_how_long_to_wait_and_keeps_the_username(screens: User, clinic: Clinic) -> None:
    await screens.open('/login')
    screens.find(marker='username').type('guess0')
    screens.find(marker='password').type('wrong password!')
    screens.find(marker='sign-in').click()
    await screens.should_see('Wrong username or password', retries=20)
    with db.transaction() as session:  # nine more failures from this browser's address: it must wait 16 s
        address = session.exec(select(LoginAttempt.address).order_by(col(LoginAttempt.id).desc())).first() or ''
        for n in range(9):
            throttle.record(session, f'guess{n + 1}', address, success=False)
    screens.find(marker='username').clear().type('receptionist1')
    screens.find(marker='password').type(clinic.receptionist.password)
    screens.find(marker='sign-in').click()
    await screens.should_see('Too many failed attempts: try again in', retries=20)
    assert screens.find(marker='username').elements.pop().value == 'receptionist1'


async def test_a_kiosk_session_opens_the_kiosk_and_nothing_else(screens: User, clinic: Clinic) -> None:
    await screens.open('/login?next=/kiosk')
    screens.find(marker='username').type(clinic.receptionist.username)
    screens.find(marker='password').type(clinic.receptionist.password)
    screens.find(marker='sign-in').click()
    await screens.should_see(marker='kiosk-clock', retries=40)
    await screens.open('/patients')
    await screens.should_see(marker='kiosk-clock')
    response = await screens.http_client.get('/dicomweb/studies')
    assert response.status_code == 401


async def test_over_https_the_session_cookie_is_secure_and_never_readable_by_scripts(
    screens: User, clinic: Clinic
) -> None:
    from nicegui import app

    from domain import sign_in

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url='https://clinic.test') as client:
        await client.get('/login')
        payload = client.cookies['session'].split('.')[0]  # Starlette's signed (not secret) session: the browser id
        browser = json.loads(base64.b64decode(payload + '=' * (-len(payload) % 4)))['id']
        ticket = sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser=browser)
        assert isinstance(ticket, str)
        response = await client.get(f'/auth/session?ticket={ticket}')
    assert response.status_code == 303
    cookie = response.headers['set-cookie'].lower()
    assert cookie.startswith('pacs_session=') and 'secure' in cookie and 'httponly' in cookie
    assert 'samesite=lax' in cookie


async def test_a_browser_without_an_id_trades_no_ticket(screens: User, clinic: Clinic) -> None:
    from nicegui import app

    from domain import sign_in

    ticket = sign_in.sign_in(clinic.admin.username, clinic.admin.password, browser='')
    assert isinstance(ticket, str)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://clinic.test') as client:
        response = await client.get(f'/auth/session?ticket={ticket}')
    assert response.status_code == 303 and response.headers['location'].startswith('/login')
    assert 'pacs_session' not in response.headers.get('set-cookie', '')


def test_an_address_told_to_wait_is_answered_before_any_route_runs() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from ui import guard

    reached: list[str] = []

    async def studies(request: object) -> PlainTextResponse:
        reached.append('route')
        return PlainTextResponse('studies')

    client = TestClient(guard.ThrottledBasic(Starlette(routes=[Route('/dicomweb/studies', studies)])))
    guard._remember_wait('testclient', 30)
    try:
        refused = client.get('/dicomweb/studies', auth=('ghost', 'wrong'))
        assert refused.status_code == 429 and 25 <= int(refused.headers['Retry-After']) <= 30
        assert 'try again in' in refused.json()['detail']
        assert not reached
        assert client.get('/dicomweb/studies').status_code == 200  # a browser's session is not Basic: not refused
        assert reached == ['route']
    finally:
        guard._waiting.clear()
