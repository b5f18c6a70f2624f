"""Frames and Pixel Data of stored images as WADO-RS hands them out (PS3.18 8.7.3.3, PS3.5 A.4).

A frame is given either native (uncompressed, little endian: the file's own bytes read at their offset, words
swapped for big endian, or decoded by pydicom when the file is compressed or deflated) or as stored (the
compressed frame's fragments, joined). Where each frame lies is read once per file (`layout`, an LRU keyed by
the stored path; stored files never change) by seeking over the encapsulated items, so asking for the 40th
frame of a cine loop reads that frame and nothing before it.
"""

import itertools
import logging
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels import pack_bits
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from . import storage

log = logging.getLogger(__name__)

OCTET_STREAM = 'application/octet-stream'
NATIVE = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian)
# PS3.18 Table 8.7.3-2: the media type of a compressed frame by its transfer syntax
MEDIA_TYPES = {
    '1.2.840.10008.1.2.4.50': 'image/jpeg',
    '1.2.840.10008.1.2.4.51': 'image/jpeg',
    '1.2.840.10008.1.2.4.57': 'image/jpeg',
    '1.2.840.10008.1.2.4.70': 'image/jpeg',
    '1.2.840.10008.1.2.4.80': 'image/jls',
    '1.2.840.10008.1.2.4.81': 'image/jls',
    '1.2.840.10008.1.2.4.90': 'image/jp2',
    '1.2.840.10008.1.2.4.91': 'image/jp2',
    '1.2.840.10008.1.2.4.92': 'image/jpx',
    '1.2.840.10008.1.2.4.93': 'image/jpx',
    '1.2.840.10008.1.2.4.201': 'image/jphc',
    '1.2.840.10008.1.2.4.202': 'image/jphc',
    '1.2.840.10008.1.2.4.203': 'image/jphc',
    '1.2.840.10008.1.2.5': 'image/dicom-rle',
}
CHUNK = 1024 * 1024
_ITEM, _SEQUENCE_END = 0xE000FFFE, 0xE0DDFFFE  # (FFFE,E000) and (FFFE,E0DD) read as little-endian uint32
_FRAME_STARTS = (b'\xff\xd8', b'\xff\x4f', b'\x00\x00\x00\x0cjP')  # JPEG / JPEG-LS SOI, J2K SOC, JP2 signature


class NoPixels(Exception):
    """The image has no Pixel Data, or not the frame asked for."""


class Unavailable(Exception):
    """This frame cannot be given in the form asked for (no decoder, damaged data); the message says why."""


@dataclass(frozen=True)
class Layout:
    """Where an image's pixel data lies in its file."""

    transfer_syntax: str
    number_of_frames: int
    offset: int  # where the Pixel Data value starts; -1: read through pydicom (deflated, odd files)
    length: int  # the value's length (native only)
    frame_size: int  # native bytes per frame; 0 when frames are not byte-aligned (1-bit images)
    swap: int  # bytes per word to swap (big endian, words wider than a byte); 0: none
    frames: tuple[tuple[tuple[int, int], ...], ...] = ()  # encapsulated: each frame's fragments (offset, length)
    bits_allocated: int = 16

    @property
    def compressed(self) -> bool:
        return self.transfer_syntax in MEDIA_TYPES or (
            UID(self.transfer_syntax).is_transfer_syntax and UID(self.transfer_syntax).is_compressed
        )

    @property
    def media_type(self) -> str:
        """The media type of a frame as stored."""
        return MEDIA_TYPES.get(self.transfer_syntax, OCTET_STREAM)


def layout(path: Path) -> Layout:
    """Where the file's frames are (remembered per file)."""
    return _layouts.get(path)


def native_frame(path: Path, where: Layout, number: int) -> bytes:
    """Frame `number` (from 1) uncompressed, little endian (PS3.18 8.7.3.3.1)."""
    _check(where, number)
    if not where.compressed and where.offset >= 0 and where.frame_size:
        data = _read(path, where.offset + (number - 1) * where.frame_size, where.frame_size)
        return _little_endian(data, where.swap)
    return _decoded(path, where, number)


