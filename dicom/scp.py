"""The DICOM listener: C-ECHO, C-STORE of every storage SOP class, and the C-FIND services others add.

What the listener offers is declared in one place, `services()`: each Service lists its presentation
contexts and its (event, handler, args) bindings. C-FIND has one handler per association, so C-FIND
services register a handler per SOP class in `find_handlers` instead (the Modality Worklist adds itself
there). Who may call, from where and over which port, and how many connections one address may hold, is
dicom/peers.py; dicom/listener.py opens the ports. Resources are bounded: simultaneous associations (per
address and in all), PDU size, and the ACSE (association request), DIMSE and network (idle) timeouts. With TLS
on, a second port serves the same services (PS3.15 B.1).
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.events import Event
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from domain import access, studies
from domain.settings import Settings

from . import association_log, commitment, mpps, peers, qr, transport, worklist
from .ingest import Ingest, IngestError
from .listener import Listener, open_ports

log = logging.getLogger(__name__)

TRANSFER_SYNTAXES: list[str] = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
]
MAX_ASSOCIATIONS = 16
MAX_PDU_BYTES = 256 * 1024
DIMSE_TIMEOUT_S, NETWORK_TIMEOUT_S = 60, 120  # the ACSE timeout is PACS_DICOM_REQUEST_TIMEOUT_S (dicom/peers.py)

Handler = tuple[Any, Callable[..., Any], list[Any]] | tuple[Any, Callable[..., Any]]
FindHandler = Callable[[Event], Any]


@dataclass
class Service:
    """Presentation contexts (abstract syntax, transfer syntaxes) and the event bindings that serve them."""

    name: str
    contexts: Sequence[tuple[str, Sequence[str]]]
    handlers: Sequence[Handler] = ()


# SOP Class UID -> handler of a C-FIND request of that class (yields like a pynetdicom C-FIND handler).
find_handlers: dict[str, FindHandler] = {
    qr.PATIENT_ROOT_FIND: qr.on_c_find,
    qr.STUDY_ROOT_FIND: qr.on_c_find,
}
QUERY_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]


def services(ingest: Ingest) -> list[Service]:
    """Everything the listener offers. NOTE: add a Service here (and C-FIND classes to find_handlers)."""
    storage_contexts = [(cx.abstract_syntax or '', TRANSFER_SYNTAXES) for cx in AllStoragePresentationContexts]
    find_handlers.setdefault(worklist.SOP_CLASS, worklist.on_c_find_worklist)
    return [
        Service(
            'verification',
            [(Verification, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])],
            [(evt.EVT_C_ECHO, on_c_echo)],
        ),
        Service('storage', storage_contexts, [(evt.EVT_C_STORE, on_c_store, [ingest])]),
        Service('find', [(uid, QUERY_SYNTAXES) for uid in find_handlers], [(evt.EVT_C_FIND, on_c_find)]),
        Service(
            'move',
            [(qr.PATIENT_ROOT_MOVE, QUERY_SYNTAXES), (qr.STUDY_ROOT_MOVE, QUERY_SYNTAXES)],
            [(evt.EVT_C_MOVE, qr.on_c_move)],
        ),
        Service(
            'get',
            [(qr.PATIENT_ROOT_GET, QUERY_SYNTAXES), (qr.STUDY_ROOT_GET, QUERY_SYNTAXES)],
            [(evt.EVT_C_GET, qr.on_c_get), (evt.EVT_REQUESTED, qr.on_association_requested)],
        ),
        Service('mpps', [(mpps.SOP_CLASS, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])], mpps.handlers()),
        Service('commitment', [(commitment.SOP_CLASS, commitment.SYNTAXES)], commitment.handlers()),
        Service(
            'connection',
            [],
            [
                (evt.EVT_CONN_OPEN, on_connection_open),
                (evt.EVT_CONN_OPEN, peers.on_connection_open),
                (evt.EVT_REQUESTED, peers.on_association_requested),
                (evt.EVT_RELEASED, on_association_end),
                (evt.EVT_ABORTED, on_association_end),
                (evt.EVT_CONN_CLOSE, on_association_end),
                *association_log.handlers(),
            ],
        ),
    ]


def start(settings: Settings, ingest: Ingest) -> Listener:
    """Listen on PACS_DICOM_PORT (0: a free port) as PACS_AE_TITLE in background threads, and with TLS on also on
    PACS_DICOM_TLS_PORT."""
    # Identifiers hold patient names: pynetdicom must never log them (and formatting them costs time per answer).
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    ae, bindings = application_entity(settings, ingest)
    contexts: list[PresentationContext] = [_SharedContext.of(context) for context in ae.supported_contexts]
    listener = open_ports(ae, settings, contexts, bindings, max_associations=MAX_ASSOCIATIONS)
    log.info(
        'DICOM listener %s on port %s%s (%d contexts)',
        settings.ae_title,
        listener.port,
        f' and TLS port {listener.tls_port}' if listener.tls_port else '',
        len(ae.supported_contexts),
    )
    return listener


def application_entity(settings: Settings, ingest: Ingest) -> tuple[AE, list[Handler]]:
    """The listener's AE (its supported contexts, roles, limits and timeouts) and its event bindings, not yet
    serving; dicom/conformance.py states what it offers from the same object."""
    ae = AE(ae_title=settings.ae_title)
    ae.maximum_associations = MAX_ASSOCIATIONS
    ae.maximum_pdu_size = MAX_PDU_BYTES
    # The ACSE timeout is also each association's ARTIM timer: a connection silent this long is dropped.
    ae.acse_timeout = settings.dicom_request_timeout_s
    ae.dimse_timeout, ae.network_timeout = DIMSE_TIMEOUT_S, NETWORK_TIMEOUT_S
    bindings: list[Handler] = []
    for service in services(ingest):
        for abstract, syntaxes in service.contexts:
            # Both roles for storage, so a C-GET requestor may take the storage SCP role (PS3.7 D.3.3.4).
            roles = {'scu_role': True, 'scp_role': True} if service.name == 'storage' else {}
            ae.add_supported_context(abstract, list(syntaxes), **roles)
        bindings.extend(service.handlers)
    return ae, bindings


# ---------------------------------------------------------------- handlers (association threads: short)


def on_c_echo(event: Event) -> int:
    """C-ECHO: the listener is up (PS3.4 A.4)."""
    return 0x0000


def on_c_store(event: Event, ingest: Ingest) -> int:
    """C-STORE: answer success only once the file is on disk and indexed (PS3.4 B.2.3)."""
    request = event.request
    assert isinstance(request, C_STORE)
    requestor = event.assoc.requestor
    meta = event.file_meta
    meta.SourceApplicationEntityTitle = requestor.ae_title
    encoded_meta = encode_file_meta(meta)
    data = request.DataSet.getbuffer()  # type: ignore[union-attr]
    parts = [b'\x00' * 128 + b'DICM' + encoded_meta, data]
    try:
        outcome = ingest.accept(
            parts,
            132 + len(encoded_meta) + len(data),
            by=_actor(event),
            sop_class_uid=str(request.AffectedSOPClassUID),
            sop_instance_uid=str(request.AffectedSOPInstanceUID),
            transfer_syntax_uid=str(event.context.transfer_syntax),
        )
    except IngestError as error:
        log.warning(
            'C-STORE of %s from %s refused (0x%04X): %s',
            request.AffectedSOPInstanceUID,
            requestor.ae_title,
            error.status,
            error,
        )
        return error.status
    finally:
        del data
    if outcome.study_id is not None and outcome.result == 'stored':
        _count(event, outcome.study_id)
    return 0x0000


def on_c_find(event: Event) -> Any:
    """C-FIND: hand the request to the service registered for its SOP class."""
    handler = find_handlers.get(str(event.request.AffectedSOPClassUID))
    if handler is None:
        yield 0x0122, None  # SOP class not supported
        return
    yield from handler(event)


def on_connection_open(event: Event) -> None:
    """Answer without waiting on TCP or on pynetdicom's polling (dicom/transport.py)."""
    transport.tune(event.assoc)


