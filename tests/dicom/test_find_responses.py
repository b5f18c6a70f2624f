"""C-FIND answers encoded in bulk (dicom/find_responses.py) and the connection tuning (dicom/transport.py)."""

import socket
import struct
from io import BytesIO
from types import SimpleNamespace

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.dsutils import decode

from dicom import find_responses, scp, storage, transport, worklist
from dicom.ingest import Ingest
from tests.conftest import Clinic
from tests.dicom.reception_scp import reception_scp
from tests.domain.reception_fixtures import at, booking, later, patient, procedure, room

NAME = 0x00100010
ELEMENTS = [
    (0x00080005, 'CS', 'ISO_IR 192'),
    (NAME, 'PN', 'Müller^Jürgen'),  # odd length in UTF-8: padded with a space
    (0x0020000D, 'UI', '1.2.3'),  # odd length: padded with NUL
    (0x00100030, 'DA', '19800517'),
    (0x00100040, 'CS', None),  # asked for, not held: zero length
    (0x00280106, 'US or SS', None),  # an ambiguous dictionary VR, zero length
    (
        0x00400100,
        'SQ',
        [
            [
                (0x00080060, 'CS', 'CT'),
                (0x00400001, 'AE', 'CT_ROOM1'),
                (0x00400008, 'SQ', [[(0x00080100, 'SH', 'CT-HEAD'), (0x00080104, 'LO', 'CT head')]]),
            ]
        ],
    ),
    (0x00080050, 'SH', 'A00000001'),  # out of tag order on purpose
]


@pytest.mark.parametrize('explicit_vr', [True, False], ids=['explicit', 'implicit'])
def test_an_identifier_reads_back_as_the_same_data_set(explicit_vr: bool) -> None:
    encoded = find_responses.encode_identifier(ELEMENTS, explicit_vr=explicit_vr)
    read = decode(BytesIO(encoded), not explicit_vr, True)
    assert str(read.PatientName) == 'Müller^Jürgen' and read.StudyInstanceUID == '1.2.3'
    assert read.AccessionNumber == 'A00000001' and read.PatientSex in ('', None)
    step = read.ScheduledProcedureStepSequence[0]
    assert step.Modality == 'CT' and step.ScheduledProtocolCodeSequence[0].CodeMeaning == 'CT head'
    assert [element.tag for element in read] == sorted(tag for tag, _vr, _value in ELEMENTS)
    assert read[0x00280106].VR == 'US' and not read[0x00280106].value


def test_a_value_too_long_for_its_vr_is_refused() -> None:
    with pytest.raises(ValueError, match='too long'):
        find_responses.encode_identifier([(NAME, 'PN', 'x' * 70_000)], explicit_vr=True)


def test_each_answer_has_pdus_of_its_own_within_the_peers_limit() -> None:
    identifiers = [find_responses.encode_identifier(ELEMENTS[:n], explicit_vr=True) for n in (2, 5, 8)]
    pdus = list(
        find_responses.pending_pdus(
            identifiers, context_id=3, sop_class_uid=worklist.SOP_CLASS, message_id=7, max_pdu=64
        )
    )
    messages, command, data = [], b'', b''
    for pdu in pdus:
        kind, _, length = struct.unpack('>BBI', pdu[:6])
        assert kind == 0x04 and length == len(pdu) - 6 <= 64
        offset, ended = 6, False
        while offset < len(pdu):
            assert not ended, 'a PDU goes on after the end of a message'
            size, context_id, control = struct.unpack('>IBB', pdu[offset : offset + 6])
            assert context_id == 3
            fragment = pdu[offset + 6 : offset + 4 + size]
            offset += 4 + size
            if control & 1:
                command += fragment
            else:
                data += fragment
            if control == 0x02:  # the last fragment of the data set ends the message
                messages.append((decode(BytesIO(command), True, True), data))
                command, data, ended = b'', b'', True
    assert [data for _, data in messages] == identifiers
    for header, _ in messages:
        assert (header.CommandField, header.Status, header.MessageIDBeingRespondedTo) == (0x8020, 0xFF00, 7)
        assert header.CommandDataSetType != 0x0101 and header.AffectedSOPClassUID == worklist.SOP_CLASS
        assert header.CommandGroupLength == len(find_responses._pending_command(worklist.SOP_CLASS, 7)) - 12


def test_a_cancelled_query_sends_no_more_answers() -> None:
    sent: list[bytes] = []
    assoc = SimpleNamespace(
        requestor=SimpleNamespace(maximum_length=16384),
        is_established=True,
        dul=SimpleNamespace(socket=SimpleNamespace(send=sent.append)),
    )
    event = SimpleNamespace(
        assoc=assoc,
        is_cancelled=True,
        context=SimpleNamespace(context_id=1),
        request=SimpleNamespace(MessageID=1, AffectedSOPClassUID=worklist.SOP_CLASS),
    )
    assert find_responses.send_pending(event, [b'\x08\x00\x50\x00SH\x00\x00']) is False
    assert sent == []


def test_a_scanner_with_a_small_pdu_size_gets_every_answer(clinic: Clinic) -> None:
    ct, head = room('CT_ROOM1', 'CT', 'CT 1'), procedure(clinic, 'CT-HEAD', 'CT')
    booked = [
        booking(clinic, patient(clinic, f'Family{n}', 'Given'), ct, head, at(6) + later(20 * n)).accession_number
        for n in range(40)
    ]
    ae = AE('CT_ROOM1')
    ae.add_requested_context(worklist.SOP_CLASS)
    query = Dataset()
    query.PatientName = ''
    query.AccessionNumber = ''
    query.ScheduledProcedureStepSequence = [Dataset()]  # an empty item asks for every key of the step
    with reception_scp(clinic) as port:
        # Every answer is split into several fragments and PDUs.
        assoc = ae.associate('127.0.0.1', port, ae_title=clinic.settings.ae_title, max_pdu=128)
        answers = [(status.Status, found) for status, found in assoc.send_c_find(query, worklist.SOP_CLASS)]
        assoc.release()
    assert [status for status, _ in answers] == [0xFF00] * 40 + [0x0000]
    assert [found.AccessionNumber for _, found in answers[:-1]] == booked
    step = answers[0][1].ScheduledProcedureStepSequence[0]
    assert step.ScheduledStationAETitle == 'CT_ROOM1' and step.ScheduledProtocolCodeSequence[0].CodeValue == 'CT-HEAD'


def test_an_accepted_connection_has_nagle_off_and_acknowledges_each_read_at_once(clinic: Clinic) -> None:
    room('CT_ROOM1', 'CT', 'CT 1')
    ae = AE('CT_ROOM1')
    ae.add_requested_context('1.2.840.10008.1.1')
    storage.configure(clinic.data_dir, min_free_bytes=0)
    listener = scp.start(clinic.settings, Ingest())
    try:
        requestor = ae.associate('127.0.0.1', listener.port, ae_title=clinic.settings.ae_title)
        assert requestor.is_established
        (acceptor,) = listener.ae.active_associations
        assert acceptor.dul.socket.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        if transport.QUICK_ACK is not None:
            assert acceptor.dul.socket.recv.__name__ == 'recv_and_acknowledge'
        assert requestor.send_c_echo().Status == 0x0000
        requestor.release()
    finally:
        listener.stop()