def stored_frame(path: Path, where: Layout, number: int) -> bytes:
    """Frame `number` as stored: the compressed frame's bytes (its fragments joined); native files as native."""
    _check(where, number)
    if not where.compressed:
        return native_frame(path, where, number)
    if where.frames:
        return b''.join(_read(path, offset, length) for offset, length in where.frames[number - 1])
    with storage.open_path(path) as reader:
        dataset = pydicom.dcmread(reader, force=True)
    for index, frame in enumerate(generate_frames(dataset.PixelData, number_of_frames=where.number_of_frames), 1):
        if index == number:
            return frame
    raise NoPixels(f'frame {number} is not in this image')


def native_pixels(path: Path, where: Layout) -> Iterator[bytes]:
    """All the Pixel Data uncompressed, little endian, in pieces (bulk data of 7FE00010).

    The first piece is read (or decoded) at once, so an image that cannot be decoded fails before an answer starts.
    """
    pieces = _native_pieces(path, where)
    return itertools.chain([next(pieces, b'')], pieces)


def _native_pieces(path: Path, where: Layout) -> Iterator[bytes]:
    if where.offset >= 0 and not where.compressed and where.frame_size:
        step = CHUNK - CHUNK % max(where.swap, 1)
        for start in range(0, where.length, step):
            yield _little_endian(_read(path, where.offset + start, min(step, where.length - start)), where.swap)
        return
    if where.bits_allocated == 1 and not where.compressed:
        yield _packed_pixels(path)
        return
    for number in range(1, where.number_of_frames + 1):
        yield native_frame(path, where, number)


# ---------------------------------------------------------------- reading where the frames are


class _Layouts:
    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._known: OrderedDict[str, Layout] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> Layout:
        key = str(path)
        with self._lock:
            found = self._known.get(key)
        if found is not None:
            return found
        found = _read_layout(path)
        with self._lock:
            self._known[key] = found
            while len(self._known) > self.size:
                self._known.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


_layouts = _Layouts()


def forget_layouts() -> None:
    """Forget the remembered layouts (tests)."""
    _layouts.clear()


def _read_layout(path: Path) -> Layout:
    with storage.open_path(path) as reader:
        header = pydicom.dcmread(reader, stop_before_pixels=True, force=True)
        if 'Rows' not in header:
            raise NoPixels('this object holds no image')
        syntax = str(header.file_meta.get('TransferSyntaxUID', ImplicitVRLittleEndian))
        frames = _number_of_frames(header)
        bits = int(header.get('BitsAllocated', 16) or 16)
        offset, length = _pixel_value(reader, syntax)
        if offset < 0:
            return Layout(syntax, frames, -1, 0, 0, 0, bits_allocated=bits)
        if length != 0xFFFFFFFF:
            size, swap = _native_frame_size(header, syntax)
            if size and size * frames > length:
                raise NoPixels('the Pixel Data is shorter than its frames')
            return Layout(syntax, frames, offset, length, size, swap, bits_allocated=bits)
        fragments = _fragments(reader, offset)
        return Layout(syntax, frames, offset, 0, 0, 0, _frames_of(reader, fragments, frames), bits)


def _pixel_value(reader: BinaryIO, syntax: str) -> tuple[int, int]:
    """Offset and length of the Pixel Data value after the header (reader positioned at its element); -1 if none."""
    if syntax == pydicom.uid.DeflatedExplicitVRLittleEndian:
        return -1, 0
    file = reader  # the open file dcmread stopped in, at the start of the Pixel Data element
    start = file.tell()
    head = file.read(12)
    if len(head) < 8:
        raise NoPixels('this image has no Pixel Data')
    big = syntax == ExplicitVRBigEndian
    group, element = struct.unpack('>HH' if big else '<HH', head[:4])
    if (group, element) != (0x7FE0, 0x0010):
        return -1, 0
    if syntax == ImplicitVRLittleEndian:
        (length,) = struct.unpack('<I', head[4:8])
        return start + 8, length
    if head[4:6] in (b'OB', b'OW', b'UN', b'OF', b'OD', b'OL', b'OV'):
        (length,) = struct.unpack('>I' if big else '<I', head[8:12])
        return start + 12, length
    return -1, 0


