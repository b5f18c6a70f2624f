"""The administrator's settings kept in the database (clinic name, thresholds, kiosk, sessions, quiet period…).

Each option has a default here; the environment may give some their default (PACS_SESSION_LIFETIME_HOURS for the
staff's session lifetimes: `set_default`) or fix some at start-up (PACS_ACCEPT_ANY_AE: `override`). What an option
may hold is domain/option_rules.py's. Every read goes to the database, so a change is seen at once by every process;
`recent()` is for the hot paths (each request's session check, each arriving image) and may be RECENT_S old in
another process (this one forgets it at once).
"""

import logging
import threading
import time
from typing import Any

from sqlmodel import Session, col, select

from . import audit, clock, db, events, option_rules
from .access import Actor, Permission, require
from .errors import InvalidInput, Message
from .models import Setting

log = logging.getLogger(__name__)

RECENT_S = 5.0  # how old a value `recent()` gives may be

DEFAULTS: dict[str, Any] = {
    'clinic_name': 'ClinicPACS',
    'clinic_address': '',
    'accept_any_ae': False,
    'turnaround_amber_minutes': 60,  # the reading worklist turns amber past this time since arrival
    'turnaround_red_minutes': 240,  # … and red past this
    'kiosk_title': '',  # the waiting-room kiosk's heading; empty: the clinic's name
    'kiosk_show_names': False,  # the waiting-room kiosk shows full names instead of initials
    'kiosk_states': list(option_rules.KIOSK_STATES),  # the kiosk's columns (appointment states), in board order
    'study_quiet_seconds': 1.0,  # a study is complete after this long without a new image (jobs/media.py)
    'report_language': '',  # a new report's language; empty: the reader's (account, browser, PACS_LANGUAGE)
    # hours a session lasts after sign-in, used or not (domain/auth.py); the environment gives the defaults
    **{key: 8 for key in option_rules.SESSION_KEYS.values()},  # PACS_SESSION_LIFETIME_HOURS
    option_rules.KIOSK_SESSION_KEY: 24,  # PACS_KIOSK_SESSION_LIFETIME_HOURS
    'clinic_logo': '',  # base64 PNG or JPEG printed in the report header (domain.reporting.set_logo)
    'trash_days': 30,  # a deleted study or series is kept this many days in the trash, then purged (domain.trash)
    # scheduled backups (domain/backup_schedule.py): off until a folder and a recipient (public key or passphrase) exist
    'backup_target': '',  # a mounted USB disk or NAS folder outside the data directory
    'backup_incremental_hours': 1,  # an incremental this often (the RPO)
    'backup_full_hour': 2,  # the nightly full backup at this local hour
    'backup_keep_full': 7,  # full chains kept in the folder; older chains are removed after a new backup
    'backup_public_key': '',  # archives are encrypted to it; its private half is kept off the server
    'backup_drill_weekday': 6,  # the weekly restore drill (or stored-archive check) on this day, 0 = Monday
}

_overrides: dict[str, Any] = {}
_environment_defaults: dict[str, Any] = {}
_recent: dict[str, tuple[object, float, Any]] = {}  # key -> (engine, monotonic expiry, value)
_recent_lock = threading.Lock()


def override(key: str, value: Any) -> None:
    """Fix an option from the environment for this process (it then wins over the stored value)."""
    _overrides[key] = value
    _forget(key)


def set_default(key: str, value: Any) -> None:
    """The environment gives this option its default for this process (a stored value still wins)."""
    if key not in DEFAULTS:
        raise KeyError(key)
    _environment_defaults[key] = value
    _forget(key)


def clear_overrides() -> None:
    """Forget environment overrides and remembered values (tests)."""
    _overrides.clear()
    with _recent_lock:
        _recent.clear()


def default(key: str) -> Any:
    """The value an option has while the administrator has not set it."""
    return _environment_defaults.get(key, DEFAULTS[key])