def on_association_end(event: Event) -> None:
    """Audit what the association delivered, one event per study."""
    counts = _delivered.pop(id(event.assoc), None)
    if counts:
        studies.record_transfer(counts, by=_actor(event))


# ---------------------------------------------------------------- helpers

_delivered: dict[int, dict[int, int]] = {}


def _count(event: Event, study_id: int) -> None:
    counts = _delivered.setdefault(id(event.assoc), {})
    counts[study_id] = counts.get(study_id, 0) + 1


def _actor(event: Event) -> access.Actor:
    requestor = event.assoc.requestor
    return access.modality(str(requestor.ae_title).strip(), str(requestor.address))


class _SharedContext(PresentationContext):
    """A supported context that every association shares instead of copying.

    pynetdicom deep-copies the listener's supported contexts for each association so that a change to the AE
    cannot reach a running one; with every storage class in thirteen transfer syntaxes that rebuilt ~2,000
    validated UIDs, 15 ms before each association could start. The listener never changes its contexts after
    start, and negotiation only reads them (pynetdicom.presentation.negotiate_as_acceptor).
    """

    @classmethod
    def of(cls, context: PresentationContext) -> '_SharedContext':
        shared = cls()
        shared.__dict__.update(context.__dict__)
        return shared

    def __deepcopy__(self, memo: dict[int, Any]) -> '_SharedContext':
        return self
