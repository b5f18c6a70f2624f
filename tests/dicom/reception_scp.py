"""A stand-alone worklist and MPPS listener for tests (the clinic's SCP binds the same handlers)."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from dicom import mpps, worklist


def _nodelay(event: evt.Event) -> None:
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@contextmanager
def reception_scp(ae_title: str = 'CLINICPACS') -> Iterator[int]:
    """Serve MWL C-FIND and MPPS on a free local port; yields the port."""
    ae = AE(ae_title)
    for context in (worklist.SOP_CLASS, mpps.SOP_CLASS, Verification):
        ae.add_supported_context(context)
    handlers = [*worklist.handlers(), *mpps.handlers(), (evt.EVT_CONN_OPEN, _nodelay)]
    server = ae.start_server(('127.0.0.1', 0), block=False, evt_handlers=handlers)
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
