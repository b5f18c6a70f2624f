"""The administrator keeps the diagnostic centres: their details, their staff, the centres a radiologist reads for
and the centre each modality pushes into (domain.centres decides what each of them then sees)."""

import base64
import binascii
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from . import audit, auth, centres, db, events
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotFound
from .models import Centre, Modality, Role, ServedCentre, User

log = logging.getLogger(__name__)

CURRENCY = re.compile(r'^[A-Z]{3}$')
MAX_LOGO_BYTES = 512 * 1024
LOGO_MAGIC = (b'\x89PNG\r\n\x1a\n', b'\xff\xd8\xff')


@dataclass(frozen=True)
class CentreData:
    """What the centre form sends."""

    name: str
    address: str = ''
    contact: str = ''
    currency: str = 'USD'


def list_all(*, by: Actor, active_only: bool = False) -> Sequence[Centre]:
    """The centres the caller may see, by name (a centre's staff: their own)."""
    require(by, Permission.VIEW_PATIENTS)
    query = select(Centre).order_by(col(Centre.name))
    if by.centres is not None:
        query = query.where(col(Centre.id).in_(sorted(by.centres)))
    if active_only:
        query = query.where(col(Centre.active).is_(True))
    with db.reading() as session:
        return session.exec(query).all()


def get(centre_id: int, *, by: Actor) -> Centre:
    """One centre, if the caller may see it."""
    require(by, Permission.VIEW_PATIENTS)
    if not centres.visible(centre_id, by.centres):
        raise NotFound('No such centre')
    with db.reading() as session:
        centre = session.get(Centre, centre_id)
    if centre is None:
        raise NotFound('No such centre')
    return centre


def create(data: CentreData, *, by: Actor) -> Centre:
    """Add a centre the reading group reports for."""
    require(by, Permission.MANAGE_USERS)
    values = _checked(data)
    with db.transaction() as session:
        _name_free(session, values.name, None)
        centre = Centre(name=values.name, address=values.address, contact=values.contact, currency=values.currency)
        session.add(centre)
        session.flush()
        audit.record(session, by, 'centre.create', centre, detail={'name': values.name, 'currency': values.currency})
    log.info('centre %s added', centre.id)
    return centre


def update(centre_id: int, data: CentreData, *, by: Actor, active: bool | None = None) -> Centre:
    """Change a centre's details, or stop (or resume) working for it; its data stays."""
    require(by, Permission.MANAGE_USERS)
    values = _checked(data)
    with db.transaction() as session:
        centre = session.get(Centre, centre_id)
        if centre is None:
            raise NotFound('No such centre')
        _name_free(session, values.name, centre_id)
        wanted = {
            'name': values.name,
            'address': values.address,
            'contact': values.contact,
            'currency': values.currency,
            'active': centre.active if active is None else active,
        }
        changes = {key: [getattr(centre, key), value] for key, value in wanted.items() if getattr(centre, key) != value}
        if not changes:
            return centre
        if changes.get('active') == [True, False] and centre_id == centres.default_id():
            raise Conflict('The first centre is the clinic itself and stays active')
        for key, (_, value) in changes.items():
            setattr(centre, key, value)
        session.add(centre)
        audit.record(session, by, 'centre.update', centre, changes=changes)
    return centre


def set_logo(centre_id: int, data: bytes | None, *, by: Actor) -> None:
    """The logo printed on the centre's reports and statements (PNG or JPEG); None removes it."""
    require(by, Permission.MANAGE_USERS)
    if data is not None and (len(data) > MAX_LOGO_BYTES or not data.startswith(LOGO_MAGIC)):
        raise InvalidInput('A logo is a PNG or JPEG image of at most 512 KB', {'logo': 'invalid'})
    with db.transaction() as session:
        centre = session.get(Centre, centre_id)
        if centre is None:
            raise NotFound('No such centre')
        centre.logo = base64.b64encode(data).decode('ascii') if data else ''
        session.add(centre)
        audit.record(session, by, 'centre.logo', centre, detail={'removed': data is None})


def logo_bytes(centre: Centre) -> bytes | None:
    """The centre's logo as stored, for its reports and statements (None without one, or when it is not base64)."""
    if not centre.logo:
        return None
    try:
        return base64.b64decode(centre.logo, validate=True)
    except (binascii.Error, ValueError):
        log.warning('centre %s has a logo that is not base64: printed without it', centre.id)
        return None