def get(key: str) -> Any:
    """The current value of an option."""
    if key in _overrides:
        return _overrides[key]
    with db.reading() as session:
        return read(session, key)


def recent(key: str) -> Any:
    """The value of an option as read at most RECENT_S ago in this process (for code that runs very often)."""
    if key in _overrides:
        return _overrides[key]
    engine, now = db.engine(), time.monotonic()
    with _recent_lock:
        entry = _recent.get(key)
    if entry is not None and entry[0] is engine and entry[1] > now:
        return entry[2]
    value = get(key)
    with _recent_lock:
        _recent[key] = (engine, now + RECENT_S, value)
    return value


def read(session: Session, key: str) -> Any:
    """The current value of an option, read in a session the caller already holds."""
    if key in _overrides:
        return _overrides[key]
    if key not in DEFAULTS:
        raise KeyError(key)
    row = session.get(Setting, key)
    return default(key) if row is None else row.value


def all_values() -> dict[str, Any]:
    """Every option with its current value."""
    return get_many(*DEFAULTS)


def get_many(*keys: str) -> dict[str, Any]:
    """The current values of these options, read together."""
    if unknown := set(keys) - DEFAULTS.keys():
        raise KeyError(', '.join(sorted(unknown)))
    with db.reading() as session:
        stored = _stored(session, keys)
    return {key: _overrides.get(key, stored.get(key, default(key))) for key in keys}


def is_overridden(key: str) -> bool:
    """True when the environment fixes this option."""
    return key in _overrides


def put(key: str, value: Any, *, by: Actor) -> None:
    """Store an option (administrators only), audited with its old and new value."""
    put_many({key: value}, by=by)


def put_many(values: dict[str, Any], *, by: Actor) -> dict[str, Any]:
    """Check and store several options at once (administrators only): all or, if any value is refused, none.

    Each changed option is audited with its old and new value and announced (SettingChanged) after the commit;
    the stored values are returned. InvalidInput names the refused options in its `fields`.
    """
    require(by, Permission.MANAGE_SETTINGS)
    if unknown := sorted(set(values) - DEFAULTS.keys()):
        raise InvalidInput('Unknown setting {key}', key=', '.join(unknown))
    problems: dict[str, Message] = {}
    stored: dict[str, Any] = {}
    for key, value in values.items():
        try:
            stored[key] = option_rules.checked(key, value, DEFAULTS[key])
        except option_rules.Refused as refused:
            problems[key] = refused.message
    with db.transaction() as session:
        involved = tuple({*stored, *option_rules.RELATED})
        rows = _stored(session, involved)
        current = {key: rows.get(key, default(key)) for key in involved}
        if not problems:
            problems = option_rules.conflicts({**current, **stored})
        if problems:
            raise InvalidInput('Some values were not saved: see the marked fields', problems)
        changed = {key: value for key, value in stored.items() if value != current[key]}
        for key, value in changed.items():
            row = session.get(Setting, key) or Setting(key=key)
            row.value, row.updated_at, row.updated_by = value, clock.now(), by.username
            session.add(row)
            detail = {'from': option_rules.audited(key, current[key]), 'to': option_rules.audited(key, value)}
            audit.record(session, by, 'setting.change', object_type='setting', object_id=key, detail=detail)
            events.publish_after(session, events.SettingChanged(key))
        db.after_commit(session, lambda: _forget(*changed))
    if changed:
        log.info('settings changed by user %s: %s', by.user_id, ', '.join(sorted(changed)))
    return stored


def _stored(session: Session, keys: tuple[str, ...]) -> dict[str, Any]:
    """The options among `keys` the administrator has set, by key."""
    rows = session.exec(select(Setting).where(col(Setting.key).in_(keys))).all()
    return {row.key: row.value for row in rows}


def _forget(*keys: str) -> None:
    with _recent_lock:
        for key in keys:
            _recent.pop(key, None)