def _fragments(reader: BinaryIO, offset: int) -> list[tuple[int, int]]:
    """(offset, length) of each fragment after the Basic Offset Table; the table itself first."""
    file = reader
    found: list[tuple[int, int]] = []
    position = offset
    while True:
        file.seek(position)
        head = file.read(8)
        if len(head) < 8:
            break
        tag, length = struct.unpack('<II', head)
        if tag == _SEQUENCE_END or tag != _ITEM or length == 0xFFFFFFFF:
            break
        found.append((position + 8, length))
        position += 8 + length
    if not found:
        raise NoPixels('the encapsulated Pixel Data has no items')
    return found


def _frames_of(reader: BinaryIO, items: list[tuple[int, int]], frames: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Group the fragments into frames (PS3.5 A.4): one each, the offset table, or where each frame starts."""
    table, fragments = items[0], items[1:]
    if not fragments:
        raise NoPixels('the encapsulated Pixel Data has no fragments')
    if frames == 1:
        return (tuple(fragments),)
    if len(fragments) == frames:
        return tuple((fragment,) for fragment in fragments)
    starts: list[int] = []
    if table[1] >= 4 * frames:
        file = reader
        file.seek(table[0])
        offsets = struct.unpack(f'<{frames}I', file.read(4 * frames))
        first = fragments[0][0] - 8
        positions = [offset - 8 - first for offset, _ in fragments]
        starts = [positions.index(value) for value in offsets if value in positions]
    if len(starts) != frames:
        starts = [index for index, (offset, _) in enumerate(fragments) if _starts_a_frame(reader, offset)]
    if len(starts) != frames or starts[0] != 0:
        return ()  # unknown: pydicom's own frame generator reads the whole value
    bounds = [*starts, len(fragments)]
    return tuple(tuple(fragments[bounds[i] : bounds[i + 1]]) for i in range(frames))


def _starts_a_frame(reader: BinaryIO, offset: int) -> bool:
    reader.seek(offset)
    head = reader.read(6)
    return any(head.startswith(marker) for marker in _FRAME_STARTS)


def _native_frame_size(header: Dataset, syntax: str) -> tuple[int, int]:
    rows, columns = int(header.Rows), int(header.Columns)
    samples = int(header.get('SamplesPerPixel', 1) or 1)
    if str(header.get('PhotometricInterpretation', '')).strip() == 'YBR_FULL_422':
        samples = 2  # PS3.3 C.7.6.3.1.2: two chrominance values shared by each pair of pixels
    bits = int(header.get('BitsAllocated', 16) or 16)
    bits_per_frame = rows * columns * samples * bits
    if bits_per_frame % 8:
        return 0, 0
    swap = bits // 8 if syntax == ExplicitVRBigEndian and bits > 8 else 0
    return bits_per_frame // 8, swap


def _number_of_frames(header: Dataset) -> int:
    try:
        return max(1, int(header.get('NumberOfFrames', 1) or 1))
    except (TypeError, ValueError):
        return 1


# ---------------------------------------------------------------- private helpers


def _check(where: Layout, number: int) -> None:
    if not 1 <= number <= where.number_of_frames:
        raise NoPixels(f'frame {number} is not in this image (it has {where.number_of_frames})')


def _read(path: Path, offset: int, size: int) -> bytes:
    data = storage.read_at(path, offset, size)
    if len(data) != size:
        raise NoPixels('the file is shorter than its Pixel Data')
    return data


def _little_endian(data: bytes, swap: int) -> bytes:
    if not swap:
        return data
    return np.frombuffer(data, dtype=f'>u{swap}').astype(f'<u{swap}').tobytes()


def _decoded(path: Path, where: Layout, number: int) -> bytes:
    index = number - 1 if where.number_of_frames > 1 else None
    try:
        with storage.open_path(path) as reader:
            source: BinaryIO | Dataset = reader if where.offset >= 0 else pydicom.dcmread(reader, force=True)
            array = pixel_array(source, index=index)
    except Exception as error:  # every decoder raises its own kind
        raise Unavailable(f'the pixel data cannot be decoded: {str(error)[:200] or type(error).__name__}') from error
    if where.bits_allocated == 1:
        return bytes(pack_bits(array))
    return np.ascontiguousarray(array.astype(array.dtype.newbyteorder('<'), copy=False)).tobytes()


def _packed_pixels(path: Path) -> bytes:
    with storage.open_path(path) as reader:
        dataset = pydicom.dcmread(reader, force=True)
    data: bytes = dataset.PixelData
    return data
