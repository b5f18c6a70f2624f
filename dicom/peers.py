"""Who may hold the DICOM listener: how many connections one address may keep, and which peer may associate.

- Slots: at most PACS_DICOM_PEER_ASSOCIATIONS connections from one address (waiting for their association request or
  associated; a released or aborted one no longer counts while its thread winds down) and MAX_ASSOCIATIONS in all.
  A connection beyond either is closed as it is accepted (socketserver's `verify_request`), so one address cannot
  take every slot. Refusing for lack of slots is remembered for SATURATED_S, during which /health reports the
  listener as saturated.
- A connection that sends no A-ASSOCIATE-RQ within PACS_DICOM_REQUEST_TIMEOUT_S is dropped: that is the AE's ACSE
  timeout, which pynetdicom also gives each association's ARTIM timer (PS3.8 9.1.5); dicom/scp.py sets it.
- TLS: the handshake runs on the connection's own thread, limited by that same timeout, never in the accept loop
  (pynetdicom's own `ssl_context` shakes hands in `get_request`, where one silent peer would stop every accept).
- The calling AE title is checked with the calling address and transport as the A-ASSOCIATE-RQ arrives
  (EVT_REQUESTED) against domain.modalities.Admission, read while the peer was still sending its request. A refusal
  is audited and answered with A-ASSOCIATE-RJ "calling AE title not recognised" (PS3.8 7.1.1.9, 9.3.4).
"""

import contextlib
import gc
import logging
import ssl
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pynetdicom import AE
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from domain import modalities

log = logging.getLogger(__name__)

YOUNG_COLLECTION_TURNS = 60  # serve_forever() turns between two collections of the young generations
SATURATED_S = 30.0  # /health says saturated this long after the last refusal for lack of slots
REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED = 0x01, 0x01, 0x03  # A-ASSOCIATE-RJ (PS3.8 9.3.4)


class Slots:
    """The listener's connection slots, per calling address and in all, shared by the plain and the TLS port."""

    def __init__(self, ae: AE, *, per_peer: int, total: int) -> None:
        self.ae, self.per_peer, self.total = ae, per_peer, total
        self._lock = threading.Lock()
        self._starting: dict[str, int] = {}  # accepted connections whose association thread is not running yet
        self._refused: dict[str, float] = {}  # why -> when the listener last refused for lack of slots

    def take(self, address: str) -> bool:
        """Take a slot for a new connection from this address; False: none is free (the connection is closed)."""
        with self._lock:
            held = [assoc.requestor.address for assoc in self.ae.active_associations if _holds(assoc)]
            held += [peer for peer, count in self._starting.items() for _ in range(count)]
            if len(held) >= self.total:
                why = f'all {self.total} association slots in use'
            elif held.count(address) >= self.per_peer:
                why = f'a peer address holds its {self.per_peer} associations'
            else:
                self._starting[address] = self._starting.get(address, 0) + 1
                return True
            first = why not in self._refused or time.monotonic() - self._refused[why] > SATURATED_S
            self._refused[why] = time.monotonic()
        if first:  # one line per burst: the peer may be retrying in a loop
            log.warning('DICOM connection from %s refused: %s', address, why)
        return False

    def started(self, address: str) -> None:
        """The connection's association thread runs (and counts itself), or the connection is gone."""
        with self._lock:
            left = self._starting.get(address, 0) - 1
            if left > 0:
                self._starting[address] = left
            else:
                self._starting.pop(address, None)

    def saturation(self) -> str | None:
        """Why the listener is refusing connections for lack of slots, or None when it has not lately."""
        now = time.monotonic()
        with self._lock:
            recent = sorted(why for why, when in self._refused.items() if now - when <= SATURATED_S)
        return f'refusing connections: {"; ".join(recent)}' if recent else None


def _holds(assoc: Any) -> bool:
    """An association we accepted that is waiting for its request or open. pynetdicom lists an association until
    its thread ends, after the release or abort and their handlers: a peer calling again at once is not refused."""
    return bool(assoc.is_acceptor and not (assoc.is_released or assoc.is_aborted or assoc.is_rejected))


