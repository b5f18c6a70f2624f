"""The list of bookable examinations the administrator keeps (code, name, modality, usual duration)."""

import logging
import re
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select

from . import audit, db
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput, NotFound
from .models import Procedure

log = logging.getLogger(__name__)

CODE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$')
MODALITY = re.compile(r'^[A-Z]{2,16}$')


def list_all(*, by: Actor, active_only: bool = True) -> Sequence[Procedure]:
    """The procedures, by modality and name (only those offered, unless asked for all)."""
    require(by, Permission.VIEW_SCHEDULE)
    query = select(Procedure).order_by(col(Procedure.modality), col(Procedure.name))
    if active_only:
        query = query.where(col(Procedure.active).is_(True))
    with db.reading() as session:
        return session.exec(query).all()


def create(code: str, name: str, modality: str, duration_minutes: int = 20, *, by: Actor) -> Procedure:
    """Add a procedure to the list."""
    require(by, Permission.MANAGE_SETTINGS)
    code, name, modality = _check(code, name, modality, duration_minutes)
    with db.transaction() as session:
        if session.exec(select(Procedure.id).where(func.lower(Procedure.code) == code.lower())).first():
            raise Conflict('The code {code} is taken', code=code)
        procedure = Procedure(code=code, name=name, modality=modality, duration_minutes=duration_minutes)
        session.add(procedure)
        audit.record(
            session,
            by,
            'procedure.create',
            procedure,
            detail={'code': code, 'name': name, 'modality': modality, 'duration': duration_minutes},
        )
    log.info('procedure %s added (%s)', procedure.id, code)
    return procedure


def update(
    procedure_id: int,
    *,
    by: Actor,
    name: str | None = None,
    modality: str | None = None,
    duration_minutes: int | None = None,
    active: bool | None = None,
) -> Procedure:
    """Change a procedure, or stop offering it (appointments already booked keep it)."""
    require(by, Permission.MANAGE_SETTINGS)
    with db.transaction() as session:
        procedure = session.get(Procedure, procedure_id)
        if procedure is None:
            raise NotFound('No such procedure')
        _, new_name, new_modality = _check(
            procedure.code,
            procedure.name if name is None else name,
            procedure.modality if modality is None else modality,
            procedure.duration_minutes if duration_minutes is None else duration_minutes,
        )
        wanted = {
            'name': new_name,
            'modality': new_modality,
            'duration_minutes': procedure.duration_minutes if duration_minutes is None else duration_minutes,
            'active': procedure.active if active is None else active,
        }
        changes = {k: [getattr(procedure, k), v] for k, v in wanted.items() if getattr(procedure, k) != v}
        for key, (_, value) in changes.items():
            setattr(procedure, key, value)
        session.add(procedure)
        if changes:
            audit.record(session, by, 'procedure.update', procedure, detail={'changes': changes})
    return procedure


def _check(code: str, name: str, modality: str, duration: int) -> tuple[str, str, str]:
    code, name, modality = code.strip(), name.strip(), modality.strip().upper()
    problems = {}
    if not CODE.match(code):
        problems['code'] = N_('A code is 1-32 letters, digits, dots, dashes or underscores')
    if not name or len(name) > 200:
        problems['name'] = N_('The name is required (at most 200 characters)')
    if not MODALITY.match(modality):
        problems['modality'] = N_('The modality is a DICOM code such as CT, MR, US, DX')
    if not isinstance(duration, int) or not 1 <= duration <= 600:
        problems['duration_minutes'] = N_('The duration is 1 to 600 minutes')
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return code, name, modality
