"""The running DICOM listener: its servers (the plain port, and the TLS port when TLS is on), their shared slots,
the /health probe and the way to stop it. dicom/scp.py decides what the listener offers; this opens the ports.
"""

import logging
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pynetdicom import AE
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import ThreadedAssociationServer

from domain.settings import Settings

from . import peers, transport

log = logging.getLogger(__name__)


@dataclass
class Listener:
    """A running listener: its port (and TLS port), its servers, its slots and the way to stop it."""

    port: int
    server: ThreadedAssociationServer
    ae: AE
    slots: peers.Slots
    tls_server: ThreadedAssociationServer | None = None
    stopped: bool = False
    servers: list[ThreadedAssociationServer] = field(init=False)

    def __post_init__(self) -> None:
        self.servers = [self.server] if self.tls_server is None else [self.server, self.tls_server]

    @property
    def tls_port(self) -> int | None:
        """The DICOM TLS port, None when TLS is off."""
        return None if self.tls_server is None else int(self.tls_server.server_address[1])

    def is_up(self) -> bool:
        """True while every port accepts associations."""
        return not self.stopped and all(_listening(server) for server in self.servers)

    def health(self) -> bool | tuple[str, str]:
        """The /health probe: True (ok), False (down) or ('saturated', why) while refusing for lack of slots."""
        if not self.is_up():
            return False
        saturation = self.slots.saturation()
        return ('saturated', saturation) if saturation else True

    def stop(self) -> None:
        """Stop accepting associations, end the open ones and close the sockets."""
        self.stopped = True
        for server in self.servers:
            server.shutdown()
        self.ae.shutdown()


def open_ports(
    ae: AE, settings: Settings, contexts: list[PresentationContext], bindings: Sequence[Any], *, max_associations: int
) -> Listener:
    """Serve the AE on PACS_DICOM_PORT and, with TLS on, on PACS_DICOM_TLS_PORT (0: a free port), in background
    threads; both ports share one set of slots."""
    files = _certificate_files(settings)
    tls = transport.server_context(*files) if files is not None else None  # a bad pair fails before any port opens
    slots = peers.Slots(ae, per_peer=settings.dicom_peer_associations, total=max_associations)

    def serve(port: int, context: ssl.SSLContext | None) -> peers.PeerServer:
        server = ae.make_server(
            ('0.0.0.0', port),
            contexts=contexts,
            evt_handlers=list(bindings),
            server_class=peers.PeerServer,
            slots=slots,
            tls=context,
            handshake_timeout=settings.dicom_request_timeout_s,
        )
        assert isinstance(server, peers.PeerServer)
        name = f'DICOM listener :{server.server_address[1]}'
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
        return server

    server = serve(settings.dicom_port, None)
    try:
        tls_server = serve(settings.dicom_tls_port, tls) if tls is not None else None
    except OSError:  # the TLS port is taken: do not leave the plain one running
        server.shutdown()
        raise
    return Listener(port=int(server.server_address[1]), server=server, ae=ae, slots=slots, tls_server=tls_server)


def _listening(server: ThreadedAssociationServer) -> bool:
    sock = server.socket
    return sock is not None and sock.fileno() != -1


def _certificate_files(settings: Settings) -> tuple[Path, Path] | None:
    """The certificate and key of the TLS port (domain.tls, shared with HTTPS); None when TLS is off."""
    if not settings.tls_enabled:
        return None
    from domain import tls  # only with TLS on: it loads cryptography

    return tls.certificate_files(settings)