def set_staff_centre(user_id: int, centre_id: int | None, *, by: Actor) -> User:
    """The centre a member of staff works for (None: the reading group's own); their sessions end so that the next
    sign-in sees the new centre's data only."""
    require(by, Permission.MANAGE_USERS)
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound('No such user')
        if centre_id is not None and session.get(Centre, centre_id) is None:
            raise InvalidInput('Choose a centre from the list', {'centre': 'unknown'})
        if centre_id is None and user.role == Role.CENTRE.value:
            raise InvalidInput('Choose the centre this account works for', {'centre': 'required'})
        if user.centre_id == centre_id:
            return user
        audit.record(session, by, 'user.centre', user, changes={'centre_id': [user.centre_id, centre_id]})
        user.centre_id = centre_id
        session.add(user)
        auth.end_sessions_of(session, user.id or 0, 'account-changed')
        events.publish_after(session, events.UserChanged(user.id or 0))
    return user


def served(user_id: int, *, by: Actor) -> frozenset[int]:
    """The centres a reading-group radiologist reads for (empty: all)."""
    require(by, Permission.MANAGE_USERS)
    with db.reading() as session:
        return frozenset(session.exec(select(ServedCentre.centre_id).where(ServedCentre.user_id == user_id)).all())


def served_by_user(*, by: Actor) -> dict[int, frozenset[int]]:
    """Every reading-group radiologist limited to some centres, with those centres."""
    require(by, Permission.MANAGE_USERS)
    limits: dict[int, set[int]] = {}
    with db.reading() as session:
        for user_id, centre_id in session.exec(select(ServedCentre.user_id, ServedCentre.centre_id)).all():
            limits.setdefault(user_id, set()).add(centre_id)
    return {user_id: frozenset(ids) for user_id, ids in limits.items()}


def set_served(user_id: int, centre_ids: set[int], *, by: Actor) -> None:
    """Limit a reading-group radiologist to these centres (empty: every centre); their sessions end."""
    require(by, Permission.MANAGE_USERS)
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound('No such user')
        if user.role != Role.RADIOLOGIST.value or user.centre_id is not None:
            raise InvalidInput('Only a reading-group radiologist reads for chosen centres', {'served': 'role'})
        known = set(session.exec(select(col(Centre.id)).where(col(Centre.id).in_(sorted(centre_ids)))).all())
        if known != centre_ids:
            raise InvalidInput('Choose centres from the list', {'served': 'unknown'})
        before = set(session.exec(select(ServedCentre.centre_id).where(ServedCentre.user_id == user_id)).all())
        if before == centre_ids:
            return
        session.execute(delete(ServedCentre).where(col(ServedCentre.user_id) == user_id))
        session.add_all(ServedCentre(user_id=user_id, centre_id=centre_id) for centre_id in sorted(centre_ids))
        audit.record(session, by, 'user.served', user, changes={'centres': [sorted(before), sorted(centre_ids)]})
        auth.end_sessions_of(session, user_id, 'account-changed')


def set_modality_centre(modality_id: int, centre_id: int | None, *, by: Actor) -> Modality:
    """The centre a modality's pushes land in (None: the first centre, or the patient's)."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.transaction() as session:
        modality = session.get(Modality, modality_id)
        if modality is None:
            raise NotFound('No such modality')
        if centre_id is not None and session.get(Centre, centre_id) is None:
            raise InvalidInput('Choose a centre from the list', {'centre': 'unknown'})
        if modality.centre_id != centre_id:
            audit.record(
                session, by, 'modality.centre', modality, changes={'centre_id': [modality.centre_id, centre_id]}
            )
            modality.centre_id = centre_id
            session.add(modality)
    centres.forget_modalities()
    return modality


def _checked(data: CentreData) -> CentreData:
    name = data.name.strip()
    if not name or len(name) > 120:
        raise InvalidInput('A centre needs a name of at most 120 characters', {'name': 'required'})
    currency = data.currency.strip().upper()
    if not CURRENCY.match(currency):
        raise InvalidInput('A currency is a three-letter ISO 4217 code such as USD', {'currency': 'invalid'})
    address, contact = data.address.strip(), data.contact.strip()
    if len(address) > 500 or len(contact) > 200:
        raise InvalidInput('The address or the contact is too long', {'address': 'too-long'})
    return CentreData(name=name, address=address, contact=contact, currency=currency)


def _name_free(session: Session, name: str, centre_id: int | None) -> None:
    taken = session.exec(select(col(Centre.id)).where(func.lower(Centre.name) == name.lower())).first()
    if taken is not None and taken != centre_id:
        raise Conflict('There is already a centre called {name}', name=name)
