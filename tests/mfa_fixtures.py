"""Two-step sign-in in tests: what the authenticator app shows, and an account enrolled the way the screen does it."""

from datetime import timedelta

import pyotp

from domain import clock, mfa
from tests.conftest import Account


def code_now(secret: str) -> str:
    """What the authenticator app shows at the clinic's (possibly moved) time."""
    return pyotp.TOTP(secret).at(int(clock.now().timestamp()))


def enrol(account: Account) -> tuple[str, list[str]]:
    """Turn two-step sign-in on for the account; its secret and recovery codes. The clock moves on a step, since
    the enrolment used the current code up."""
    enrolment = mfa.start_enrolment(account.user_id)
    codes = mfa.confirm_enrolment(account.user_id, enrolment.secret, code_now(enrolment.secret), by=account.actor)
    clock.advance(timedelta(seconds=mfa.STEP_S))
    return enrolment.secret, codes
