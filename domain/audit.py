"""The append-only, keyed hash chain of who did what to which object, from where, when.

Each row's hash is an HMAC (keyed with `keys.key('audit')`, a file outside the database) over its own fields and the
previous row's hash, so changing or deleting a row breaks the chain from there on, and someone who can write to the
database but not read the key cannot chain it again. The head is checkpointed where the database can't reach it
(domain.audit_checkpoints): after every `verify()`, in every backup, and within CHECKPOINT_AFTER_S of any new event
in every process that records one. `verify()` names the first broken link, or the checkpoint the trail no longer
matches (a trail cut short or chained again).

Trails of earlier versions were chained with plain SHA-256. The first use of the keyed chain (no checkpoint yet, the
first row's hash unkeyed) checks that chain with the old digest and, only if it holds, chains every row again with
the key in one transaction; a broken unkeyed chain is left as it is for `verify()` to name.
"""

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import Row, func, text
from sqlmodel import Session, col, select

from . import audit_chain, audit_checkpoints, audit_filters, audit_vocabulary, clock, db, keys
from .access import Actor, Permission, require
from .audit_chain import GENESIS, ChainReport
from .audit_checkpoints import Checkpoint
from .audit_filters import AuditFilter
from .errors import N_, Message, NotFound
from .models import AuditEvent, Patient

log = logging.getLogger(__name__)

CHECKPOINT_AFTER_S = 60.0  # a new event is checkpointed within this long by the process that recorded it
_PG_LOCK_KEY = 0x41554449  # 'AUDI'
_SESSION_KEY = 'audit_key'  # session.info: the key of a trail chained again in this (uncommitted) transaction
_keys: dict[tuple[str, int], bytes] = {}  # per installation and engine: the key once the trail is known to be keyed
_timers: dict[str, threading.Timer] = {}
_timers_lock = threading.Lock()
_last_failure: dict[str, str] = {}


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
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event inside the caller's transaction (it commits with the change it records).

    `changes` ({field: (old, new)}) goes into the detail as 'changes', the form the audit viewer shows as old -> new.
    """
    if changes:
        detail = {
            **(detail or {}),
            'changes': {str(k): [_plain(old), _plain(new)] for k, (old, new) in changes.items()},
        }
    if obj is not None:
        if getattr(obj, 'id', 0) is None:
            session.flush()
        object_type = object_type or type(obj).__name__.lower()
        object_id = getattr(obj, 'id', object_id) if object_id is None else object_id
    _lock(session)
    key = _chain_key(session)
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
    event.hash = audit_chain.digest(event, key)
    session.add(event)
    db.after_commit(session, _checkpoint_soon)
    return event


def apply_changes(row: Any, values: Mapping[str, object]) -> dict[str, list[Any]]:
    """Set `values` on `row`; what changed as {field: [old, new]}, the detail an update's audit event carries."""
    changed = {key: [getattr(row, key), value] for key, value in values.items() if getattr(row, key) != value}
    for key, value in values.items():
        setattr(row, key, value)
    return changed


def record_alone(by: Actor, action: str, **kwargs: Any) -> None:
    """Append an audit event in a transaction of its own (logins, refusals, views)."""
    with db.transaction() as session:
        record(session, by, action, **kwargs)


def record_refusal(by: Actor, action: str, **kwargs: Any) -> None:
    """Record that the actor was refused; never raises, since the refusal itself must go on. A refusal met inside a
    transaction is written once that transaction has rolled back (db.after_transactions)."""

    def write() -> None:
        try:
            record_alone(by, action, outcome='denied', **kwargs)
        except Exception:
            log.exception('could not audit a refusal for %s', by.username)

    db.after_transactions(write)


def verify(*, by: Actor, batch: int = 5000) -> ChainReport:
    """Check every link, the newest checkpoint and every checkpoint line; an intact trail is checkpointed (admins)."""
    require(by, Permission.VIEW_AUDIT)
    key = _ready_key()
    ledger = audit_checkpoints.read(key)
    with db.reading() as session:
        if _unkeyed_trail(session):  # an earlier version's trail whose chain was broken: named, never chained again
            broken = audit_chain.first_broken(session, audit_chain.unkeyed_digest, batch=batch)
            if broken is not None:
                message = N_('The audit trail of an earlier version is broken at event {id}', id=broken[0])
                return ChainReport(broken[1], broken[0], message)
        report = audit_chain.walk(session, key, [ledger.newest] if ledger.newest else [], batch)
    if report.intact and ledger.bad_lines:
        line = ledger.bad_lines[0]
        return ChainReport(
            report.checked, None, N_('Line {line} of the audit checkpoints is not validly signed', line=line)
        )
    if report.intact:
        checkpoint()
    return report


def checkpoint(*, only_if_new: bool = False) -> Checkpoint | None:
    """Sign the trail's head into the checkpoint file and the log, if the trail still extends the last checkpoint.

    Returns None when there is nothing to sign, or when the trail no longer extends the last checkpoint (logged at
    ERROR: the trail was changed; nothing is signed that would hide it).
    """
    key = _ready_key()
    where = str(audit_checkpoints.path())
    with audit_checkpoints.exclusive():
        last = audit_checkpoints.newest(key)
        with db.reading() as session:
            head = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
            if (head is None and last is None) or (only_if_new and last and head and last.event_id == head.id):
                return None  # nothing to sign (a trail emptied after a checkpoint is not nothing: see below)
            extension = audit_chain.extension(session, key, last)
        if isinstance(extension, Message):
            if _last_failure.get(where) != str(extension):
                log.error('audit trail not checkpointed: %s', extension)
            _last_failure[where] = str(extension)
            return None
        _last_failure.pop(where, None)
        head_id, head_hash, count = extension
        signed = Checkpoint(head_id, head_hash, count, clock.now().isoformat(timespec='seconds'))
        audit_checkpoints.append(signed, key)
    return signed


