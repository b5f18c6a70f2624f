"""Putting right what a crash left of a trash step (domain.trash): a move into the trash finished, a restore left
half-way undone, a folder whose item was purged removed."""

import logging
from datetime import timedelta

from sqlalchemy.orm import defer
from sqlmodel import select

from . import clock, db, trash_files
from .models import TrashItem
from .trash_records import KEPT, MOVING, RESTORING

log = logging.getLogger(__name__)

WITHOUT_ROWS = defer(TrashItem.rows)  # type: ignore[arg-type]  # megabytes for a large study: restore reads it
STALE = timedelta(hours=1)  # settle() finishes a move or undoes a restore left this long (a crash, not a live one)


def settle() -> int:
    """Finish moves and undo restores a crash left behind, and remove folders whose item is gone; returns how many
    items or folders it put right."""
    fixed = 0
    folders = trash_files.folders()  # before the items: a folder is made only after its item is committed
    stale = clock.now() - STALE
    with db.reading() as session:
        items = session.exec(select(TrashItem).options(WITHOUT_ROWS)).all()
    known = {item.id for item in items}
    for item in items:
        if item.state == MOVING or (item.state == RESTORING and clock.as_utc(item.state_at) < stale):
            settle_item(item.id or 0, restoring_too=True)
            fixed += 1
    for folder in folders:
        if folder not in known:
            trash_files.remove(folder)
            log.info('removed trash/%s: its item was purged before the crash', folder)
            fixed += 1
    return fixed


def settle_item(item_id: int, *, restoring_too: bool = False) -> None:
    """Finish the move of an item left `moving`; with restoring_too, undo a restore left `restoring` as well."""
    with db.reading() as session:
        item = session.get(TrashItem, item_id, options=[WITHOUT_ROWS])
    if item is None:
        return
    if item.state == MOVING:
        trash_files.move_in(item_id, item.files)
        trash_files.drop_caches(item.files)
        set_state(item_id, MOVING, KEPT)
    elif item.state == RESTORING and restoring_too:
        trash_files.move_back(item_id, item.summary.get('restore_to') or {path: path for path in item.files})
        set_state(item_id, RESTORING, KEPT)
        log.warning('trash item %s: a restore left unfinished was undone', item_id)


def set_state(item_id: int, old: str, new: str) -> None:
    """Move an item from one state to the next, if it is still in the first."""
    with db.transaction() as session:
        item = session.get(TrashItem, item_id)
        if item is not None and item.state == old:
            item.state, item.state_at = new, clock.now()
            session.add(item)
