"""Logins and login sessions: argon2 passwords, throttling, idle and absolute timeouts, logout.

A session is a random token held by the browser's server-side storage; only its SHA-256 is stored.
Every service call made with a user's Actor re-checks the session here (see access.require).
"""

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from passlib.context import CryptContext
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from . import audit, clock, db
from .access import Actor, Permission, require
from .errors import AccountLocked, InvalidInput, LoginFailed, SessionExpired
from .models import LoginAttempt, User, UserSession
from .settings import Settings

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15
ADDRESS_WINDOW_MINUTES = 10
ADDRESS_FREE_FAILURES = 3  # failures from one address before each further attempt is slowed down
MAX_ADDRESS_DELAY_S = 8.0
TOUCH_EVERY_S = 30
BASIC_CACHE_S = 300

passwords = CryptContext(schemes=['argon2'], deprecated='auto')
_DUMMY_HASH = passwords.hash('not a real password, only to spend the same time')


@dataclass
class _Policy:
    idle: timedelta = timedelta(minutes=15)
    lifetime: timedelta = timedelta(hours=12)


policy = _Policy()
_basic_cache: dict[str, tuple[Actor, float]] = {}


def configure(settings: Settings) -> None:
    """Take the idle timeout and absolute session lifetime from the settings."""
    policy.idle = timedelta(minutes=settings.idle_timeout_minutes)
    policy.lifetime = timedelta(hours=settings.session_lifetime_hours)


def check_password_rules(username: str, password: str) -> None:
    """Refuse a password that is too short or equal to the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            'The password needs at least {count} characters', {'password': 'too-short'}, count=MIN_PASSWORD_LENGTH
        )
    if password.strip().lower() == username.strip().lower():
        raise InvalidInput('The password may not be the username', {'password': 'equals-username'})


def hash_password(password: str) -> str:
    """An argon2 hash of the password."""
    hashed: str = passwords.hash(password)  # passlib is untyped
    return hashed


@dataclass(frozen=True)
class LoginResult:
    actor: Actor
    token: str  # give to the browser's server-side storage; never log it


def login(username: str, password: str, *, address: str = '') -> LoginResult:
    """Check the credentials and open a new session; the message never says whether the user exists."""
    username = username.strip()
    key = username.lower()[:64]
    _slow_down_address(address)
    with db.reading() as session:
        if _recent_failures(session, key) >= LOCK_AFTER_FAILURES:
            locked = True
            user = None
        else:
            locked = False
            user = session.exec(select(User).where(func.lower(User.username) == key)).first()
    anonymous = Actor(role='', username=key, address=address)
    if locked:
        audit.record_alone(anonymous, 'login', outcome='locked')
        raise AccountLocked(
            'Too many failed attempts: this account is locked for {minutes} minutes', minutes=LOCK_MINUTES
        )
    ok = passwords.verify(password, user.password_hash if user else _DUMMY_HASH) and bool(user and user.active)
    if not ok or user is None:
        with db.transaction() as session:
            session.add(LoginAttempt(username=key, address=address[:64], success=False))
            audit.record(session, anonymous, 'login', outcome='failure')
            failures = _recent_failures(session, key)
        log.warning('failed login from %s', address or 'unknown address')
        if failures >= LOCK_AFTER_FAILURES:
            raise AccountLocked(
                'Too many failed attempts: this account is locked for {minutes} minutes', minutes=LOCK_MINUTES
            )
        raise LoginFailed('Wrong username or password')
    token = secrets.token_urlsafe(32)
    actor = Actor(
        role=user.role,
        username=user.username,
        user_id=user.id,
        address=address[:64],
        session=_hash_token(token),
        language=user.language,
    )
    with db.transaction() as session:
        session.add(LoginAttempt(username=key, address=address[:64], success=True))
        session.add(UserSession(token_hash=actor.session or '', user_id=user.id or 0, address=address[:64]))
        if passwords.needs_update(user.password_hash):
            session.exec(update(User).where(col(User.id) == user.id).values(password_hash=passwords.hash(password)))
        audit.record(session, actor, 'login', object_type='user', object_id=user.id)
    log.info('user %s signed in', user.id)
    return LoginResult(actor, token)


def basic(username: str, password: str, *, address: str = '') -> Actor:
    """The actor for a machine client's HTTP Basic credentials: throttled like a login, no session.

    A verified pair is remembered for a few minutes (by a hash of both) so each request of a DICOMweb
    client does not pay for argon2 and a login audit event again.
    """
    key = hashlib.sha256(f'{username.strip().lower()}\0{password}'.encode()).hexdigest()
    cached = _basic_cache.get(key)
    if cached is not None and time.monotonic() - cached[1] < BASIC_CACHE_S:
        actor = cached[0]
    else:
        result = login(username, password, address=address)
        with db.transaction() as session:
            session.exec(
                update(UserSession)
                .where(col(UserSession.token_hash) == result.actor.session)
                .values(ended_at=clock.now(), end_reason='basic-auth')
            )
        actor = Actor(
            role=result.actor.role,
            username=result.actor.username,
            user_id=result.actor.user_id,
            language=result.actor.language,
        )
        _basic_cache[key] = (actor, time.monotonic())
    return Actor(**{**actor.__dict__, 'address': address[:64]})


def forget_basic_credentials() -> None:
    """Drop remembered HTTP Basic verifications (after password or account changes)."""
    _basic_cache.clear()


def resume(token: str | None, *, address: str = '', touch: bool = True) -> Actor | None:
    """The actor of a live session for this token, or None (then the screen sends the browser to /login)."""
    if not token:
        return None
    token_hash = _hash_token(token)
    with db.reading() as session:
        row = session.exec(
            select(UserSession, User)
            .join(User, col(User.id) == UserSession.user_id)
            .where(UserSession.token_hash == token_hash)
        ).first()
    if row is None:
        return None
    user_session, user = row
    actor = Actor(
        role=user.role,
        username=user.username,
        user_id=user.id,
        address=address or user_session.address,
        session=token_hash,
        language=user.language,
    )
    try:
        _check(user_session, user, actor, touch=touch)
    except SessionExpired:
        return None
    return actor


def check_session(actor: Actor) -> None:
    """Raise SessionExpired unless the actor's session is still open, recent and for the same role."""
    with db.reading() as session:
        row = session.exec(
            select(UserSession, User)
            .join(User, col(User.id) == UserSession.user_id)
            .where(UserSession.token_hash == actor.session)
        ).first()
    if row is None:
        raise SessionExpired('Your session has ended; please sign in again')
    _check(*row, actor)


