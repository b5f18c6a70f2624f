"""HTTP Basic credentials of machine clients (DICOMweb): checked like a sign-in, never outliving an account change.

A verified pair is remembered briefly so that each request of a DICOMweb client does not pay for argon2 and an
audit event again; but every request still reads the account's row, and the pair stops working the moment the
account is disabled, its password or role changes, or it turns on a second factor — in every process at once,
because the database is what is compared. Accounts with a second factor cannot use Basic at all.
"""

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from . import audit, centres, db, sign_in, throttle
from .access import Actor
from .errors import SecondFactorRequired
from .models import User

REMEMBER_S = 300
MAX_REMEMBERED = 1000
_salt = secrets.token_bytes(16)  # this process's own: the remembered keys mean nothing elsewhere


@dataclass(frozen=True)
class _Verified:
    user_id: int
    role: str
    password_hash: str
    at: float


_verified: dict[str, _Verified] = {}
_lock = threading.Lock()


def basic(username: str, password: str, *, address: str = '') -> Actor:
    """The actor for a machine client's credentials; LoginFailed / Throttled / SecondFactorRequired otherwise."""
    key = hmac.new(_salt, f'{username.strip().lower()}\0{password}'.encode(), hashlib.sha256).hexdigest()
    with _lock:
        remembered = _verified.get(key)
    if remembered is not None and time.monotonic() - remembered.at < REMEMBER_S:
        with db.reading() as session:
            user = session.get(User, remembered.user_id)
        if _unchanged(user, remembered):
            assert user is not None
            return _actor(user, address)
        with _lock:
            _verified.pop(key, None)
    checked = sign_in.check_password(username, password, address=address)
    if isinstance(checked, sign_in.SecondStep):
        audit.record_alone(
            Actor(role=checked.role, username=checked.username, user_id=checked.user_id, address=address[:64]),
            'login',
            outcome='denied',
            detail={'via': 'basic', 'reason': 'second-factor'},
        )
        raise SecondFactorRequired('This account signs in with a second factor')
    with _lock:
        if len(_verified) >= MAX_REMEMBERED:
            _verified.clear()
        _verified[key] = _Verified(checked.id or 0, checked.role, checked.password_hash, time.monotonic())
    actor = _actor(checked, address)
    with db.transaction() as session:
        throttle.record(session, throttle.account_key(username), address, success=True)
        audit.record(session, actor, 'login', object_type='user', object_id=checked.id, detail={'via': 'basic'})
    return actor


def _unchanged(user: User | None, remembered: _Verified) -> bool:
    return (
        user is not None
        and user.active
        and user.role == remembered.role
        and user.password_hash == remembered.password_hash
        and user.mfa_enabled_at is None
    )


def _actor(user: User, address: str) -> Actor:
    return Actor(
        role=user.role,
        username=user.username,
        user_id=user.id,
        address=address[:64],
        language=user.language,
        centres=centres.of_user(user),
    )
