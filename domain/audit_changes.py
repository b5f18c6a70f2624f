"""What an audit event says changed, old and new, whichever way the service that recorded it wrote the detail.

Services record changes as `changes` or `changed` ({field: [old, new]}, see audit.record and audit.apply_changes),
as a `from`/`to` pair (a state, a setting's value, an assignee), as `from_x`/`to_x` or `x_from`/`x_to` pairs (a
study's patient, an appointment's room), or, in events of earlier versions, as a field's [old, new] pair at the top
of the detail (an account's role, a legal hold).
"""

from collections.abc import Mapping
from typing import Any, NamedTuple


class Change(NamedTuple):
    field: str
    old: Any
    new: Any


# What a from/to pair is a change of, by action (a setting's change is of the setting its event names)
FROM_TO_FIELDS = {
    'appointment.move': 'state',
    'mpps.update': 'status',
    'appointment.reschedule': 'scheduled_at',
    'study.assign': 'assigned_to',
    'report.reassign': 'author',
    'report.take_over': 'author',
}
TOP_LEVEL_PAIRS = ('role', 'active', 'legal_hold', 'urgent')


def changes_of(action: str, object_id: str, detail: Mapping[str, Any]) -> list[Change]:
    """The changes one event records, in the order recorded (empty for an event that changed nothing)."""
    found: list[Change] = []
    for key in ('changes', 'changed'):
        recorded = detail.get(key)
        if isinstance(recorded, Mapping):
            found += [Change(str(f), *pair) for f, pair in recorded.items() if _pair(pair)]
    if 'from' in detail and 'to' in detail:
        field = object_id if action == 'setting.change' else FROM_TO_FIELDS.get(action, 'value')
        found.append(Change(field, detail['from'], detail['to']))
    found += [Change(key, *detail[key]) for key in TOP_LEVEL_PAIRS if _pair(detail.get(key))]
    for key in detail:  # from_patient / to_patient, modality_from / modality_to
        if key.startswith('from_') and f'to_{key[5:]}' in detail:
            found.append(Change(key[5:], detail[key], detail[f'to_{key[5:]}']))
        elif key.endswith('_from') and f'{key[:-5]}_to' in detail:
            found.append(Change(key[:-5], detail[key], detail[f'{key[:-5]}_to']))
    return found


def as_text(changes: list[Change]) -> str:
    """The changes in one line: 'phone: — → +44 20 7946 0958; role: technician → radiologist'."""
    return '; '.join(f'{c.field}: {_shown(c.old)} → {_shown(c.new)}' for c in changes)


def _pair(value: object) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2


def _shown(value: object) -> str:
    if value is None or value == '':
        return '—'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value)
