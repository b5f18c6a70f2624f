"""Signing in: throttling, the password, then the second factor; a browser gets a one-time ticket at the end.

`sign_in` checks the password (never saying whether the user exists) and answers a ticket for /auth/session, or a
SecondStep when the account must give an authenticator code or first set one up. A SecondStep is held by the
login screen on the server and carries a proof bound to this installation, so a changed or late one opens nothing.
Throttled attempts are refused before anything is checked (domain.throttle); wrong codes count like wrong passwords.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass, replace

from sqlalchemy import func, update
from sqlmodel import col, select

from . import audit, auth, clock, db, keys, mfa, throttle
from .access import Actor
from .errors import AccountLocked, LoginFailed, Throttled
from .models import User

log = logging.getLogger(__name__)

SECOND_STEP_S = 300  # time to type the code after the password
_DUMMY_HASH = auth.hash_password('not a real password, only to spend the same time')


@dataclass(frozen=True)
class SecondStep:
    """The password was right; the account must still give a code (or first set up its authenticator)."""

    user_id: int
    username: str
    role: str
    address: str
    kiosk: bool
    enrol: bool  # True: the second factor is required but not set up yet
    started: float
    proof: str = ''  # binds the fields above to this server (a forged step opens nothing)


def check_password(username: str, password: str, *, address: str = '', kiosk: bool = False) -> User | SecondStep:
    """First step: throttling, then the password. The user when no second factor is needed, else what is next.

    Never says whether the user exists. Refused at once, without checking the password, when this address or
    account must wait (Throttled / AccountLocked carry the seconds to wait).
    """
    key = throttle.account_key(username)
    with db.reading() as session:
        try:
            throttle.check(session, key, address)
        except Throttled:
            raise  # answered at once and not audited: a storm must not turn into a storm of writes
        except AccountLocked:
            audit.record_alone(Actor(role='', username=key, address=address), 'login', outcome='locked')
            raise
        user = session.exec(select(User).where(func.lower(User.username) == key)).first()
    ok = auth.passwords.verify(password, user.password_hash if user else _DUMMY_HASH) and bool(user and user.active)
    if not ok or user is None or user.id is None:
        _failed(key, address, 'failure')
        raise LoginFailed('Wrong username or password')
    if auth.passwords.needs_update(user.password_hash):
        with db.transaction() as session:
            session.exec(update(User).where(col(User.id) == user.id).values(password_hash=auth.hash_password(password)))
    enabled = mfa.is_enabled(user.id)
    if not enabled and (kiosk or not mfa.required_for(user.role)):  # a waiting-room screen needs no phone
        return user
    step = SecondStep(user.id, user.username, user.role, address[:64], kiosk, not enabled, clock.now().timestamp())
    return replace(step, proof=_prove(step))


def sign_in(username: str, password: str, *, address: str = '', browser: str, kiosk: bool = False) -> str | SecondStep:
    """A browser's sign-in: a ticket for /auth/session, or the second step to complete first."""
    checked = check_password(username, password, address=address, kiosk=kiosk)
    if isinstance(checked, SecondStep):
        return checked
    return auth.open_session(checked, address=address, browser=browser, kiosk=kiosk)


def second_step(step: SecondStep, code: str, *, browser: str) -> str:
    """Check the authenticator's code (or a recovery code) and give the browser its ticket.

    A wrong code counts as a failed attempt of the account and the address (it locks the account like a password).
    """
    _check_step(step)
    if step.enrol:
        raise LoginFailed('Set up the authenticator first')
    key = throttle.account_key(step.username)
    with db.reading() as session:
        throttle.check(session, key, step.address)
    if not mfa.check(step.user_id, code.strip(), address=step.address):
        _failed(key, step.address, 'mfa-failure')
        raise LoginFailed('Wrong code')
    return auth.open_session(_user(step.user_id), address=step.address, browser=browser, kiosk=step.kiosk)


def after_enrolment(step: SecondStep, *, browser: str) -> str:
    """The ticket once the account has set up its authenticator during this sign-in (its code was checked then)."""
    _check_step(step)
    if not mfa.is_enabled(step.user_id):
        raise LoginFailed('Set up the authenticator first')
    return auth.open_session(_user(step.user_id), address=step.address, browser=browser, kiosk=step.kiosk)


def _failed(key: str, address: str, outcome: str) -> None:
    with db.transaction() as session:
        throttle.record(session, key, address, success=False)
        audit.record(session, Actor(role='', username=key, address=address[:64]), 'login', outcome=outcome)
        locked = throttle.locked_now(session, key)
    log.warning('failed sign-in (%s) from %s', outcome, address or 'unknown address')
    if locked:
        raise AccountLocked(
            'Too many failed attempts: this account is locked for {minutes} minutes', minutes=throttle.LOCK_MINUTES
        )


def _user(user_id: int) -> User:
    with db.reading() as session:
        user = session.get(User, user_id)
    if user is None or not user.active:
        raise LoginFailed('Wrong username or password')
    return user


def _prove(step: SecondStep) -> str:
    fields = f'{step.user_id}\0{step.username}\0{step.role}\0{step.address}\0{step.kiosk}\0{step.enrol}\0{step.started}'
    return hmac.new(keys.key('session'), fields.encode(), hashlib.sha256).hexdigest()


def _check_step(step: SecondStep) -> None:
    if not hmac.compare_digest(step.proof, _prove(step)):
        raise LoginFailed('Wrong username or password')
    if clock.now().timestamp() - step.started > SECOND_STEP_S:
        raise LoginFailed('Too slow: please sign in again')
