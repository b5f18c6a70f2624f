"""Hanging protocols: how a kind of study opens in the viewer, stored as data (table hanging_protocol).

A protocol is a rule and its stages. The rule: `modality` ('' any; alternatives with '|', 'CR|DX'), matched against
the study's modalities; `pattern` ('' any), matched case-insensitively on the Body Part Examined of the study's
series and the study description: alternatives separated by '|', each a few words that must all occur as
substrings ('chest|thorax', 'head|brain'); `priors`, how many earlier studies of the patient with the same modality
and body part open beside it. The stages (the viewer's `[` and `]` step through them) are each a layout ("1x1",
"1x2", "2x2", "1x3") and a list of viewports: which series ({by: description | plane | number | index, value}),
a window preset (a name of ui/viewer_tools.py PRESETS, '' the file's own window), cine on or off, and which study
(prior: 0 this one, 1 the newest matching prior, ...). A stage that needs a prior the patient does not have is
skipped. When a viewport's series rule finds nothing, the first series not yet placed in that stage is shown.

Choice: a radiologist's own protocols before the shared ones, then the more specific rule (modality and pattern
given) before the less, then `rank`, then the oldest. Shared protocols are edited by an administrator; each
radiologist saves, renames and deletes their own. The shipped set is stored by `seed_shipped()` at start-up, each
shipped protocol once per install (an administrator who deletes one does not get it back).

The model, its checks and the pure parts (which protocols fit, what a stage puts where) are in domain.hanging_layout.
"""

import logging
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, or_, select

from . import audit, clock, db, hanging_layout
from .access import Actor, Permission, require, system
from .errors import NotAllowed, NotFound
from .hanging_layout import Protocol, ProtocolInput, Stage
from .hanging_shipped import SHIPPED
from .models import AuditEvent, HangingProtocol
from .viewing import StudyView

log = logging.getLogger(__name__)

SEED_ACTION = 'hanging_protocol.seed'


# ---------------------------------------------------------------- choosing


def matching(study: StudyView, *, by: Actor) -> list[Protocol]:
    """The active protocols (the user's own and the shared ones) whose rule fits the study, best first."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        query = select(HangingProtocol).where(col(HangingProtocol.active).is_(True), _visible_to(by))
        rows = session.exec(query).all()
    return hanging_layout.rank(study, [_view(row) for row in rows], by.user_id)


def choose(study: StudyView, *, by: Actor) -> Protocol | None:
    """The protocol the study opens with, or None (the viewer then shows the first series alone)."""
    found = matching(study, by=by)
    return found[0] if found else None


# ---------------------------------------------------------------- keeping them


def own_and_shared(*, by: Actor) -> list[Protocol]:
    """The user's own protocols and the shared ones (active or not), shared first, by name."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        rows = session.exec(select(HangingProtocol).where(_visible_to(by))).all()
    return sorted((_view(row) for row in rows), key=lambda p: (not p.shared, p.name.casefold(), p.id))


def shared(*, by: Actor) -> list[Protocol]:
    """The shared protocols, active or not, by modality, rank and name (the administrator's list)."""
    require(by, Permission.MANAGE_HANGING_PROTOCOLS)
    with db.reading() as session:
        rows = session.exec(select(HangingProtocol).where(col(HangingProtocol.owner_id).is_(None))).all()
    return sorted((_view(row) for row in rows), key=lambda p: (p.modality, p.rank, p.name.casefold(), p.id))


def get(protocol_id: int, *, by: Actor) -> Protocol:
    """One protocol the user may see (shared, or their own)."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        row = session.get(HangingProtocol, protocol_id)
    if row is None or (row.owner_id is not None and row.owner_id != by.user_id):
        raise NotFound('This hanging protocol is not on file')
    return _view(row)


def create(data: ProtocolInput, *, shared: bool = False, by: Actor) -> Protocol:
    """Store a new protocol: the user's own, or (administrators) a shared one."""
    _require_change(None if shared else by.user_id, by)
    checked = hanging_layout.check(data)
    with db.transaction() as session:
        row = HangingProtocol(
            **_columns(checked), owner_id=None if shared else by.user_id, changed_by=by.username, changed_at=clock.now()
        )
        session.add(row)
        audit.record(session, by, 'hanging_protocol.create', row, detail={'name': row.name, 'shared': shared})
    log.info('hanging protocol %s created (%s)', row.id, 'shared' if shared else 'own')
    return _view(row)


