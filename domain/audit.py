"""The append-only, hash-chained audit trail: who did what to which object, from where, when.

Each row's hash covers its own fields and the previous row's hash, so changing or deleting any row
breaks the chain from there on; `verify()` names the first broken link.
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from . import clock, db
from .access import Actor, Permission, require
from .models import AuditEvent

log = logging.getLogger(__name__)

GENESIS = '0' * 64
_PG_LOCK_KEY = 0x41554449  # 'AUDI'


def record(
    session: Session,
    by: Actor,
    action: str,
    obj: object | None = None,
    *,
    object_type: str | None = None,
    object_id: object = None,
    outcome: str = 'success',
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event inside the caller's transaction (it commits with the change it records)."""
    if obj is not None:
        if getattr(obj, 'id', 0) is None:
            session.flush()
        object_type = object_type or type(obj).__name__.lower()
        object_id = getattr(obj, 'id', object_id) if object_id is None else object_id
    if session.get_bind().dialect.name == 'postgresql':
        session.exec(text('SELECT pg_advisory_xact_lock(:key)').bindparams(key=_PG_LOCK_KEY))  # type: ignore[call-overload]
    previous = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    event = AuditEvent(
        at=clock.now(),
        user_id=by.user_id,
        username=by.username[:64],
        role=by.role,
        action=action,
        object_type=object_type or '',
        object_id=str(object_id or '')[:64],
        outcome=outcome,
        address=by.address[:64],
        detail=detail or {},
        prev_hash=previous or GENESIS,
        hash='',
    )
    event.hash = _digest(event)
    session.add(event)
    return event


def record_alone(by: Actor, action: str, **kwargs: Any) -> None:
    """Append an audit event in a transaction of its own (logins, refusals, views)."""
    with db.transaction() as session:
        record(session, by, action, **kwargs)


def record_refusal(by: Actor, action: str, **kwargs: Any) -> None:
    """Record that the actor was refused; never raises, since the refusal itself must go on."""
    try:
        record_alone(by, action, outcome='denied', **kwargs)
    except Exception:
        log.exception('could not audit a refusal for %s', by.username)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify(*, by: Actor, batch: int = 5000) -> ChainReport:
    """Walk the whole chain in order and report the first row whose link or hash does not hold (administrators)."""
    require(by, Permission.VIEW_AUDIT)
    previous, checked, last_id = GENESIS, 0, 0
    with db.reading() as session:
        while True:
            rows = session.exec(
                select(AuditEvent).where(col(AuditEvent.id) > last_id).order_by(col(AuditEvent.id)).limit(batch)
            ).all()
            if not rows:
                return ChainReport(checked, None)
            for row in rows:
                if row.prev_hash != previous or _digest(row) != row.hash:
                    return ChainReport(checked, row.id)
                previous, last_id, checked = row.hash, row.id or 0, checked + 1


@dataclass(frozen=True)
class AuditPage:
    rows: Sequence[AuditEvent]
    total: int


def search(
    *,
    by: Actor,
    username: str = '',
    action: str = '',
    object_id: str = '',
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> AuditPage:
    """Audit events newest first, filtered as the administrator asks."""
    require(by, Permission.VIEW_AUDIT)
    query = select(AuditEvent)
    if username:
        query = query.where(col(AuditEvent.username).ilike(f'%{username}%'))
    if action:
        query = query.where(col(AuditEvent.action).ilike(f'%{action}%'))
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until)
    with db.reading() as session:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(AuditEvent.id).desc()).offset(offset).limit(limit)).all()
    return AuditPage(rows, total)


def history(object_type: str, object_id: object, *, by: Actor, permission: Permission) -> Sequence[AuditEvent]:
    """Every event about one object, oldest first (a patient's edit history, a report's steps)."""
    require(by, permission)
    with db.reading() as session:
        return session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(col(AuditEvent.id))
        ).all()


def _digest(event: AuditEvent) -> str:
    at = event.at.isoformat(timespec='microseconds')
    payload = [
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
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(',', ':'), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
