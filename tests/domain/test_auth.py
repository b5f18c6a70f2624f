from datetime import timedelta

import pytest

from domain import audit, auth, clock, users
from domain.errors import AccountLocked, InvalidInput, LoginFailed, NotAllowed, SessionExpired, Throttled
from domain.models import UserCreate
from tests.conftest import PASSWORD, Clinic


def test_a_user_signs_in_with_the_right_password(clinic: Clinic) -> None:
    result = auth.login('receptionist1', PASSWORD, address='10.0.0.5')
    assert result.actor.role == 'receptionist'
    assert auth.resume(result.token) is not None


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(clinic: Clinic) -> None:
    with pytest.raises(LoginFailed) as wrong:
        auth.login('receptionist1', 'not the password')
    with pytest.raises(LoginFailed) as unknown:
        auth.login('nobody-here', 'not the password')
    assert str(wrong.value) == str(unknown.value) == 'Wrong username or password'


def test_five_failures_lock_the_username_for_fifteen_minutes(clinic: Clinic) -> None:
    for _ in range(4):
        with pytest.raises(LoginFailed):
            auth.login('technician1', 'wrong password!')
    with pytest.raises(AccountLocked):
        auth.login('technician1', 'wrong password!')
    with pytest.raises(AccountLocked):
        auth.login('technician1', PASSWORD)  # even the right password waits
    clock.advance(timedelta(minutes=16))
    assert auth.login('technician1', PASSWORD).actor.username == 'technician1'


def test_an_administrator_unlocks_a_locked_account_and_it_is_audited(clinic: Clinic) -> None:
    for _ in range(5):
        with pytest.raises(LoginFailed):
            auth.login('technician1', 'wrong password!')
    with pytest.raises(NotAllowed):
        auth.unlock('technician1', by=clinic.receptionist.actor)
    with pytest.raises(AccountLocked):
        auth.login('technician1', PASSWORD)
    auth.unlock('technician1', by=clinic.admin.actor)
    assert auth.login('technician1', PASSWORD).actor.username == 'technician1'
    assert [e.object_id for e in audit.search(action='user.unlock', by=clinic.admin.actor).rows] == ['technician1']


def test_an_unknown_username_locks_the_same_way(clinic: Clinic) -> None:
    for _ in range(5):
        with pytest.raises(LoginFailed):
            auth.login('ghost', 'wrong password!')
    with pytest.raises(AccountLocked):
        auth.login('ghost', 'wrong password!')


def test_each_login_gets_a_new_session_identifier(clinic: Clinic) -> None:
    first = auth.login('radiologist1', PASSWORD)
    second = auth.login('radiologist1', PASSWORD)
    assert first.token != second.token
    assert first.actor.session != second.actor.session


def test_an_idle_session_expires(clinic: Clinic) -> None:
    result = auth.login('admin1', PASSWORD)
    clock.advance(timedelta(minutes=14))
    auth.check_session(result.actor)  # activity keeps it alive
    clock.advance(timedelta(minutes=16))
    with pytest.raises(SessionExpired):
        auth.check_session(result.actor)
    assert auth.resume(result.token) is None


def test_a_session_ends_at_its_absolute_lifetime_despite_activity(clinic: Clinic) -> None:
    result = auth.login('admin1', PASSWORD)
    for _ in range(13 * 6):
        clock.advance(timedelta(minutes=10))
        if auth.resume(result.token) is None:
            break
    assert auth.resume(result.token) is None


def test_logout_ends_the_session_on_the_server(clinic: Clinic) -> None:
    result = auth.login('admin1', PASSWORD)
    auth.logout(result.actor)
    assert auth.resume(result.token) is None
    with pytest.raises(SessionExpired):
        users.list_all(by=result.actor)


def test_disabling_a_user_ends_their_sessions(clinic: Clinic) -> None:
    result = auth.login('technician1', PASSWORD)
    users.disable('technician1', by=clinic.admin.actor)
    assert auth.resume(result.token) is None
    with pytest.raises(LoginFailed):
        auth.login('technician1', PASSWORD)


@pytest.mark.parametrize(('password', 'problem'), [('short', 'too-short'), ('newperson1', 'equals-username')])
def test_passwords_must_be_long_and_not_the_username(clinic: Clinic, password: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as error:
        users.create(UserCreate(username='newperson1', role='technician', password=password), by=clinic.admin.actor)
    assert error.value.fields == {'password': problem}


def test_passwords_are_stored_as_argon2_hashes(clinic: Clinic) -> None:
    account = users.get_by_username('admin1', by=clinic.admin.actor)
    assert account.password_hash.startswith('$argon2')
    assert PASSWORD not in account.password_hash


def test_repeated_failures_from_one_address_make_it_wait_without_sleeping(clinic: Clinic) -> None:
    for attempt in range(4):
        with pytest.raises(LoginFailed) as failed:
            auth.login(f'someone{attempt}', 'wrong password!', address='198.51.100.9')
        assert not isinstance(failed.value, Throttled)  # three free failures, then a quarter second
    with pytest.raises(Throttled) as throttled:
        auth.login('admin1', PASSWORD, address='198.51.100.9')  # refused at once, even with the right password
    assert throttled.value.retry_after == 1
    assert str(throttled.value) == 'Too many failed attempts: try again in 1 s'
    assert auth.login('admin1', PASSWORD, address='203.0.113.1').actor.username == 'admin1'  # another address
    clock.advance(timedelta(seconds=1))
    with pytest.raises(LoginFailed) as again:
        auth.login('someone9', 'wrong password!', address='198.51.100.9')
    assert not isinstance(again.value, Throttled)
    with pytest.raises(Throttled) as longer:
        auth.login('someone9', 'wrong password!', address='198.51.100.9')
    assert longer.value.retry_after == 1  # half a second now, rounded up
