"""Modalities: the scanners (DICOM peers) the clinic knows by AE title, and who may connect.

An association whose calling AE title is not on the active list is refused, unless the administrator
has switched on "accept any modality" (the `accept_any_ae` option, or PACS_ACCEPT_ANY_AE).
"""

import logging
from collections.abc import Sequence
from typing import TypedDict

from sqlmodel import SQLModel, col, select

from . import audit, db, options
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput, NotFound
from .models import Modality

log = logging.getLogger(__name__)

MODALITY_CODES = ('US', 'CR', 'DX', 'CT', 'MR', 'MG', 'XA', 'RF', 'NM', 'PT', 'OT')


class ModalityCreate(SQLModel):
    """A scanner as the administrator types it in."""

    ae_title: str = ''
    host: str = ''
    port: int = 104
    modality: str = 'OT'
    room: str = ''
    description: str = ''


def add(data: ModalityCreate, *, by: Actor) -> Modality:
    """Enter a new modality; its AE title may then connect."""
    require(by, Permission.MANAGE_MODALITIES)
    values = _validated(data)
    with db.transaction() as session:
        existing = session.exec(select(Modality).where(Modality.ae_title == values['ae_title'])).first()
        if existing is not None:
            raise Conflict('A modality with AE title {ae_title} is already entered', ae_title=values['ae_title'])
        modality = Modality(**values)
        session.add(modality)
        audit.record(session, by, 'modality.add', modality, detail={'ae_title': modality.ae_title})
    log.info('modality %s added (%s)', modality.id, modality.ae_title)
    return modality


def update(modality_id: int, data: ModalityCreate, *, by: Actor) -> Modality:
    """Change a modality's AE title, address, kind, room or description."""
    require(by, Permission.MANAGE_MODALITIES)
    values = _validated(data)
    with db.transaction() as session:
        modality = session.get(Modality, modality_id)
        if modality is None:
            raise NotFound('No modality {modality_id}', modality_id=modality_id)
        clash = session.exec(
            select(Modality).where(Modality.ae_title == values['ae_title'], Modality.id != modality_id)
        ).first()
        if clash is not None:
            raise Conflict('A modality with AE title {ae_title} is already entered', ae_title=values['ae_title'])
        changed = {
            key: [getattr(modality, key), value] for key, value in values.items() if getattr(modality, key) != value
        }
        for key, value in values.items():
            setattr(modality, key, value)
        session.add(modality)
        audit.record(session, by, 'modality.update', modality, detail={'changed': changed})
    return modality


def set_active(modality_id: int, active: bool, *, by: Actor) -> Modality:
    """Disable a modality (it may no longer connect) or enable it again."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.transaction() as session:
        modality = session.get(Modality, modality_id)
        if modality is None:
            raise NotFound('No modality {modality_id}', modality_id=modality_id)
        modality.active = active
        session.add(modality)
        audit.record(session, by, 'modality.enable' if active else 'modality.disable', modality)
    return modality


def list_all(*, by: Actor, include_inactive: bool = True) -> Sequence[Modality]:
    """Modalities by AE title (booking reads the active ones as rooms)."""
    require(by, Permission.VIEW_SCHEDULE)
    query = select(Modality)
    if not include_inactive:
        query = query.where(col(Modality.active).is_(True))
    with db.reading() as session:
        return session.exec(query.order_by(col(Modality.ae_title))).all()


def find(ae_title: str) -> Modality | None:
    """The active modality with this AE title, if any (association checks)."""
    with db.reading() as session:
        return session.exec(
            select(Modality).where(Modality.ae_title == ae_title.strip(), col(Modality.active).is_(True))
        ).first()


def destination(ae_title: str) -> tuple[str, int] | None:
    """Where to send images a C-MOVE asks for: the host and port of an active modality with that AE title."""
    modality = find(ae_title)
    return (modality.host, modality.port) if modality is not None else None


def calling_ae_titles() -> list[str] | None:
    """The AE titles that may associate, or None when the administrator lets any calling AE title in.

    The listener reads this once per association (PS3.8 9.3.2 calling AE title), in one read session.
    """
    with db.reading() as session:
        if options.read(session, 'accept_any_ae'):
            return None
        return list(session.exec(select(Modality.ae_title).where(col(Modality.active).is_(True))).all())


def is_allowed(ae_title: str) -> bool:
    """True when a peer calling with this AE title may associate (PS3.8 9.3.2 calling AE title)."""
    if options.get('accept_any_ae'):
        return True
    return find(ae_title) is not None


class _ModalityValues(TypedDict):
    ae_title: str
    host: str
    port: int
    modality: str
    room: str
    description: str


def _validated(data: ModalityCreate) -> _ModalityValues:
    problems: dict[str, str] = {}
    ae_title = (data.ae_title or '').strip()
    if not ae_title or len(ae_title) > 16 or '\\' in ae_title or any(ord(c) < 32 or ord(c) > 126 for c in ae_title):
        problems['ae_title'] = N_('An AE title is 1 to 16 printable ASCII characters without a backslash')
    host = (data.host or '').strip()
    if not host or len(host) > 255 or any(c.isspace() for c in host):
        problems['host'] = N_('Enter the host name or IP address of the modality')
    try:
        port = int(data.port)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        problems['port'] = N_('The port is a number from 1 to 65535')
    code = (data.modality or 'OT').strip().upper()
    if not code.isalnum() or len(code) > 16:
        problems['modality'] = N_('The modality is a code such as US, CT, MR or DX')
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return {
        'ae_title': ae_title,
        'host': host,
        'port': port,
        'modality': code,
        'room': (data.room or '').strip()[:64],
        'description': (data.description or '').strip()[:200],
    }
