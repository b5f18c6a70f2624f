"""The audit chain itself: how a row's hash is computed, and walks over the rows that check or renew it.

A link is an HMAC-SHA256, keyed with the audit key, over the row's fields and the previous row's hash. Earlier
versions used plain SHA-256 over the same fields (`unkeyed_digest`), kept only to check such a trail once before
it is chained again with the key. These functions take a session and a key; domain.audit decides when to call them.
"""

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlmodel import Session, col, select

from .audit_checkpoints import Checkpoint
from .errors import N_, Message
from .models import AuditEvent

GENESIS = '0' * 64
_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ChainReport:
    """What `audit.verify` found: how many events held, and the first that did not (or the problem without one)."""

    checked: int
    first_broken_id: int | None
    problem: Message | None = None  # what broke, for staff: a link, a checkpoint, a checkpoint line

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None and self.problem is None


def payload(event: Any) -> bytes:
    """The fields a link covers, as canonical JSON (an AuditEvent or a table row)."""
    at = event.at.isoformat(timespec='microseconds')
    fields = [
        event.prev_hash,
        at,
        event.user_id,
        event.username,
        event.role,
        event.action,
        event.object_type,
        event.object_id,
        event.outcome,
        event.address,
        event.detail,
    ]
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(',', ':'), default=str).encode()


def digest(event: Any, key: bytes) -> str:
    """The link's hash: HMAC-SHA256 with the audit key, in hex."""
    return hmac.new(key, payload(event), hashlib.sha256).hexdigest()


def unkeyed_digest(event: Any) -> str:
    """The plain SHA-256 of earlier versions, used only to check a trail before it is chained with the key."""
    return hashlib.sha256(payload(event)).hexdigest()


def first_row(session: Session) -> Row[Any] | None:
    """The trail's oldest row."""
    return session.execute(_TABLE.select().order_by(_TABLE.c.id).limit(1)).first()


def rows(session: Session, *, after: int = 0, batch: int = 5000) -> Iterator[Row[Any]]:
    """Every row after event `after`, oldest first, as plain rows (a long walk keeps no objects)."""
    while True:
        found = session.execute(_TABLE.select().where(_TABLE.c.id > after).order_by(_TABLE.c.id).limit(batch)).all()
        if not found:
            return
        yield from found
        after = found[-1].id


def first_broken(session: Session, hash_of: Callable[[Any], str], *, batch: int = 5000) -> tuple[int, int] | None:
    """The first row whose link or hash does not hold under `hash_of`, with how many held before it; None if all do."""
    previous, checked = GENESIS, 0
    for row in rows(session, batch=batch):
        if row.prev_hash != previous or hash_of(row) != row.hash:
            return row.id, checked
        previous, checked = row.hash, checked + 1
    return None


def walk(session: Session, key: bytes, checkpoints: list[Checkpoint], batch: int) -> ChainReport:
    """Every link from the first row, and every checkpoint's event, hash and count against the rows."""
    expected = {signed.event_id: signed for signed in checkpoints}
    previous, checked = GENESIS, 0
    for row in rows(session, batch=batch):
        if row.prev_hash != previous or digest(row, key) != row.hash:
            return ChainReport(checked, row.id, N_('Chain broken at event {id}', id=row.id))
        previous, checked = row.hash, checked + 1
        signed = expected.pop(row.id, None)
        if signed is not None and signed.hash != row.hash:
            message = N_(
                'Event {id} differs from its checkpoint of {at}: the trail was chained again', id=row.id, at=signed.at
            )
            return ChainReport(checked, row.id, message)
        if signed is not None and signed.count != checked:
            message = N_(
                'The trail up to event {id} holds {found} events; its checkpoint of {at} signed {count}',
                id=row.id,
                found=checked,
                at=signed.at,
                count=signed.count,
            )
            return ChainReport(checked, row.id, message)
    if expected:
        missing = min(expected.values(), key=lambda signed: signed.event_id)
        message = N_(
            'Event {id}, signed in the checkpoint of {at}, is missing: the trail was cut short',
            id=missing.event_id,
            at=missing.at,
        )
        return ChainReport(checked, missing.event_id, message)
    return ChainReport(checked, None)


def extension(session: Session, key: bytes, last: Checkpoint | None) -> tuple[int, str, int] | Message:
    """The head (id, hash, count) if the rows after `last` chain onto it, else what broke (only new rows are read)."""
    previous, count, after = GENESIS, 0, 0
    if last is not None:
        signed = session.exec(select(AuditEvent.hash).where(col(AuditEvent.id) == last.event_id)).first()
        if signed is None:
            return N_(
                'Event {id}, signed in the checkpoint of {at}, is missing: the trail was cut short',
                id=last.event_id,
                at=last.at,
            )
        if signed != last.hash:
            return N_(
                'Event {id} differs from its checkpoint of {at}: the trail was chained again',
                id=last.event_id,
                at=last.at,
            )
        previous, count, after = last.hash, last.count, last.event_id
    head_id = after
    for row in rows(session, after=after):
        if row.prev_hash != previous or digest(row, key) != row.hash:
            return N_('Chain broken at event {id}', id=row.id)
        previous, count, head_id = row.hash, count + 1, row.id
    return head_id, previous, count


def rechain(session: Session, key: bytes) -> int:
    """Chain every row again with the key; returns the last id."""
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id == bindparam('row_id'))
        .values(prev_hash=bindparam('new_prev'), hash=bindparam('new_hash'))
    )
    previous, last_id, pending = GENESIS, 0, []
    for row in rows(session):
        linked = {**row._asdict(), 'prev_hash': previous}
        new_hash = digest(_Fields(linked), key)
        pending.append({'row_id': row.id, 'new_prev': previous, 'new_hash': new_hash})
        previous, last_id = new_hash, row.id
        if len(pending) >= 1000:
            session.execute(statement, pending)
            pending = []
    if pending:
        session.execute(statement, pending)
    return last_id


class _Fields:
    """A row's fields as attributes (the digest reads events, rows and dicts alike)."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)
