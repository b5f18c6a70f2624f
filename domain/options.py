"""The administrator's settings kept in the database (clinic name, accept any modality, thresholds…).

Each option has a default here; the environment may fix some at start-up (PACS_ACCEPT_ANY_AE).
"""

import logging
from typing import Any

from sqlmodel import Session

from . import audit, clock, db, events
from .access import Actor, Permission, require
from .errors import InvalidInput
from .models import Setting

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    'clinic_name': 'ClinicPACS',
    'clinic_address': '',
    'accept_any_ae': False,
    'turnaround_amber_minutes': 60,  # the reading worklist turns amber past this time since arrival
    'turnaround_red_minutes': 240,  # … and red past this
    'kiosk_show_names': False,  # the waiting-room kiosk shows full names instead of initials
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


def override(key: str, value: Any) -> None:
    """Fix an option from the environment for this process (it then wins over the stored value)."""
    _overrides[key] = value


def clear_overrides() -> None:
    """Forget environment overrides (tests)."""
    _overrides.clear()


def get(key: str) -> Any:
    """The current value of an option."""
    if key in _overrides:
        return _overrides[key]
    with db.reading() as session:
        return read(session, key)


def read(session: Session, key: str) -> Any:
    """The current value of an option, read in a session the caller already holds."""
    if key in _overrides:
        return _overrides[key]
    if key not in DEFAULTS:
        raise KeyError(key)
    row = session.get(Setting, key)
    return DEFAULTS[key] if row is None else row.value


def all_values() -> dict[str, Any]:
    """Every option with its current value."""
    return {key: get(key) for key in DEFAULTS}


def is_overridden(key: str) -> bool:
    """True when the environment fixes this option."""
    return key in _overrides


def put(key: str, value: Any, *, by: Actor) -> None:
    """Store an option (administrators only), audited."""
    require(by, Permission.MANAGE_SETTINGS)
    if key not in DEFAULTS:
        raise InvalidInput('Unknown setting {key}', key=key)
    expected = type(DEFAULTS[key])
    if not isinstance(value, expected):
        raise InvalidInput('{key} must be a {kind}', {key: 'type'}, key=key, kind=expected.__name__)
    with db.transaction() as session:
        row = session.get(Setting, key) or Setting(key=key)
        old = row.value
        row.value, row.updated_at, row.updated_by = value, clock.now(), by.username
        session.add(row)
        audit.record(
            session,
            by,
            'setting.change',
            object_type='setting',
            object_id=key,
            detail={'from': old, 'to': value} if key != 'clinic_address' else {},
        )
        events.publish_after(session, events.SettingChanged(key))
