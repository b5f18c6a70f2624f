"""Login sessions: argon2 passwords, one-time sign-in tickets, session cookies' tokens, timeouts, logout.

A browser signs in in two trips: the login screen checks the password (and the second factor) and gets a one-time
ticket bound to that browser; the browser trades the ticket at /auth/session for a new random session token in an
HttpOnly cookie. So no identifier that existed before sign-in ever opens the session (no fixation), and only
hashes of tickets and tokens are stored. The checks before a session opens (password, second factor, throttling)
are domain.sign_in's. Every service call made with a user's Actor re-checks the session here
(see access.require), in every web process, because the database is the only place a session lives; only the
calls of a screen's build, within a second of the check its page load or move made, take that check (vouch).
"""

import hashlib
import logging
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from passlib.context import CryptContext
from sqlalchemy import update
from sqlmodel import Session, col, select

from . import audit, centres, clock, db, option_rules, options, throttle
from .access import Actor, Permission, require
from .errors import InvalidInput, SecondFactorRequired, SessionExpired
from .models import User, UserSession
from .settings import Settings

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
TOUCH_EVERY_S = 30
TICKET_S = 60  # a ticket not traded by then opens nothing
VOUCH_S = 1.0  # a session checked as a screen starts stands this long for the calls of its build (vouch)

_vouched: ContextVar[tuple[str, float] | None] = ContextVar('vouched_session', default=None)

passwords = CryptContext(schemes=['argon2'], deprecated='auto')


@dataclass
class _Policy:
    idle: timedelta = timedelta(minutes=15)


policy = _Policy()


def configure(settings: Settings) -> None:
    """Take the idle timeout from the settings, and the session lifetimes' defaults (staff, kiosk): the
    administrator sets each role's lifetime on the Settings screen (options session_hours_<role>)."""
    policy.idle = timedelta(minutes=settings.idle_timeout_minutes)
    for key in option_rules.SESSION_KEYS.values():
        options.set_default(key, settings.session_lifetime_hours)
    options.set_default(option_rules.KIOSK_SESSION_KEY, settings.kiosk_session_lifetime_hours)


def lifetime(kind: str, role: str) -> timedelta:
    """How long a session lasts after sign-in, used or not: a waiting-room screen's (kind 'kiosk') or its role's."""
    key = option_rules.KIOSK_SESSION_KEY if kind == 'kiosk' else option_rules.SESSION_KEYS.get(role)
    hours = options.recent(key) if key else min(options.recent(k) for k in option_rules.SESSION_KEYS.values())
    return timedelta(hours=float(hours))


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
    token: str  # the session token (console and tests); browsers get theirs through a ticket


def login(username: str, password: str, *, address: str = '') -> LoginResult:
    """Password sign-in straight to an open session (console, tests); refused for accounts with a second factor."""
    from . import sign_in  # NOTE: sign_in builds on this module

    checked = sign_in.check_password(username, password, address=address)
    if isinstance(checked, sign_in.SecondStep):
        raise SecondFactorRequired('This account signs in with a second factor')
    redeemed = redeem(open_session(checked, address=address, browser=''), browser='')
    assert redeemed is not None
    return redeemed


def redeem(ticket: str, *, browser: str) -> LoginResult | None:
    """Trade a fresh ticket, once and only in the browser it was made for, for a new session token."""
    if not ticket:
        return None
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with db.transaction() as session:
        row = session.exec(
            select(UserSession, User)
            .join(User, col(User.id) == UserSession.user_id)
            .where(UserSession.ticket_hash == _ticket_hash(ticket, browser))
        ).first()
        if row is None:
            return None
        user_session, user = row
        expired = user_session.ticket_expires_at is None or user_session.ticket_expires_at < now
        traded = session.exec(
            update(UserSession)
            .where(col(UserSession.id) == user_session.id, col(UserSession.ticket_hash).is_not(None))
            .values(ticket_hash=None, ticket_expires_at=None, token_hash=_hash_token(token), last_seen=now)
        )
        if expired or traded.rowcount != 1:
            return None
    return LoginResult(_actor(user_session, user, _hash_token(token), user_session.address), token)


def resume(token: str | None, *, address: str = '', touch: bool = True) -> Actor | None:
    """The actor of a live session for this token, or None (then the screen sends the browser to /login)."""
    if not token:
        return None
    token_hash = _hash_token(token)
    row = _session_of(token_hash)
    if row is None:
        return None
    actor = _actor(row[0], row[1], token_hash, address or row[0].address)
    try:
        _check(*row, actor, touch=touch)
    except SessionExpired:
        return None
    return actor


