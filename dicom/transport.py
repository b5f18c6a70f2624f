"""Our side of each accepted DICOM connection: answer without the waits TCP adds.

- Nagle off (TCP_NODELAY): a small response must not wait for the peer's delayed ACK.
- An immediate ACK after every read (TCP_QUICKACK, which the kernel clears by itself, so it is set each
  time): a peer that leaves Nagle on, as DCMTK's tools and many scanners do, holds back the second half of
  each PDU it writes in two parts until ours is acknowledged, and Linux delays that ACK by 40 ms.

NOTE: the quick ACK wraps the `recv` of pynetdicom's AssociationSocket, which its DUL thread calls for every
read; pynetdicom has no public hook between reads (its EVT_DATA_RECV comes after a whole PDU, too late:
bench/pynetdicom_internals.py). tests/dicom/test_pynetdicom_internals.py fails if that shape changes.

The TLS port's context is built here too (`server_context`); dicom/peers.py shakes hands with it.
"""

import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynetdicom import evt

log = logging.getLogger(__name__)

QUICK_ACK: int | None = getattr(socket, 'TCP_QUICKACK', None)  # Linux only


def tune(assoc: Any) -> None:
    """Set up a fresh association's connection (EVT_CONN_OPEN), accepted or requested: our C-MOVE, forwarding and
    commitment-report associations wait on the peer's C-STORE-RSP / N-EVENT-REPORT-RSP just as a peer waits on ours."""
    transport = getattr(assoc.dul, 'socket', None)
    sock = getattr(transport, 'socket', None)
    if transport is None or sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        log.debug('could not set TCP_NODELAY', exc_info=True)
    if QUICK_ACK is not None:
        transport.recv = acknowledging(transport.recv, sock, QUICK_ACK)


def tuned() -> list[Any]:
    """The event handler that tunes an association we request (`AE.associate(..., evt_handlers=tuned())`)."""
    return [(evt.EVT_CONN_OPEN, lambda opened: tune(opened.assoc))]


def acknowledging(recv: Callable[[int], bytearray], sock: socket.socket, quick_ack: int) -> Callable[[int], bytearray]:
    """`recv`, then an immediate ACK of what was read (`quick_ack`: the TCP_QUICKACK option)."""

    def recv_and_acknowledge(nr_bytes: int) -> bytearray:
        data = recv(nr_bytes)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quick_ack, 1)
        return data

    return recv_and_acknowledge


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The DICOM TLS port's context: this certificate (chain) and key, TLS 1.2 or later (PS3.15 B.1, BCP 195)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # a server: no client certificate asked for
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
