"""C-FIND pending responses sent in bulk: identifiers encoded straight to bytes, written in large chunks.

pynetdicom sends each C-FIND response by building and encoding a command set and a pydicom data set,
then handing two PDUs one by one to its DUL thread: a day's worklist (hundreds of answers) took several
times the 50 ms a scanner's query should take. Here each identifier is encoded from plain (tag, VR, value)
elements, the pending command set is encoded once (PS3.7 9.3.2.2, E.1), each message becomes one P-DATA-TF
PDU within the peer's maximum length (PS3.8 9.3.5, E.2), and the PDUs go out through the association's
own transport: the first at once, the rest in chunks of 8 KiB. The final status still goes through
pynetdicom, after them.

NOTE: writing to the association socket from the handler relies on pynetdicom's acceptor: only the
association thread queues outgoing PDUs, and it is inside our handler, so the DUL thread sends nothing
meanwhile; a send failure becomes the DUL's "transport closed" event as for its own sends. It is kept for
its measured gain (bench/pynetdicom_internals.py, docs/DESIGN.md) and tests/dicom/test_pynetdicom_internals.py
fails if that shape changes.
"""

import functools
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# An element of an identifier: (tag, VR, value). The value is text, None (zero length: asked for, not
# held), or for a sequence a list of items, each a list of elements.
Element = tuple[int, str, Any]

PENDING = 0xFF00
C_FIND_RSP, DATA_SET_PRESENT = 0x8020, 0x0001  # Command Field, Command Data Set Type (PS3.7 E.1)
UNLIMITED_PDU = 64 * 1024  # the PDU size used when the peer sets no maximum (0)
SEND_CHUNK = 8 * 1024  # small enough that the peer starts reading while the rest is made
_LONG_VRS = frozenset({'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'})
_ITEM = 0xFFFEE000
_U16, _U32 = struct.Struct('<H').pack, struct.Struct('<I').pack
_COMMAND_LAST, _DATA, _DATA_LAST, _COMMAND = b'\x03', b'\x00', b'\x02', b'\x01'


def encode_identifier(elements: Iterable[Element], *, explicit_vr: bool) -> bytes:
    """A little-endian data set holding `elements` in tag order; text is UTF-8 (Specific Character Set ISO_IR 192).

    Sequences get defined lengths (PS3.5 7.5.2); a value too long for its VR's length field raises ValueError.
    """
    parts: list[bytes] = []
    for tag, vr, value in sorted(elements, key=_tag_of):
        if vr == 'SQ':
            body = b''.join(_item(item, explicit_vr) for item in value or ())
        elif value is None or value == '':
            body = b''
        else:
            body = str(value).encode('utf-8')
            if len(body) % 2:
                body += b'\x00' if vr == 'UI' else b' '
        prefix, long_length = _prefix(tag, vr, explicit_vr)
        if long_length:
            parts.append(prefix + _U32(len(body)))
        elif len(body) <= 0xFFFF:
            parts.append(prefix + _U16(len(body)))
        else:
            raise ValueError(f'a value of ({tag >> 16:04X},{tag & 0xFFFF:04X}) is too long for VR {vr}')
        parts.append(body)
    return b''.join(parts)


def send_pending(event: Any, identifiers: Iterable[bytes]) -> bool:
    """Send a pending C-FIND-RSP (PS3.7 9.1.2.1) per encoded identifier; False if the peer cancelled first."""
    assoc = event.assoc
    pdus = pending_pdus(
        identifiers,
        context_id=event.context.context_id,
        message_id=event.request.MessageID,
        sop_class_uid=str(event.request.AffectedSOPClassUID),
        max_pdu=assoc.requestor.maximum_length or 0,
    )
    for chunk in _chunks(pdus, SEND_CHUNK):
        if event.is_cancelled or not assoc.is_established:
            return False
        assoc.dul.socket.send(chunk)
    return True


