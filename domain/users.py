"""Staff accounts: create, change role or language, reset passwords, disable."""

import logging
import re
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from . import audit, auth, centres, clock, db, events
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotFound
from .models import Centre, Role, User, UserCreate
from .settings import LANGUAGES

log = logging.getLogger(__name__)

USERNAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$')
ROLES = tuple(role.value for role in Role)


def create(data: UserCreate, *, by: Actor) -> User:
    """Add a member of staff with a role and a password that passes the rules."""
    require(by, Permission.MANAGE_USERS)
    username = data.username.strip()
    if not USERNAME.match(username):
        raise InvalidInput('A username is 2-64 letters, digits, dots, dashes or underscores', {'username': 'invalid'})
    _check_role(data.role)
    _check_language(data.language)
    auth.check_password_rules(username, data.password)
    with db.transaction() as session:
        if session.exec(select(User.id).where(func.lower(User.username) == username.lower())).first():
            raise Conflict('The username {username} is taken', username=username)
        user = User(
            username=username,
            full_name=data.full_name.strip(),
            role=data.role,
            password_hash=auth.hash_password(data.password),
            language=data.language,
            centre_id=_centre_for(session, data.role, data.centre_id),
        )
        session.add(user)
        audit.record(session, by, 'user.create', user, detail={'username': username, 'role': data.role})
        events.publish_after(session, events.UserChanged(user.id or 0))
    log.info('user %s created with role %s', user.id, user.role)
    return user


def list_all(*, by: Actor) -> Sequence[User]:
    """Every account, active first, by username."""
    require(by, Permission.MANAGE_USERS)
    with db.reading() as session:
        return session.exec(select(User).order_by(col(User.active).desc(), User.username)).all()


def get_by_username(username: str, *, by: Actor) -> User:
    """One account by its username."""
    require(by, Permission.MANAGE_USERS)
    with db.reading() as session:
        user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None:
        raise NotFound('No user named {username}', username=username)
    return user


def set_password(username: str, password: str, *, by: Actor) -> None:
    """Give an account a new password (admin), ending its open sessions."""
    require(by, Permission.MANAGE_USERS)
    _change_password(username, password, by=by)


def change_own_password(current: str, new: str, *, by: Actor) -> None:
    """A signed-in user changes their own password after proving the current one."""
    if by.user_id is None:
        raise NotFound('Only staff accounts have passwords')
    auth.check_session(by)
    with db.reading() as session:
        user = session.get(User, by.user_id)
    if user is None or not auth.passwords.verify(current, user.password_hash):
        raise InvalidInput('The current password is wrong', {'current': 'wrong'})
    _change_password(user.username, new, by=by, keep_session=by.session)


def update(
    username: str, *, by: Actor, role: str | None = None, full_name: str | None = None, active: bool | None = None
) -> User:
    """Change an account's role, name or whether it may sign in; role changes and disabling end its sessions."""
    require(by, Permission.MANAGE_USERS)
    if role is not None:
        _check_role(role)
    with db.transaction() as session:
        user = _load(session, username)
        changes: dict[str, object] = {}
        if role is not None and role != user.role:
            if user.id == by.user_id:
                raise Conflict('You cannot change your own role')
            changes['role'] = (user.role, role)
            user.role = role
        if full_name is not None and full_name.strip() != user.full_name:
            changes['full_name'] = True
            user.full_name = full_name.strip()
        if active is not None and active != user.active:
            if user.id == by.user_id and not active:
                raise Conflict('You cannot disable your own account')
            changes['active'] = (user.active, active)
            user.active = active
        if not changes:
            return user
        session.add(user)
        if 'role' in changes or ('active' in changes and not user.active):
            auth.end_sessions_of(session, user.id or 0, 'account-changed')
        audit.record(session, by, 'user.update', user, changes={k: v for k, v in changes.items() if k != 'full_name'})
        events.publish_after(session, events.UserChanged(user.id or 0))
    return user


def disable(username: str, *, by: Actor) -> User:
    """Stop an account from signing in and end its sessions; its history stays."""
    return update(username, by=by, active=False)


def set_language(language: str, *, by: Actor) -> None:
    """A user's preferred language for screens ('': the browser's, else the clinic's)."""
    _check_language(language)
    if by.user_id is None:
        return
    with db.transaction() as session:
        user = session.get(User, by.user_id)
        if user is not None:
            user.language = language
            session.add(user)


def count_admins() -> int:
    """How many active administrators exist (start-up creates the first one when none)."""
    with db.reading() as session:
        return session.exec(select(func.count()).where(User.role == Role.ADMIN.value, col(User.active).is_(True))).one()


def _change_password(username: str, password: str, *, by: Actor, keep_session: str | None = None) -> None:
    with db.transaction() as session:
        user = _load(session, username)
        auth.check_password_rules(user.username, password)
        user.password_hash = auth.hash_password(password)
        user.password_changed_at = clock.now()
        session.add(user)
        auth.end_sessions_of(session, user.id or 0, 'password-changed', keep=keep_session)
        audit.record(session, by, 'user.password', user)


def _load(session: Session, username: str) -> User:
    user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None:
        raise NotFound('No user named {username}', username=username)
    return user


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(
            'Unknown role {role}; choose one of {roles}', {'role': 'unknown'}, role=role, roles=', '.join(ROLES)
        )


def _centre_for(session: Session, role: str, centre_id: int | None) -> int | None:
    """The centre an account works for: the one chosen (it must exist); a centre account always has one."""
    if centre_id is not None:
        if session.get(Centre, centre_id) is None:
            raise InvalidInput('Choose a centre from the list', {'centre': 'unknown'})
        return centre_id
    if role == Role.CENTRE.value:
        if centres.several():
            raise InvalidInput('Choose the centre this account works for', {'centre': 'required'})
        return centres.default_id()
    return None


def _check_language(language: str) -> None:
    if language and language not in LANGUAGES:  # '' follows the browser
        raise InvalidInput('Unknown language {language}', {'language': 'unknown'}, language=language)
