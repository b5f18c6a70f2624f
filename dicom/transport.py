"""Our side of each accepted DICOM connection: answer without the waits TCP and pynetdicom's polling add.

- Nagle off (TCP_NODELAY): a small response must not wait for the peer's delayed ACK.
- An immediate ACK after every read (TCP_QUICKACK, which the kernel clears by itself, so it is set each
  time): a peer that leaves Nagle on, as DCMTK's tools and many scanners do, holds back the second half of
  each PDU it writes in two parts until ours is acknowledged, and Linux delays that ACK by 40 ms.
- pynetdicom's DUL thread naps 1 ms whenever it finds nothing to do, and each PDU in or out can wait on such
  a nap. While an association is busy its DUL naps 0.1 ms instead, and falls back to pynetdicom's 1 ms after
  half a second of quiet, so an idle association costs no more CPU than before.
"""

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from pynetdicom.dul import DULServiceProvider

log = logging.getLogger(__name__)

BUSY_NAP_S, IDLE_NAP_S, BUSY_FOR_S = 0.0001, 0.001, 0.5


def tune(assoc: Any) -> None:
    """Set up a freshly accepted association's connection (EVT_CONN_OPEN, before its threads start)."""
    dul = assoc.dul
    transport = getattr(dul, 'socket', None)
    sock = getattr(transport, 'socket', None)
    if transport is None or sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        log.debug('could not set TCP_NODELAY', exc_info=True)
    if type(dul) is DULServiceProvider:
        dul.__class__ = EagerDUL
        dul.busy()
    transport.recv = _acknowledging(transport.recv, sock, dul)


class EagerDUL(DULServiceProvider):
    """pynetdicom's DUL thread, napping 0.1 ms between looks while its association is busy, 1 ms once quiet."""

    _busy_until = 0.0

    @property  # type: ignore[override]
    def _run_loop_delay(self) -> float:
        return BUSY_NAP_S if time.monotonic() < self._busy_until else IDLE_NAP_S

    @_run_loop_delay.setter
    def _run_loop_delay(self, _value: float) -> None:
        """pynetdicom sets its fixed delay when it builds the DUL; the property above decides instead."""

    def busy(self) -> None:
        """Something was received or is to be sent: look again soon for a while."""
        self._busy_until = time.monotonic() + BUSY_FOR_S

    def send_pdu(self, primitive: Any) -> None:
        """Queue a primitive to send, as pynetdicom does, and pick it up without a long nap."""
        self.busy()
        super().send_pdu(primitive)


def _acknowledging(recv: Callable[[int], bytearray], sock: socket.socket, dul: Any) -> Callable[[int], bytearray]:
    quick_ack = getattr(socket, 'TCP_QUICKACK', None)  # Linux only

    def recv_and_acknowledge(nr_bytes: int) -> bytearray:
        data = recv(nr_bytes)
        if quick_ack is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quick_ack, 1)
        if isinstance(dul, EagerDUL):
            dul.busy()
        return data

    return recv_and_acknowledge
