"""The pynetdicom internals the listener still relies on (docs/DESIGN.md) have the shape it expects.

pynetdicom is pinned to one version (pyproject.toml); each test here names the internal it checks, so that an
upgrade that changes one fails with a message saying which patch to look at again.
"""

import inspect
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, __version__
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket, RequestHandler

from dicom import find_responses, scp, storage, transport, worklist
from dicom.ingest import Ingest
from tests.conftest import Clinic
from tests.dicom.reception_scp import reception_scp
from tests.domain.reception_fixtures import at, booking, patient, procedure, room

VERIFICATION = '1.2.840.10008.1.1'
CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2'


@pytest.fixture
def listener(clinic: Clinic) -> Iterator[scp.Listener]:
    room('CT_ROOM1', 'CT', 'CT 1')
    storage.configure(clinic.data_dir, min_free_bytes=0)
    running = scp.start(clinic.settings, Ingest())
    try:
        yield running
    finally:
        running.stop()


def test_pynetdicom_is_the_version_the_patches_were_checked_against() -> None:
    assert __version__ == '3.0.4', (
        f'pynetdicom {__version__} is installed; the internals listed in docs/DESIGN.md were checked against 3.0.4: '
        'run tests/dicom/test_pynetdicom_internals.py and bench/pynetdicom_internals.py before moving the pin'
    )


def test_the_dul_reads_every_byte_through_the_association_sockets_recv(
    listener: scp.Listener, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(inspect.signature(AssociationSocket.recv).parameters) == ['self', 'nr_bytes'], (
        'pynetdicom AssociationSocket.recv(nr_bytes) changed shape: the quick ACK in dicom/transport.py wraps it'
    )
    reads: list[int] = []
    acknowledging = transport.acknowledging

    def counting(recv: Any, sock: Any, quick_ack: int) -> Any:
        wrapped = acknowledging(recv, sock, quick_ack)

        def recv_counted(nr_bytes: int) -> bytearray:
            reads.append(nr_bytes)
            return wrapped(nr_bytes)

        return recv_counted

    monkeypatch.setattr(transport, 'acknowledging', counting)
    monkeypatch.setattr(transport, 'QUICK_ACK', transport.QUICK_ACK or 12)
    requestor = _associate(listener, clinic)
    (acceptor,) = listener.ae.active_associations
    assert isinstance(acceptor.dul, DULServiceProvider) and isinstance(acceptor.dul.socket, AssociationSocket), (
        'pynetdicom Association.dul.socket is no longer the AssociationSocket dicom/transport.py tunes'
    )
    assert requestor.send_c_echo().Status == 0x0000
    requestor.release()
    assert reads, (
        "pynetdicom's DUL no longer reads through the instance's AssociationSocket.recv: the quick ACK in "
        'dicom/transport.py never runs'
    )


def test_every_association_shares_the_listeners_supported_contexts(listener: scp.Listener, clinic: Clinic) -> None:
    assert 'deepcopy(self.server.contexts)' in inspect.getsource(RequestHandler._create_association), (
        'pynetdicom RequestHandler._create_association no longer deep-copies server.contexts: '
        '_SharedContext in dicom/scp.py (which makes that copy free) may no longer be needed or may no longer work'
    )
    before = [_context_shape(context) for context in listener.server.contexts]
    ae = AE('CT_ROOM1')
    ae.add_requested_context(VERIFICATION)
    ae.add_requested_context(CT_IMAGE_STORAGE)
    requestor = ae.associate(
        '127.0.0.1',
        listener.port,
        ae_title=clinic.settings.ae_title,
        ext_neg=[_scp_role(CT_IMAGE_STORAGE)],
    )
    assert requestor.is_established
    (acceptor,) = listener.ae.active_associations
    supported = acceptor.acceptor.supported_contexts
    assert all(ours is theirs for ours, theirs in zip(supported, listener.server.contexts, strict=True)), (
        "an association's supported contexts are copies, not the listener's shared ones: pynetdicom "
        'RequestHandler._create_association or _SharedContext in dicom/scp.py changed'
    )
    requestor.release()
    after = [_context_shape(context) for context in listener.server.contexts]
    assert after == before, (
        'pynetdicom negotiation (presentation.negotiate_as_acceptor) changed the supported contexts it was given: '
        'the associations can no longer share them (_SharedContext in dicom/scp.py)'
    )


def test_a_find_handler_runs_on_the_association_thread_with_the_socket_to_itself(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(inspect.signature(AssociationSocket.send).parameters) == ['self', 'bytestream'], (
        'pynetdicom AssociationSocket.send(bytestream) changed shape: dicom/find_responses.py writes answers with it'
    )
    seen: list[dict[str, object]] = []
    send_pending = find_responses.send_pending

    def watching(event: Any, identifiers: Any) -> bool:
        dul = event.assoc.dul
        seen.append(
            {
                'thread': threading.current_thread() is event.assoc,
                'nothing queued': dul.to_provider_queue.empty(),
                'max_length': event.assoc.requestor.maximum_length,
                'send': callable(getattr(dul.socket, 'send', None)),
            }
        )
        return send_pending(event, identifiers)

    monkeypatch.setattr(find_responses, 'send_pending', watching)
    booked = booking(clinic, patient(clinic, 'Doe', 'Jane'), room('CT_ROOM1', 'CT', 'CT 1'), procedure(clinic), at(9))
    ae = AE('CT_ROOM1')
    ae.add_requested_context(worklist.SOP_CLASS)
    query = Dataset()
    query.AccessionNumber = ''
    with reception_scp(clinic) as port:
        assoc = ae.associate('127.0.0.1', port, ae_title=clinic.settings.ae_title, max_pdu=4096)
        answers = [(status.Status, found) for status, found in assoc.send_c_find(query, worklist.SOP_CLASS)]
        assoc.release()
    assert [status for status, _ in answers] == [0xFF00, 0x0000]
    assert answers[0][1].AccessionNumber == booked.accession_number
    assert seen == [{'thread': True, 'nothing queued': True, 'max_length': 4096, 'send': True}], (
        'pynetdicom no longer runs C-FIND handlers on the association thread with an empty DUL send queue, or no '
        'longer exposes requestor.maximum_length / dul.socket.send: the bulk answers of dicom/find_responses.py '
        'could interleave with its own PDUs'
    )


def _associate(listener: scp.Listener, clinic: Clinic) -> Any:
    ae = AE('CT_ROOM1')
    ae.add_requested_context(VERIFICATION)
    requestor = ae.associate('127.0.0.1', listener.port, ae_title=clinic.settings.ae_title)
    assert requestor.is_established
    return requestor


def _scp_role(uid: str) -> Any:
    from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation

    role = SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid = uid
    role.scu_role, role.scp_role = True, True
    return role


def _context_shape(context: Any) -> tuple[object, ...]:
    return (context.abstract_syntax, tuple(context.transfer_syntax), context.scu_role, context.scp_role)
