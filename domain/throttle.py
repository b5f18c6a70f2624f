"""Failed sign-ins counted per account and per client address; a throttled attempt is refused at once.

Nothing here sleeps: an attempt that comes too soon is answered with Throttled (how many seconds to wait) before
any password is checked, so a storm of wrong logins costs one small query each and never holds a shared thread.
Failures of the second factor count like wrong passwords.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from . import clock
from .errors import AccountLocked, Throttled
from .models import LoginAttempt

LOCK_AFTER_FAILURES = 5  # per account, within LOCK_MINUTES (since its last success)
LOCK_MINUTES = 15
ADDRESS_WINDOW_MINUTES = 10
ADDRESS_FREE_FAILURES = 3  # failures from one address before each further attempt must wait
MAX_ADDRESS_WAIT_S = 60.0


def account_key(username: str) -> str:
    """How an account is counted: the typed username, trimmed and lower-cased (whether or not it exists)."""
    return username.strip().lower()[:64]


def check(session: Session, key: str, address: str) -> None:
    """Refuse at once (Throttled / AccountLocked) when this address or this account must wait."""
    now = clock.now()
    if address:
        since = now - timedelta(minutes=ADDRESS_WINDOW_MINUTES)
        count, last = session.exec(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.address == address[:64], LoginAttempt.at > since, col(LoginAttempt.success).is_(False)
            )
        ).one()
        if count > ADDRESS_FREE_FAILURES and last is not None:
            wait = min(0.25 * 2 ** (count - ADDRESS_FREE_FAILURES - 1), MAX_ADDRESS_WAIT_S)
            left = (last + timedelta(seconds=wait) - now).total_seconds()
            if left > 0:
                raise must_wait(math.ceil(left))
    failures, oldest = _account_failures(session, key, now)
    if failures >= LOCK_AFTER_FAILURES and oldest is not None:
        left = (oldest + timedelta(minutes=LOCK_MINUTES) - now).total_seconds()
        raise AccountLocked(
            'Too many failed attempts: this account is locked for {minutes} minutes',
            minutes=max(1, math.ceil(left / 60)),
        )


def must_wait(seconds: int) -> Throttled:
    """The refusal of an attempt from an address that must wait `seconds` more."""
    return Throttled('Too many failed attempts: try again in {seconds} s', seconds=seconds)


def record(session: Session, key: str, address: str, *, success: bool) -> None:
    """Count one attempt (a success clears the account's count)."""
    session.add(LoginAttempt(username=key, address=address[:64], success=success))


def locked_now(session: Session, key: str) -> bool:
    """True once the account has reached the lockout (after recording a failure)."""
    return _account_failures(session, key, clock.now())[0] >= LOCK_AFTER_FAILURES


def _account_failures(session: Session, key: str, now: datetime) -> tuple[int, datetime | None]:
    since = now - timedelta(minutes=LOCK_MINUTES)
    last_success = session.exec(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.username == key, col(LoginAttempt.success).is_(True))
    ).one()
    if last_success and last_success > since:
        since = last_success
    count, oldest = session.exec(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.username == key, LoginAttempt.at > since, col(LoginAttempt.success).is_(False)
        )
    ).one()
    return count, oldest