def check_session(actor: Actor, *, touch: bool = True) -> None:
    """Raise SessionExpired unless the actor's session is still open, recent and for the same role (or was found
    so moments ago in this very context: vouch)."""
    vouched = _vouched.get()
    if vouched is not None and vouched[0] == actor.session and time.monotonic() < vouched[1]:
        return
    row = _session_of(actor.session or '')
    if row is None:
        raise SessionExpired('Your session has ended; please sign in again')
    _check(*row, actor, touch=touch)


def vouch(actor: Actor) -> None:
    """The actor's session was checked just now (a screen's page load or move): the service calls that follow in
    this context, the building of that screen, need not read it again for VOUCH_S seconds. A context is one
    asyncio task and the threads it calls (ui/threads copies it); an event handler later runs in another, and what
    a build starts that outlives it (a timer) sees the vouch expired."""
    if actor.session is not None:
        _vouched.set((actor.session, time.monotonic() + VOUCH_S))


def is_alive(actor: Actor, *, touch: bool = False) -> bool:
    """True while the actor's session is open (the screens' periodic check; the kiosk keeps its own alive)."""
    try:
        check_session(actor, touch=touch)
    except SessionExpired:
        return False
    return True


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
    """End every open session of a user (password change, disabling, role change), except `keep`.

    HTTP Basic clients need no signal: each request compares the account with what was verified (machine_auth).
    """
    query = update(UserSession).where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
    if keep is not None:
        query = query.where(col(UserSession.token_hash) != keep)
    session.exec(query.values(ended_at=clock.now(), end_reason=reason))


def unlock(username: str, *, by: Actor) -> None:
    """Forget recent failed attempts for a username (the admin's unlock), audited."""
    require(by, Permission.MANAGE_USERS)
    with db.transaction() as session:
        throttle.record(session, throttle.account_key(username), 'unlock', success=True)
        audit.record(session, by, 'user.unlock', object_type='user', object_id=throttle.account_key(username))


# ---------------------------------------------------------------- helpers


def open_session(user: User, *, address: str, browser: str, kiosk: bool = False) -> str:
    """Open a session that no token reaches yet (the password and any code were checked: domain.sign_in); the
    one-time ticket for this browser is returned."""
    ticket = secrets.token_urlsafe(32)
    kind = 'kiosk' if kiosk else 'staff'
    with db.transaction() as session:
        throttle.record(session, throttle.account_key(user.username), address, success=True)
        opened = UserSession(
            token_hash=_hash_token(secrets.token_urlsafe(32)),  # replaced when the ticket is traded
            user_id=user.id or 0,
            address=address[:64],
            ticket_hash=_ticket_hash(ticket, browser),
            ticket_expires_at=clock.now() + timedelta(seconds=TICKET_S),
            kind=kind,
        )
        session.add(opened)
        actor = Actor(role=user.role, username=user.username, user_id=user.id, address=address[:64])
        audit.record(session, actor, 'login', object_type='user', object_id=user.id, detail={'kind': kind})
    log.info('user %s signed in (%s)', user.id, kind)
    return ticket


def _session_of(token_hash: str) -> tuple[UserSession, User] | None:
    """The session a (traded) token opens, with its user, whatever its state (_check judges that)."""
    with db.reading() as session:
        row = session.exec(
            select(UserSession, User)
            .join(User, col(User.id) == UserSession.user_id)
            .where(UserSession.token_hash == token_hash, col(UserSession.ticket_hash).is_(None))
        ).first()
    return (row[0], row[1]) if row is not None else None


def _actor(user_session: UserSession, user: User, token_hash: str, address: str) -> Actor:
    return Actor(
        role=user.role,
        username=user.username,
        user_id=user.id,
        address=address,
        session=token_hash,
        language=user.language,
        kiosk=user_session.kind == 'kiosk',
        centres=centres.of_user(user),
    )


def _check(user_session: UserSession, user: User, actor: Actor, *, touch: bool = True) -> None:
    now = clock.now()
    reason = None
    if user_session.ended_at is not None:
        reason = user_session.end_reason or 'ended'
    elif user_session.ticket_hash is not None:
        reason = 'not-redeemed'
    elif not user.active:
        reason = 'disabled'
    elif user.role != actor.role:
        reason = 'role-changed'
    elif now - user_session.last_seen > policy.idle:
        reason = 'idle'
    elif now - user_session.created_at > lifetime(user_session.kind, user.role):
        reason = 'lifetime'
    if reason is not None:
        log.info('session of user %s ended: %s', user.id, reason)
        if user_session.ended_at is None and reason != 'not-redeemed':
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


def _ticket_hash(ticket: str, browser: str) -> str:
    return hashlib.sha256(f'{ticket}\0{browser}'.encode()).hexdigest()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
