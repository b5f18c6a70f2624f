"""The listener's part of the association log (domain.associations): what each accepted association did.

Notification handlers, bound in dicom/scp.py with the other connection events: an association is counted from
EVT_ACCEPTED, each response the listener sends is tallied (EVT_DIMSE_SENT: C-STORE by its status, the final
C-FIND, C-MOVE and C-GET responses, C-ECHO), and one row is written when it ends (the first of EVT_RELEASED,
EVT_ABORTED and EVT_CONN_CLOSE), after the peer has had every answer. Nothing here can fail an association: a
tally or a row that goes wrong is logged as a warning. Refused peers are logged by domain.modalities.refused.
"""

import logging
import ssl
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynetdicom import evt
from pynetdicom.dimse_messages import C_ECHO_RSP, C_FIND_RSP, C_GET_RSP, C_MOVE_RSP, C_STORE_RSP
from pynetdicom.events import Event

from domain import associations, clock

log = logging.getLogger(__name__)

STORED = frozenset({0x0000, 0x0001, 0xB000, 0xB006, 0xB007})  # success and the warnings that still store (PS3.4 B.2.3)
PENDING = frozenset({0xFF00, 0xFF01})
QUERIES = (C_FIND_RSP, C_MOVE_RSP, C_GET_RSP)


@dataclass
class _Tally:
    ae_title: str
    address: str
    tls: bool
    at: datetime = field(default_factory=clock.now)
    images: int = 0
    failed: int = 0
    queries: int = 0
    echoes: int = 0


def handlers() -> list[tuple[Any, Any]]:
    """The listener's bindings that keep the association log."""
    return [
        (evt.EVT_ACCEPTED, on_accepted),
        (evt.EVT_DIMSE_SENT, on_response_sent),
        (evt.EVT_RELEASED, on_ended),
        (evt.EVT_ABORTED, on_aborted),
        (evt.EVT_CONN_CLOSE, on_ended),
    ]


def on_accepted(event: Event) -> None:
    """Start counting what an accepted association does."""
    assoc = event.assoc
    try:
        if not assoc.is_acceptor:
            return
        requestor = assoc.requestor
        tally = _Tally(str(requestor.ae_title).strip(), str(requestor.address), _over_tls(assoc))
    except Exception:  # pynetdicom would log a handler's exception as an error; the association goes on anyway
        log.warning('association not counted for the log', exc_info=True)
        return
    with _lock:
        _tallies[assoc] = tally


def on_response_sent(event: Event) -> None:
    """Count a response the listener sent: an image stored or refused, a query or an echo answered."""
    tally = _tallies.get(event.assoc)
    if tally is None:
        return
    message = event.message
    if not isinstance(message, (C_STORE_RSP, C_ECHO_RSP, *QUERIES)):
        return
    try:
        status = int(message.command_set.Status)
    except Exception:  # a response without a status is the listener's own fault; it is not counted
        log.warning('a %s without a status was not counted', type(message).__name__, exc_info=True)
        return
    if isinstance(message, C_STORE_RSP):
        if status in STORED:
            tally.images += 1
        else:
            tally.failed += 1
    elif isinstance(message, C_ECHO_RSP):
        tally.echoes += 1
    elif status not in PENDING:
        tally.queries += 1


def on_aborted(event: Event) -> None:
    """The association ended by an abort: log it so."""
    _write(event, reason=associations.ABORTED)


def on_ended(event: Event) -> None:
    """The association was released or its connection closed: log it."""
    _write(event, reason='')


def _write(event: Event, *, reason: str) -> None:
    with _lock:
        tally = _tallies.pop(event.assoc, None)
    if tally is None:  # not accepted, or already written by an earlier end event
        return
    try:
        associations.record(
            tally.ae_title,
            tally.address,
            result=associations.ACCEPTED,
            at=tally.at,
            reason=reason,
            tls=tally.tls,
            images=tally.images,
            failed=tally.failed,
            queries=tally.queries,
            echoes=tally.echoes,
        )
    except Exception:  # record() already swallows database problems; this is anything else, never the peer's
        log.warning('association of %s from %s not logged', tally.ae_title, tally.address, exc_info=True)


def _over_tls(assoc: Any) -> bool:
    return isinstance(getattr(assoc.dul.socket, 'socket', None), ssl.SSLSocket)


_tallies: 'weakref.WeakKeyDictionary[Any, _Tally]' = weakref.WeakKeyDictionary()
_lock = threading.Lock()
