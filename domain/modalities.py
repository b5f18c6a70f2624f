"""Modalities: the scanners (DICOM peers) the clinic knows by AE title, and who may connect.

A peer is admitted by its calling AE title and where it calls from (PS3.8 9.3.2, PS3.15 B.1):
- an entered, active modality only from its host (an IP address, or a name resolved and briefly cached) unless
  the administrator ticked "accept from any host", and only over the TLS port when "TLS required" is ticked;
- any other AE title only while the administrator has switched on "accept any modality" (the `accept_any_ae`
  option, or PACS_ACCEPT_ANY_AE). That switch lets unknown devices in; it never lets a peer pose as an entered
  modality from elsewhere, so the host and TLS rules above still hold for entered AE titles.
Refusals are audited ('dicom.refused') with the AE title, the calling address and the reason, and go into the
association log (domain.associations) with the accepted associations.
"""

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from sqlmodel import SQLModel, col, select

from . import access, associations, audit, db, options
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput, NotFound
from .models import Modality

log = logging.getLogger(__name__)

MODALITY_CODES = ('US', 'CR', 'DX', 'CT', 'MR', 'MG', 'XA', 'RF', 'NM', 'PT', 'OT')
HOST_CACHE_S = 60.0  # how long a host name's addresses are trusted before it is resolved again
# Why a peer was refused (the audit detail's 'reason'; plain values other programs may read).
UNKNOWN_AE_TITLE, WRONG_HOST, TLS_REQUIRED = 'unknown AE title', 'not from the entered host', 'TLS required'


class ModalityCreate(SQLModel):
    """A scanner as the administrator types it in."""

    ae_title: str = ''
    host: str = ''
    port: int = 104
    modality: str = 'OT'
    room: str = ''
    description: str = ''
    any_host: bool = False  # accept this AE title from any address, not only from `host`
    tls_required: bool = False  # accept it only over the DICOM TLS port


@dataclass(frozen=True)
class Admission:
    """Who may associate from one calling address: the entered modalities' rules, read once per association."""

    address: str
    tls: bool
    accept_any: bool
    rules: dict[str, tuple[str, bool, bool]] = field(default_factory=dict)  # AE title -> (host, any_host, tls)

    def refusal(self, ae_title: str) -> str | None:
        """Why a peer calling with this AE title from this address is refused; None when it is admitted."""
        rule = self.rules.get(ae_title.strip())
        if rule is None:
            return None if self.accept_any else UNKNOWN_AE_TITLE
        host, any_host, tls_required = rule
        if tls_required and not self.tls:
            return TLS_REQUIRED
        if not any_host and _address(self.address) not in _addresses(host):
            return WRONG_HOST
        return None


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
        changed = audit.apply_changes(modality, values)
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


def get(modality_id: int, *, by: Actor) -> Modality:
    """One entered modality (its page)."""
    require(by, Permission.MANAGE_MODALITIES)
    with db.reading() as session:
        modality = session.get(Modality, modality_id)
    if modality is None:
        raise NotFound('No modality {modality_id}', modality_id=modality_id)
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
    """Where to send images a C-MOVE asks for: the host and port of an active modality with that AE title (one
    accepted from any host may have none)."""
    modality = find(ae_title)
    return (modality.host, modality.port) if modality is not None and modality.host else None


def admission(address: str, *, tls: bool = False) -> Admission:
    """The rules for a peer calling from this address (over TLS or not), in one read session.

    The listener reads this once per association, as the connection opens (PS3.8 9.3.2 calling AE title).
    """
    with db.reading() as session:
        accept_any = bool(options.read(session, 'accept_any_ae'))
        rows = session.exec(select(Modality).where(col(Modality.active).is_(True))).all()
    rules = {row.ae_title: (row.host, row.any_host, row.tls_required) for row in rows}
    return Admission(address=address, tls=tls, accept_any=accept_any, rules=rules)


def is_allowed(ae_title: str, address: str | None = None, *, tls: bool = False) -> bool:
    """True when a peer calling with this AE title from this address may associate; without an address, whether
    the AE title may associate at all (from where it is entered)."""
    rules = admission(address or '', tls=tls)
    if address is None:
        return rules.accept_any or ae_title.strip() in rules.rules
    return rules.refusal(ae_title) is None


def refused(ae_title: str, address: str, *, reason: str, tls: bool) -> None:
    """Audit and log a refused association with the calling AE title and address (never raises: the refusal goes
    on)."""
    log.warning('association from %s at %s refused: %s', ae_title, address, reason)
    detail = {'ae_title': ae_title, 'address': address, 'reason': reason, 'tls': tls}
    audit.record_refusal(access.modality(ae_title, address), 'dicom.refused', detail=detail)
    associations.record(ae_title, address, result=associations.REJECTED, reason=reason, tls=tls)


class _ModalityValues(TypedDict):
    ae_title: str
    host: str
    port: int
    modality: str
    room: str
    description: str
    any_host: bool
    tls_required: bool


def _validated(data: ModalityCreate) -> _ModalityValues:
    problems: dict[str, str] = {}
    ae_title = (data.ae_title or '').strip()
    if not ae_title or len(ae_title) > 16 or '\\' in ae_title or any(ord(c) < 32 or ord(c) > 126 for c in ae_title):
        problems['ae_title'] = N_('An AE title is 1 to 16 printable ASCII characters without a backslash')
    host = (data.host or '').strip()
    any_host = bool(data.any_host)
    if (not host and not any_host) or len(host) > 255 or any(c.isspace() for c in host):
        problems['host'] = N_('Enter the host name or IP address of the modality, or accept it from any host')
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
        'any_host': any_host,
        'tls_required': bool(data.tls_required),
    }


def _address(address: str) -> str:
    """An address in one canonical spelling (an IPv4-mapped IPv6 address becomes IPv4)."""
    try:
        parsed = ipaddress.ip_address(address.split('%', 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def _addresses(host: str) -> frozenset[str]:
    """The addresses a modality's host stands for: itself when it is an address, else what it resolves to (cached
    for HOST_CACHE_S; a name that does not resolve stands for no address)."""
    if not host:
        return frozenset()
    if _is_address(host):
        return frozenset({_address(host)})
    now = time.monotonic()
    with _resolved_lock:
        cached = _resolved.get(host)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        found = frozenset(_address(str(info[4][0])) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM))
    except OSError:
        log.warning('modality host %s does not resolve', host)
        found = frozenset()
    with _resolved_lock:
        _resolved[host] = (now + HOST_CACHE_S, found)
    return found


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split('%', 1)[0])
    except ValueError:
        return False
    return True


_resolved: dict[str, tuple[float, frozenset[str]]] = {}  # host name -> (valid until, addresses)
_resolved_lock = threading.Lock()