def update(protocol_id: int, data: ProtocolInput, *, by: Actor) -> Protocol:
    """Change a protocol: an administrator a shared one, a radiologist their own."""
    _may_change(protocol_id, by)
    checked = hanging_layout.check(data)
    with db.transaction() as session:
        row = _changeable(session, protocol_id)
        wanted = _columns(checked)
        changes = {k: (getattr(row, k), v) for k, v in wanted.items() if getattr(row, k) != v}
        for key, (_, value) in changes.items():
            setattr(row, key, value)
        row.changed_by, row.changed_at = by.username, clock.now()
        session.add(row)
        if changes:
            audit.record(
                session,
                by,
                'hanging_protocol.update',
                row,
                changes={k: ('…', '…') if k == 'stages' else v for k, v in changes.items()},
            )
    return _view(row)


def rename(protocol_id: int, name: str, *, by: Actor) -> Protocol:
    """Give a protocol another name."""
    current = get(protocol_id, by=by)
    return update(protocol_id, current.as_input().model_copy(update={'name': name.strip()}), by=by)


def set_active(protocol_id: int, active: bool, *, by: Actor) -> Protocol:
    """Offer a protocol to the viewer, or stop offering it (kept for later)."""
    current = get(protocol_id, by=by)
    return update(protocol_id, current.as_input().model_copy(update={'active': active}), by=by)


def delete(protocol_id: int, *, by: Actor) -> None:
    """Remove a protocol."""
    _may_change(protocol_id, by)
    with db.transaction() as session:
        row = _changeable(session, protocol_id)
        audit.record(session, by, 'hanging_protocol.delete', row, detail={'name': row.name})
        session.delete(row)
    log.info('hanging protocol %s deleted', protocol_id)


def seed_shipped() -> int:
    """Store the shipped shared protocols not stored before on this install; returns how many were added."""
    added = 0
    with db.transaction() as session:
        done = {
            str((detail or {}).get('code'))
            for detail in session.exec(select(AuditEvent.detail).where(AuditEvent.action == SEED_ACTION)).all()
        }
        for code, shipped in SHIPPED.items():
            if code in done:
                continue
            checked = hanging_layout.check(ProtocolInput.model_validate(shipped))
            row = HangingProtocol(**_columns(checked), owner_id=None, changed_by='system', changed_at=clock.now())
            session.add(row)
            audit.record(session, system('start-up'), SEED_ACTION, row, detail={'code': code})
            added += 1
    if added:
        log.info('seeded %d shipped hanging protocols', added)
    return added


# ---------------------------------------------------------------- private helpers


def _visible_to(by: Actor) -> Any:
    """The shared protocols and the user's own."""
    return or_(col(HangingProtocol.owner_id).is_(None), col(HangingProtocol.owner_id) == (by.user_id or -1))


def _require_change(owner_id: int | None, by: Actor) -> None:
    if owner_id is None:
        require(by, Permission.MANAGE_HANGING_PROTOCOLS)
    else:
        require(by, Permission.OWN_HANGING_PROTOCOLS)
        if not by.is_user:
            raise NotAllowed('Only a signed-in user keeps hanging protocols of their own')


def _may_change(protocol_id: int, by: Actor) -> None:
    """Refuse unless the user may change this protocol (checked before the write: a refusal is audited apart)."""
    with db.reading() as session:
        row = session.get(HangingProtocol, protocol_id)
    if row is None:
        raise NotFound('This hanging protocol is not on file')
    if row.owner_id is not None and row.owner_id != by.user_id:
        require(by, Permission.MANAGE_HANGING_PROTOCOLS)  # audits the refusal for anyone not an administrator
        raise NotAllowed('This hanging protocol belongs to another radiologist')
    _require_change(row.owner_id, by)


def _changeable(session: Session, protocol_id: int) -> HangingProtocol:
    row = session.get(HangingProtocol, protocol_id)
    if row is None:
        raise NotFound('This hanging protocol is not on file')
    return row


def _columns(data: ProtocolInput) -> dict[str, Any]:
    return {
        'name': data.name,
        'modality': data.modality,
        'pattern': data.pattern,
        'priors': data.priors,
        'stages': [stage.model_dump() for stage in data.stages],
        'rank': data.rank,
        'active': data.active,
    }


def _view(row: HangingProtocol) -> Protocol:
    try:
        stages = tuple(Stage.model_validate(item) for item in row.stages) or (Stage(),)
    except ValidationError:
        log.warning('hanging protocol %s has stages this version cannot read; showing one image', row.id)
        stages = (Stage(),)
    return Protocol(
        row.id or 0,
        row.name,
        row.owner_id,
        row.modality,
        row.pattern,
        row.priors,
        stages,
        row.rank,
        row.active,
        row.changed_by,
    )
