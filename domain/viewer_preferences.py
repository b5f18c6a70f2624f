"""Each doctor's own viewer settings: the keyboard shortcuts they changed, kept across workstations.

Only what differs from the viewer's defaults is stored (action name -> key, as the browser names the key:
'f', 'F' for Shift+F, ' ' for Space, 'ArrowUp'), so an action the viewer adds later gets its default key.
The viewer knows the actions and their defaults (ui/viewer_shortcuts.py) and refuses a key that another
action already has with a message naming it; here a stored map that gives one key two actions is refused too.

A user reads and changes only their own preferences, whatever their role: nobody's workstation habits are
anybody else's business, and an administrator has no reason to rearrange a doctor's keys.
"""

from sqlmodel import select

from . import clock, db
from .access import Actor, Permission, require
from .errors import InvalidInput, NotAllowed
from .models import ViewerPreference

MAX_ACTIONS, MAX_NAME, MAX_KEY = 100, 40, 32


def shortcuts(user_id: int, *, by: Actor) -> dict[str, str]:
    """The keys this user changed (action -> key); empty when they use the defaults."""
    _own(user_id, by)
    with db.reading() as session:
        row = session.exec(select(ViewerPreference).where(ViewerPreference.user_id == user_id)).first()
    return {str(action): str(key) for action, key in (row.shortcuts if row else {}).items()}


def save_shortcuts(user_id: int, changed: dict[str, str], *, by: Actor) -> dict[str, str]:
    """Keep the keys this user changed (replacing what was kept); an empty map goes back to the defaults."""
    _own(user_id, by)
    cleaned = _checked(changed)
    with db.transaction() as session:
        row = session.get(ViewerPreference, user_id)
        if not cleaned:
            if row is not None:
                session.delete(row)
            return {}
        if row is None:
            row = ViewerPreference(user_id=user_id)
        row.shortcuts, row.changed_at = cleaned, clock.now()
        session.add(row)
    return cleaned


def _own(user_id: int, by: Actor) -> None:
    require(by, Permission.READ_IMAGES)
    if by.user_id is None or by.user_id != user_id:
        raise NotAllowed("Another user's viewer settings are theirs alone")


def _checked(changed: dict[str, str]) -> dict[str, str]:
    if len(changed) > MAX_ACTIONS:
        raise InvalidInput('Too many shortcuts')
    cleaned: dict[str, str] = {}
    for action, key in changed.items():
        if not isinstance(action, str) or not isinstance(key, str) or not action or len(action) > MAX_NAME:
            raise InvalidInput('Unknown viewer action')
        if not key or len(key) > MAX_KEY:
            raise InvalidInput('A shortcut is one key')
        if key in cleaned.values():
            raise InvalidInput('One key cannot do two things')
        cleaned[action] = key
    return cleaned