def logout(actor: Actor) -> None:
    """End the session on the server, so its token opens nothing any more."""
    if actor.session is None:
        return
    with db.transaction() as session:
        ended = session.exec(
            update(UserSession)
            .where(
                col(UserSession.token_hash) == actor.session,
                col(UserSession.ended_at).is_(None),
            )
            .values(ended_at=clock.now(), end_reason='logout')
        )
        if ended.rowcount:
            audit.record(session, actor, 'logout', object_type='user', object_id=actor.user_id)


def end_sessions_of(session: Session, user_id: int, reason: str, *, keep: str | None = None) -> None:
    """End every open session of a user (password change, disabling, role change), except `keep`."""
    forget_basic_credentials()
    query = update(UserSession).where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
    if keep is not None:
        query = query.where(col(UserSession.token_hash) != keep)
    session.exec(query.values(ended_at=clock.now(), end_reason=reason))


def unlock(username: str, *, by: Actor) -> None:
    """Forget recent failed attempts for a username (the admin's unlock), audited."""
    require(by, Permission.MANAGE_USERS)
    with db.transaction() as session:
        session.add(LoginAttempt(username=username.lower()[:64], address='unlock', success=True))
        audit.record(session, by, 'user.unlock', object_type='user', object_id=username.lower()[:64])


def _check(user_session: UserSession, user: User, actor: Actor, *, touch: bool = True) -> None:
    now = clock.now()
    reason = None
    if user_session.ended_at is not None:
        reason = user_session.end_reason or 'ended'
    elif not user.active:
        reason = 'disabled'
    elif user.role != actor.role:
        reason = 'role-changed'
    elif now - user_session.last_seen > policy.idle:
        reason = 'idle'
    elif now - user_session.created_at > policy.lifetime:
        reason = 'lifetime'
    if reason is not None:
        log.info('session of user %s ended: %s', user.id, reason)
        if user_session.ended_at is None:
            with db.transaction() as session:
                session.exec(
                    update(UserSession)
                    .where(col(UserSession.id) == user_session.id)
                    .values(ended_at=now, end_reason=reason)
                )
        raise SessionExpired('Your session has ended; please sign in again')
    if touch and (now - user_session.last_seen).total_seconds() > TOUCH_EVERY_S:
        with db.transaction() as session:
            session.exec(update(UserSession).where(col(UserSession.id) == user_session.id).values(last_seen=now))


def _recent_failures(session: Session, key: str) -> int:
    since = clock.now() - timedelta(minutes=LOCK_MINUTES)
    last_success = session.exec(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.username == key, col(LoginAttempt.success).is_(True))
    ).one()
    if last_success and last_success > since:
        since = last_success
    return session.exec(
        select(func.count()).where(
            LoginAttempt.username == key, LoginAttempt.at > since, col(LoginAttempt.success).is_(False)
        )
    ).one()


def _slow_down_address(address: str) -> None:
    if not address:
        return
    since = clock.now() - timedelta(minutes=ADDRESS_WINDOW_MINUTES)
    with db.reading() as session:
        failures = session.exec(
            select(func.count()).where(
                LoginAttempt.address == address, LoginAttempt.at > since, col(LoginAttempt.success).is_(False)
            )
        ).one()
    if failures > ADDRESS_FREE_FAILURES:
        time.sleep(min(0.25 * 2 ** (failures - ADDRESS_FREE_FAILURES - 1), MAX_ADDRESS_DELAY_S))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