class PeerServer(ThreadedAssociationServer):
    """pynetdicom's threaded server with a slot check per accepted connection and TLS on the connection's thread.

    Built with `AE.make_server(server_class=PeerServer, slots=..., tls=..., handshake_timeout=...)`, pynetdicom's way
    to use a custom server class; socketserver documents `verify_request` and `finish_request` as the hooks.
    """

    def __init__(
        self, *args: Any, slots: Slots, tls: ssl.SSLContext | None = None, handshake_timeout: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.slots, self.tls, self.handshake_timeout = slots, tls, handshake_timeout
        self._turns = 0

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Accept the connection only while its address and the listener have a free slot (accept-loop thread)."""
        return self.slots.take(_host(client_address))

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Shake hands (TLS port), then start the association; the slot passes to the association's thread."""
        address = _host(client_address)
        try:
            if self.tls is not None:
                request = self._handshake(request, address)
                if request is None:
                    return
            super().finish_request(request, client_address)
        finally:
            self.slots.started(address)

    def service_actions(self) -> None:
        """socketserver's hook, called by serve_forever() at every turn (every request, every half second idle).

        pynetdicom's own collects *all* of the process's garbage (`gc.collect()`) every 60 turns, to free its dead
        associations. In `serve` the listener shares its process with the web server, whose heap holds every open
        page's elements: each such full collection held the GIL for 0.5-1.5 s under load, in which no page or
        socket message was answered (bench/uiload.py, py-spy). The young generations hold a finished association's
        objects; older garbage is the interpreter's automatic collector's to free (ui/heap.py tunes it).
        """
        self._turns += 1
        if self._turns % YOUNG_COLLECTION_TURNS == 0:
            gc.collect(1)

    def shutdown(self) -> None:
        """Stop accepting and close the socket (the AE never listed this server: dicom/scp.py started it)."""
        with contextlib.suppress(ValueError):  # pynetdicom removes the server from the AE's own list of servers
            super().shutdown()

    def _handshake(self, request: Any, address: str) -> ssl.SSLSocket | None:
        request.settimeout(self.handshake_timeout)
        assert self.tls is not None
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except OSError as error:  # ssl.SSLError, a timeout or a reset
            log.warning('DICOM TLS handshake with %s failed: %s', address, error)
            self.shutdown_request(request)
            return None
        wrapped.settimeout(None)  # as pynetdicom keeps a plain connection: blocking, read when select says so
        return wrapped


def on_connection_open(event: Event) -> None:
    """Start reading who may call from this address while the peer is still sending its association request."""
    assoc = event.assoc
    _admissions[assoc] = _lookups.submit(modalities.admission, str(assoc.requestor.address), tls=_over_tls(assoc))


def on_association_requested(event: Event) -> None:
    """Refuse (A-ASSOCIATE-RJ) and audit a peer whose AE title may not call from its address or transport.

    Any failure to decide refuses: a notification handler's exception would otherwise let the association go on.
    """
    assoc = event.assoc
    address, tls = str(assoc.requestor.address), _over_tls(assoc)
    ae_title = ''
    try:
        request = assoc.requestor.primitive  # the A-ASSOCIATE-RQ just received
        ae_title = str(request.calling_ae_title).strip() if request is not None else ''
        pending = _admissions.pop(assoc, None)
        admission = pending.result() if pending is not None else modalities.admission(address, tls=tls)
        reason = admission.refusal(ae_title)
    except Exception:
        log.exception('could not check the DICOM peer %s at %s', ae_title, address)
        reason = 'the peer could not be checked'
    if reason is None:
        return
    modalities.refused(ae_title, address, reason=reason, tls=tls)  # before the answer: the audit row comes first
    assoc.acse.send_reject(REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED)
    assoc.kill()  # as pynetdicom does after its own rejections: the DUL closes the connection


# ---------------------------------------------------------------- helpers


def _host(client_address: Any) -> str:
    return str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)


def _over_tls(assoc: Any) -> bool:
    return isinstance(getattr(assoc.dul.socket, 'socket', None), ssl.SSLSocket)


_admissions: 'weakref.WeakKeyDictionary[Any, Future[modalities.Admission]]' = weakref.WeakKeyDictionary()
_lookups = ThreadPoolExecutor(max_workers=2, thread_name_prefix='dicom-peer')
