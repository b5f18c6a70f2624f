"""Errors in the clinic's own words; each edge turns them into a message, a status code or an exit code.

A message is an English message id with {placeholders} and the values apart (`NotFound('No study {study_id}',
study_id=7)`), so the UI can show it in the reader's language while `str(error)` stays English for logs and the
command line. `N_()` marks a message that is built before it is raised (form problems), keeping its values.
"""

from collections.abc import Mapping
from typing import Any


class Message(str):
    """An English text that remembers its message id and values, so an edge can show it translated."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> 'Message':
        text = super().__new__(cls, msgid.format(**params) if params else msgid)
        text.msgid, text.params = msgid, params
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return _message, (self.msgid, self.params)


def N_(msgid: str, /, **params: Any) -> Message:
    """Mark a message for translation without translating it here; the UI translates it for its reader."""
    return Message(msgid, **params)


class DomainError(Exception):
    """A request the clinic's rules refuse; the message is written for staff."""

    def __init__(self, message: str = '', /, **params: Any) -> None:
        if isinstance(message, Message):
            params = {**message.params, **params}
            message = message.msgid
        self.message, self.params = message, params
        super().__init__(message.format(**params) if params else message)


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class NotAllowed(DomainError):
    """The caller's role may not do this, or their session has ended."""


class SessionExpired(NotAllowed):
    """The login session ended (idle timeout, lifetime, logout or account change)."""


class LoginFailed(DomainError):
    """Wrong username or password; never says which."""


class AccountLocked(LoginFailed):
    """Too many failed attempts for this username; `retry_after` says in how many seconds it opens again."""

    @property
    def retry_after(self) -> int:
        return max(1, int(self.params.get('seconds') or 60 * int(self.params.get('minutes') or 1)))


class Throttled(AccountLocked):
    """Too many failed attempts from this address: this attempt was not even tried (`retry_after` seconds)."""


class SecondFactorRequired(LoginFailed):
    """The password was right, but this account signs in with a second factor (not possible over HTTP Basic)."""


class InvalidInput(DomainError):
    """A value does not pass validation; `fields` maps field names to messages (`N_()` keeps their values)."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None, /, **params: Any) -> None:
        super().__init__(message, **params)
        self.fields: dict[str, str] = dict(fields or {})


class Conflict(DomainError):
    """The change collides with data already on file."""


class DuplicatePatient(Conflict):
    """A likely duplicate of the patient is already registered."""

    def __init__(self, patient_id: int, message: str = 'A patient with these details is already registered') -> None:
        super().__init__(message)
        self.patient_id = patient_id


class InvalidTransition(Conflict):
    """The object cannot move to the requested state from where it is."""


# Every error class whose first argument is a message id, for the extraction of messages (ui/i18n/catalogue.py).
MESSAGE_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    'N_': None,
    'DomainError': None,
    'NotFound': None,
    'NotAllowed': None,
    'SessionExpired': None,
    'LoginFailed': None,
    'AccountLocked': None,
    'InvalidInput': None,
    'Conflict': None,
    'InvalidTransition': None,
    'StepExists': None,
    'NoSuchStep': None,
    'StepFinal': None,
    'DuplicatePatient': (2,),
}


def _message(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)