def forget_key() -> None:
    """Read the audit key from its file again (after a restore put the installation's own key back)."""
    _keys.clear()


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
    patient: str = '',
    outcome: str = '',
    since: date | None = None,
    until: date | None = None,
    offset: int = 0,
    limit: int = 100,
    filters: AuditFilter | None = None,
) -> AuditPage:
    """Audit events newest first, filtered as the administrator asks (`filters`, or the same fields one by one:
    days are local days, both inclusive; a datetime is an exact moment, `until` exclusive)."""
    require(by, Permission.VIEW_AUDIT)
    asked = filters or AuditFilter(username, action, object_id, patient, outcome, since, until)
    with db.reading() as session:
        query = select(AuditEvent).where(*audit_filters.where(session, asked))
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(AuditEvent.id).desc()).offset(offset).limit(limit)).all()
    return AuditPage(rows, total)


@dataclass(frozen=True)
class PatientAccesses:
    patient_id: str  # the clinic's Patient ID (what the audit page's Patient filter takes)
    events: Sequence[AuditEvent]


def patient_accesses(patient_id: int, *, by: Actor, limit: int = 200) -> PatientAccesses:
    """Who opened, viewed or exported this patient's record, studies and reports, newest first (administrators)."""
    require(by, Permission.VIEW_AUDIT)
    with db.reading() as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise NotFound('No such patient')
        about = audit_filters.about_patient(session, patient_id)
        events = session.exec(
            select(AuditEvent)
            .where(about, col(AuditEvent.action).in_(audit_vocabulary.ACCESS_ACTIONS))
            .order_by(col(AuditEvent.id).desc())
            .limit(limit)
        ).all()
    return PatientAccesses(patient.patient_id, events)


def history(object_type: str, object_id: object, *, by: Actor, permission: Permission) -> Sequence[AuditEvent]:
    """Every event about one object, oldest first (a patient's edit history, a report's steps)."""
    require(by, permission)
    with db.reading() as session:
        return session.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(col(AuditEvent.id))
        ).all()


# ---------------------------------------------------------------- helpers


def _plain(value: object) -> object:
    """A changed value as JSON keeps it (a day or a moment as ISO text, anything else unknown as its text)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ---------------------------------------------------------------- the key, and trails of earlier versions


def _lock(session: Session) -> None:
    """One writer at a time appends to the chain (SQLite: BEGIN IMMEDIATE already queues writers)."""
    if session.get_bind().dialect.name == 'postgresql':
        session.exec(text('SELECT pg_advisory_xact_lock(:key)').bindparams(key=_PG_LOCK_KEY))  # type: ignore[call-overload]


def _token() -> tuple[str, int]:
    return str(keys.key_dir()), id(db.engine())


def _ready_key() -> bytes:
    """The chain's key, chaining an earlier version's trail with it first if this is the key's first use."""
    if (key := _keys.get(_token())) is not None:
        return key
    with db.transaction() as session:
        _lock(session)
        return _chain_key(session)


def _chain_key(session: Session) -> bytes:
    """The chain's key, inside a transaction holding the chain's lock (see the module's docstring)."""
    token = _token()
    if (key := _keys.get(token)) is not None or (key := session.info.get(_SESSION_KEY)) is not None:
        return key
    key = keys.key('audit')
    first = audit_chain.first_row(session)
    if first is None:
        db.after_commit(session, partial(_settled, token, key))  # the trail's first event is checkpointed at once
        session.info[_SESSION_KEY] = key
        return key
    if not _unkeyed_trail(session, first):
        _keys[token] = key
        return key
    broken = audit_chain.first_broken(session, audit_chain.unkeyed_digest)
    if broken is not None:
        log.error(
            'audit trail of an earlier version broken at event %s: left unkeyed, audit verify names it', broken[0]
        )
        _keys[token] = key
        return key
    last_id = audit_chain.rechain(session, key)
    log.info('audit trail chained again with the audit key: events %s to %s', first.id, last_id)
    session.info[_SESSION_KEY] = key
    db.after_commit(session, partial(_settled, token, key))
    return key


def _unkeyed_trail(session: Session, first: Row[Any] | None = None) -> bool:
    """True when the trail was chained by an earlier version (its first hash unkeyed) and never checkpointed."""
    if first is None:
        first = audit_chain.first_row(session)
    if first is None or audit_checkpoints.started():
        return False
    return bool(first.prev_hash == GENESIS and first.hash == audit_chain.unkeyed_digest(first))


def _settled(token: tuple[str, int], key: bytes) -> None:
    _keys[token] = key
    try:
        checkpoint()
    except Exception:
        log.warning('could not checkpoint the audit trail', exc_info=True)


def checkpoint_pending() -> None:
    """Checkpoint now what is not signed yet, if this process still has its database (the timer, or a console
    command about to exit); never raises."""
    try:
        if db.configured():
            checkpoint(only_if_new=True)
    except Exception:
        log.warning('could not checkpoint the audit trail', exc_info=True)


def _checkpoint_soon() -> None:
    """After a commit that recorded events: make sure a checkpoint follows within CHECKPOINT_AFTER_S (one timer)."""
    where = str(keys.key_dir())
    with _timers_lock:
        if where in _timers:
            return
        timer = threading.Timer(CHECKPOINT_AFTER_S, _checkpoint_later, args=(where,))
        timer.daemon = True
        _timers[where] = timer
    timer.start()


def _checkpoint_later(where: str) -> None:
    with _timers_lock:
        _timers.pop(where, None)
    if str(keys.key_dir()) == where:  # else this process now serves another data directory (tests)
        checkpoint_pending()
