"""Errors in the clinic's own words; each edge turns them into a message, a status code or an exit code."""


class DomainError(Exception):
    """A request the clinic's rules refuse; the message is written for staff."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class NotAllowed(DomainError):
    """The caller's role may not do this, or their session has ended."""


class SessionExpired(NotAllowed):
    """The login session ended (idle timeout, lifetime, logout or account change)."""


class LoginFailed(DomainError):
    """Wrong username or password; never says which."""


class AccountLocked(LoginFailed):
    """Too many failed attempts for this username."""


class InvalidInput(DomainError):
    """A value does not pass validation; `fields` maps field names to messages."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class Conflict(DomainError):
    """The change collides with data already on file."""


class DuplicatePatient(Conflict):
    """A likely duplicate of the patient is already registered."""

    def __init__(self, patient_id: int, message: str = 'A patient with these details is already registered') -> None:
        super().__init__(message)
        self.patient_id = patient_id


class InvalidTransition(Conflict):
    """The object cannot move to the requested state from where it is."""
