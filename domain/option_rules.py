"""What each administrator's option may hold: numbers in range, texts of a length, choices from a list.

`checked(key, value)` returns the value as stored (a whole number as int, seconds as float, a list in its fixed
order) or raises `Refused` with a message for the field; `conflicts(values)` checks rules between options (amber
before red) on the values they will have. domain/options.py applies both before anything is stored.
"""

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import N_, Message
from .models import Role
from .settings import LANGUAGES

KIOSK_STATES = ('waiting', 'in-room', 'in-scan', 'review')  # NOTE: appointment states (domain/appointments.py)
SESSION_KEYS = {role.value: f'session_hours_{role.value}' for role in Role}
KIOSK_SESSION_KEY = 'session_hours_kiosk'
LOGO_KEY = 'clinic_logo'


class Refused(Exception):
    """One option's value is not acceptable; the message is for the field it was typed in."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Number:
    low: float
    high: float
    whole: bool = True

    def __call__(self, value: Any) -> int | float:
        if value is None or value == '' or isinstance(value, bool):
            raise Refused(N_('Enter a number'))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise Refused(N_('Enter a number')) from None
        if self.whole and not number.is_integer():
            raise Refused(N_('Enter a whole number'))
        if not self.low <= number <= self.high:
            raise Refused(N_('Enter a number from {low} to {high}', low=_shown(self.low), high=_shown(self.high)))
        return int(number) if self.whole else number


@dataclass(frozen=True)
class Text:
    longest: int
    required: bool = False

    def __call__(self, value: Any) -> str:
        text = ('' if value is None else str(value)).strip()
        if self.required and not text:
            raise Refused(N_('This may not be empty'))
        if len(text) > self.longest:
            raise Refused(N_('At most {longest} characters', longest=self.longest))
        return text


@dataclass(frozen=True)
class Choice:
    choices: tuple[str, ...]

    def __call__(self, value: Any) -> str:
        if value not in self.choices:
            raise Refused(N_('Choose one of the offered values'))
        return str(value)


@dataclass(frozen=True)
class Subset:
    choices: tuple[str, ...]

    def __call__(self, value: Any) -> list[str]:
        if not isinstance(value, list | tuple | set) or not all(isinstance(item, str) for item in value):
            raise Refused(N_('Choose one of the offered values'))
        chosen = set(value)
        if not chosen <= set(self.choices):
            raise Refused(N_('Choose one of the offered values'))
        if not chosen:
            raise Refused(N_('Choose at least one'))
        return [choice for choice in self.choices if choice in chosen]


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Refused(N_('Choose one of the offered values'))
    return value


RULES: dict[str, Callable[[Any], Any]] = {
    'clinic_name': Text(120, required=True),
    'clinic_address': Text(500),
    'accept_any_ae': _flag,
    'turnaround_amber_minutes': Number(1, 7 * 24 * 60),
    'turnaround_red_minutes': Number(1, 7 * 24 * 60),
    'kiosk_title': Text(80),
    'kiosk_show_names': _flag,
    'kiosk_states': Subset(KIOSK_STATES),
    'study_quiet_seconds': Number(0.5, 120, whole=False),  # /health calls a study stuck after 300 s receiving
    'report_language': Choice(('', *LANGUAGES)),
    **{key: Number(1, 7 * 24) for key in SESSION_KEYS.values()},  # as PACS_SESSION_LIFETIME_HOURS
    KIOSK_SESSION_KEY: Number(1, 31 * 24),  # as PACS_KIOSK_SESSION_LIFETIME_HOURS
}


def checked(key: str, value: Any, default: Any) -> Any:
    """The value as it is stored, or Refused; an option without a rule must have its default's type."""
    rule = RULES.get(key)
    if rule is not None:
        return rule(value)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, type(default)) or (isinstance(value, bool) and not isinstance(default, bool)):
        raise Refused(N_('{key} must be a {kind}', key=key, kind=type(default).__name__))
    return value


RELATED = ('turnaround_amber_minutes', 'turnaround_red_minutes')  # the options `conflicts` compares


def conflicts(values: dict[str, Any]) -> dict[str, Message]:
    """Problems between options, on the values they will have (the field to mark, its message)."""
    if values['turnaround_amber_minutes'] >= values['turnaround_red_minutes']:
        return {'turnaround_red_minutes': N_('Red must be more minutes than amber')}
    return {}


def audited(key: str, value: Any) -> Any:
    """The value as the audit trail keeps it: the logo by its size and checksum, not its bytes."""
    if key == LOGO_KEY and value:
        try:
            data = base64.b64decode(value)
        except (binascii.Error, ValueError):
            return f'{len(value)} characters'
        return f'{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}'
    return value


def _shown(number: float) -> str:
    return f'{number:g}'