def pending_pdus(
    identifiers: Iterable[bytes], *, context_id: int, sop_class_uid: str, message_id: int, max_pdu: int
) -> Iterator[bytes]:
    """Encoded P-DATA-TF PDUs, one pending response each (more where the peer's maximum length needs it).

    A message's command and data set share a PDU when they fit within the peer's Maximum Length Received
    (`max_pdu`, 0: no limit, PS3.8 D.1.1), but no PDU carries parts of two messages: PS3.8 allows it, yet
    some peers (pynetdicom among them) drop whatever follows the end of a message in the same PDU.
    """
    limit = max_pdu or UNLIMITED_PDU
    command = [
        _pdv_item(context_id, pdv)
        for pdv in _fragments(_pending_command(sop_class_uid, message_id), limit, command=True)
    ]
    for identifier in identifiers:
        items: list[bytes] = []
        size = 0
        for item in (*command, *(_pdv_item(context_id, pdv) for pdv in _fragments(identifier, limit, command=False))):
            if size and size + len(item) > limit:
                yield _pdu(items, size)
                items, size = [], 0
            items.append(item)
            size += len(item)
        yield _pdu(items, size)


def _pending_command(sop_class_uid: str, message_id: int) -> bytes:
    """The command set every pending response shares, in Implicit VR Little Endian (PS3.7 9.3.2.2, 6.3.1)."""
    uid = sop_class_uid.encode('ascii')
    body = b''.join(
        (
            _command_element(0x0002, uid + b'\x00' * (len(uid) % 2)),  # Affected SOP Class UID
            _command_element(0x0100, _U16(C_FIND_RSP)),
            _command_element(0x0120, _U16(message_id)),  # Message ID Being Responded To
            _command_element(0x0800, _U16(DATA_SET_PRESENT)),
            _command_element(0x0900, _U16(PENDING)),  # Status
        )
    )
    return _command_element(0x0000, _U32(len(body))) + body  # Command Group Length first


def _command_element(element: int, value: bytes) -> bytes:
    return struct.pack('<HHI', 0x0000, element, len(value)) + value


def _fragments(payload: bytes, limit: int, *, command: bool) -> Sequence[bytes]:
    """The PDV values (message control header + fragment) of one command or data set (PS3.8 E.2)."""
    room = limit - 6
    if len(payload) <= room:
        return [(_COMMAND_LAST if command else _DATA_LAST) + payload]
    middle, last = (_COMMAND, _COMMAND_LAST) if command else (_DATA, _DATA_LAST)
    pieces = [payload[start : start + room] for start in range(0, len(payload), room)]
    return [middle + piece for piece in pieces[:-1]] + [last + pieces[-1]]


def _chunks(pdus: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The first PDU alone, then whole PDUs joined into chunks of about `limit` bytes.

    The first answer leaves as soon as it is made so that the peer reads while the rest are made; after it,
    one system call per chunk, with a cancel checked between.
    """
    remaining = iter(pdus)
    first = next(remaining, None)
    if first is None:
        return
    yield first
    parts: list[bytes] = []
    size = 0
    for pdu in remaining:
        if parts and size + len(pdu) > limit:
            yield b''.join(parts)
            parts, size = [], 0
        parts.append(pdu)
        size += len(pdu)
    if parts:
        yield b''.join(parts)


def _pdv_item(context_id: int, pdv: bytes) -> bytes:
    """A presentation data value item: length, presentation context ID, control header and fragment (PS3.8 9.3.5.1)."""
    return struct.pack('>IB', len(pdv) + 1, context_id) + pdv


def _pdu(items: list[bytes], size: int) -> bytes:
    return struct.pack('>BBI', 0x04, 0, size) + b''.join(items)


def _item(elements: Iterable[Element], explicit_vr: bool) -> bytes:
    body = encode_identifier(elements, explicit_vr=explicit_vr)
    return struct.pack('<HHI', _ITEM >> 16, _ITEM & 0xFFFF, len(body)) + body


@functools.lru_cache(maxsize=1024)
def _prefix(tag: int, vr: str, explicit_vr: bool) -> tuple[bytes, bool]:
    """The element header up to its length field, and whether that field is 4 bytes long (PS3.5 7.1)."""
    group, element = struct.pack('<H', tag >> 16), struct.pack('<H', tag & 0xFFFF)
    if not explicit_vr:
        return group + element, True
    vr = vr.partition(' or ')[0]  # an ambiguous dictionary VR ('US or SS'): only zero-length values get here
    if vr in _LONG_VRS:
        return group + element + vr.encode('ascii') + b'\x00\x00', True
    return group + element + vr.encode('ascii'), False


def _tag_of(element: Element) -> int:
    return element[0]
