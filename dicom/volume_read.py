"""Reading a series' slices for MPR: every header with pydicom, then the pixels straight into one stack by two threads.

`Reading.headers` reads each slice's header with pydicom up to Pixel Data (`stop_before_pixels`, from the file's
first 64 KiB in memory), which leaves the parser at that element: when the slice is little endian and uncompressed
(PS3.5 A.1, A.2) and the element's own header (tag, VR, length, PS3.5 7.1.2) says it holds exactly rows × columns
values, its offset is kept, wherever it lies in the file (elements after it, such as trailing padding, do not
matter). A slice whose other elements are byte for byte the first slice's takes their values from it; only its
position is read anew. dicom/volume.py then checks the geometry and puts the slices in order, and
`Reading.stack` fills the array in that order: two threads read each slice's bytes at its offset straight into its
place and apply the rescale there while the slice is in the processor's cache (file reads and numpy release the
GIL). Other slices (compressed, big endian, deflated, a length that does not fit) go through pydicom's decoders.
Bits above BitsStored are dropped with the sign extended first (PS3.5 8.1.1).
"""

import io
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from domain.errors import InvalidInput

from . import storage
from .render import RenderError, Window, file_windows

log = logging.getLogger(__name__)

READERS = 2  # threads filling the stack (the server has few cores; reads from the page cache are memory-bound)
PIXEL_DATA_TAG = b'\xe0\x7f\x10\x00'  # (7FE0,0010) little endian
HEADER_CHUNK = 64 * 1024  # headers are parsed from this much of the file in memory (larger ones from the file)
# NOTE: every element _slice_header reads besides the position (and the transfer syntax): equal bytes, equal header
SAME_AS_FIRST = (
    *(0x00280002, 0x00280008, 0x00280010, 0x00280011, 0x00280030),  # samples, frames, rows, columns, pixel spacing
    *(0x00280100, 0x00280101, 0x00280103, 0x00281052, 0x00281053),  # bits allocated, stored, signed; rescale
    0x00200037,  # ImageOrientationPatient
)
STORED_TYPES = {
    (8, False): np.uint8,
    (8, True): np.int8,
    (16, False): np.uint16,
    (16, True): np.int16,
    (32, False): np.uint32,
    (32, True): np.int32,
}


class VolumeError(InvalidInput):
    """The series cannot be shown as a volume (the message says why, for staff)."""


@dataclass(frozen=True)
class SliceHeader:
    """What MPR needs of one slice's header, and where its pixel bytes are."""

    position: tuple[float, float, float]  # ImagePositionPatient
    orientation: tuple[float, ...]  # ImageOrientationPatient: row direction, then column direction
    spacing: tuple[float, float]  # between rows, between columns (PixelSpacing)
    rescale: tuple[float, float]  # slope, intercept
    shape: tuple[int, int]  # rows, columns
    stored_type: str  # numpy's name of the stored values' type, e.g. 'int16'
    bits_stored: int
    signed: bool
    pixels_at: int | None  # offset of uncompressed little endian values in the file; None: decode with pydicom

    @property
    def stored_range(self) -> tuple[int, int]:
        """The lowest and highest value BitsStored and PixelRepresentation allow."""
        bits = self.bits_stored
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)


@dataclass(frozen=True)
class Headers:
    """A series' slice headers in the order of its files, and what the first slice says of display."""

    slices: list[SliceHeader]
    window: Window | None
    monochrome1: bool


class Reading:
    """One series being read: its headers, then its pixels into one stack (a context manager: it owns two threads)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self.pool = ThreadPoolExecutor(READERS, thread_name_prefix='mpr-read')

    def __enter__(self) -> 'Reading':
        return self

    def __exit__(self, *_exc: object) -> None:
        self.pool.shutdown(wait=True)

    def headers(self) -> Headers:
        """Every slice's header, in the order of the paths; VolumeError for a slice MPR cannot stack."""
        found: list[SliceHeader] = []
        window, monochrome1, first_bytes = None, False, None
        for path in self.paths:
            with storage.open_path(path) as reader:
                ds, element = _header(reader)
                same = _same_as_first_bytes(ds)
                if found and same == first_bytes:
                    header = replace(found[0], position=_position(ds), pixels_at=_pixels_at(ds, element, found[0]))
                else:
                    header = _slice_header(ds, element)
            if not found:
                first_bytes, window = same, _window(ds)
                monochrome1 = str(ds.get('PhotometricInterpretation', '')).strip().upper() == 'MONOCHROME1'
            elif header.shape != found[0].shape:
                raise VolumeError('The slices of this series differ in size; MPR needs one regular stack')
            found.append(header)
        return Headers(found, window, monochrome1)

    def stack(self, slices: Sequence[SliceHeader], order: Sequence[int]) -> np.ndarray:
        """The slices' modality values (PS3.3 C.11.1) as one [slice, row, column] array, slice `order[n]` at place n:
        int16 when every value fits (CT), else float32."""
        target = np.empty((len(order), *slices[0].shape), _value_type(slices))
        fills = [self.pool.submit(_fill, target[n], self.paths[k], slices[k]) for n, k in enumerate(order)]
        for done in fills:
            done.result()  # the first failure is raised
        return target


def drop_unstored_bits(values: np.ndarray, bits_stored: int, signed: bool) -> None:
    """In place: drop the bits above BitsStored, extending the sign of signed values (PS3.5 8.1.1)."""
    if bits_stored >= values.itemsize * 8 or bits_stored <= 0:
        return
    if signed:
        shift = values.itemsize * 8 - bits_stored
        view = values.view(np.dtype(f'i{values.itemsize}'))  # an arithmetic shift extends the sign
        view <<= shift
        view >>= shift
    else:
        values &= (1 << bits_stored) - 1


# ---------------------------------------------------------------- private helpers


def _header(reader: BinaryIO) -> tuple[pydicom.Dataset, tuple[int, bytes]]:
    """The slice's header up to Pixel Data, and where the parser stopped with the 12 bytes there."""
    try:
        head = reader.read(HEADER_CHUNK)
        if len(head) < HEADER_CHUNK or PIXEL_DATA_TAG in head:
            chunk = io.BytesIO(head)
            ds = pydicom.dcmread(chunk, force=True, stop_before_pixels=True)
            at = chunk.tell()
            if at + 12 <= len(head) or len(head) < HEADER_CHUNK:
                return ds, (at, head[at : at + 12])
        reader.seek(0)  # a header longer than the chunk
        ds = pydicom.dcmread(reader, force=True, stop_before_pixels=True)
        at = reader.tell()
        return ds, (at, reader.read(12))
    except Exception as error:  # every reader error means the same to the viewer
        raise RenderError(f'a slice cannot be read: {type(error).__name__}') from error


def _same_as_first_bytes(ds: pydicom.Dataset) -> tuple[object, ...]:
    """The encoded values of the elements a slice header is made of besides the position, and the transfer syntax."""
    meta = getattr(ds, 'file_meta', None)
    syntax = meta.get('TransferSyntaxUID') if meta is not None else None
    return (syntax, *(getattr(ds.get_item(tag), 'value', None) for tag in SAME_AS_FIRST))


def _slice_header(ds: pydicom.Dataset, element: tuple[int, bytes]) -> SliceHeader:
    """The slice's header, with the offset of its pixel bytes when they can be read as they are."""
    if int(ds.get('NumberOfFrames', 1) or 1) > 1 or int(ds.get('SamplesPerPixel', 1) or 1) != 1:
        raise VolumeError('MPR reads series of single-frame grey slices; this series is multi-frame or colour')
    try:
        orientation = tuple(float(v) for v in ds.ImageOrientationPatient)
        spacing = (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))
    except (AttributeError, TypeError, ValueError, IndexError):  # missing, short or unreadable
        orientation = ()
    if len(orientation) != 6:
        raise VolumeError('A slice of this series has no position, orientation or pixel spacing; MPR needs them')
    allocated = int(ds.get('BitsAllocated', 16) or 16)
    signed = int(ds.get('PixelRepresentation', 0) or 0) == 1
    header = SliceHeader(
        _position(ds),
        orientation,
        spacing,
        (float(ds.get('RescaleSlope', 1) or 1), float(ds.get('RescaleIntercept', 0) or 0)),
        (int(ds.get('Rows', 0) or 0), int(ds.get('Columns', 0) or 0)),
        np.dtype(STORED_TYPES.get((allocated, signed), np.int32)).name,
        int(ds.get('BitsStored', allocated) or allocated),
        signed,
        None,
    )
    native = (allocated, signed) in STORED_TYPES
    return replace(header, pixels_at=_pixels_at(ds, element, header)) if native else header


def _position(ds: pydicom.Dataset) -> tuple[float, float, float]:
    try:
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
    except (AttributeError, TypeError, ValueError):  # missing, short or unreadable
        raise VolumeError(
            'A slice of this series has no position, orientation or pixel spacing; MPR needs them'
        ) from None
    return x, y, z


def _pixels_at(ds: pydicom.Dataset, element: tuple[int, bytes], header: SliceHeader) -> int | None:
    """Where the slice's values start when the parser stopped at an uncompressed little endian Pixel Data element
    of exactly rows × columns values (padded to even); None otherwise."""
    meta = getattr(ds, 'file_meta', None)
    syntax = meta.get('TransferSyntaxUID') if meta is not None else None
    rows, columns = header.shape
    size = rows * columns * np.dtype(header.stored_type).itemsize
    if syntax not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian) or size <= 0:
        return None
    at, head = element
    length = (size + (size & 1)).to_bytes(4, 'little')
    if syntax == ExplicitVRLittleEndian:
        explicit = head[4:6] in (b'OW', b'OB') and head[6:8] == b'\0\0' and head[8:12] == length
        return at + 12 if head[:4] == PIXEL_DATA_TAG and explicit else None
    return at + 8 if head[:4] == PIXEL_DATA_TAG and head[4:8] == length else None


def _value_type(slices: Sequence[SliceHeader]) -> type[np.integer] | type[np.floating]:
    """int16 when every slice's stored range through its rescale fits (integral slope and intercept), else float32."""
    low = high = 0.0
    whole = True
    for item in slices:
        slope, intercept = item.rescale
        ends = [item.stored_range[0] * slope + intercept, item.stored_range[1] * slope + intercept]
        low, high = min(low, *ends), max(high, *ends)
        whole = whole and slope == int(slope) and intercept == int(intercept)
        whole = whole and abs(item.stored_range[0] * slope) < 32768 and abs(item.stored_range[1] * slope) < 32768
    return np.int16 if whole and low >= -32768 and high <= 32767 else np.float32


def _fill(target: np.ndarray, path: Path, item: SliceHeader) -> None:
    """One slice's modality values into its place in the stack (on a pool thread)."""
    stored_type = np.dtype(item.stored_type)
    if item.pixels_at is None:
        stored = _decoded(path, item)
    elif stored_type.itemsize == target.itemsize and target.dtype.kind in 'iu':
        # int16 values from 16-bit stored values: read in place; the arithmetic below wraps modulo 2**16 exactly as
        # the stored type would, and the result fits (dicom/volume_read._value_type), so it is exact
        _read_at(path, item.pixels_at, target.data.cast('B'))
        drop_unstored_bits(target.view(stored_type), item.bits_stored, item.signed)
        _rescale(target, target, item.rescale)
        return
    else:
        stored = np.empty(item.shape, stored_type)
        _read_at(path, item.pixels_at, stored.data.cast('B'))
    drop_unstored_bits(stored, item.bits_stored, item.signed)
    _rescale(stored, target, item.rescale)


def _rescale(stored: np.ndarray, target: np.ndarray, rescale: tuple[float, float]) -> None:
    slope, intercept = rescale
    if target.dtype == np.int16:
        if stored is not target:
            np.copyto(target, stored, casting='unsafe')  # every stored value fits (_value_type)
        if slope != 1:
            np.multiply(target, np.int16(slope), out=target, casting='unsafe')
        if intercept != 0:
            np.add(target, np.int16(intercept), out=target, casting='unsafe')
    else:
        np.multiply(stored, np.float32(slope), out=target, casting='unsafe')
        np.add(target, np.float32(intercept), out=target)


def _read_at(path: Path, offset: int, buffer: memoryview) -> None:
    """Fill the buffer from the file's bytes at `offset` (decrypted when the file is sealed)."""
    with storage.open_path(path) as reader:
        reader.seek(offset)
        into = cast(io.RawIOBase, reader).readinto
        filled = 0
        while filled < len(buffer):
            got = into(buffer[filled:])
            if not got:
                raise RenderError('a slice cannot be read: its pixel data is cut short')
            filled += got


def _decoded(path: Path, item: SliceHeader) -> np.ndarray:
    """A slice's stored values through pydicom's decoders (compressed, big endian or otherwise unusual files)."""
    try:
        with storage.open_path(path) as reader:
            pixels: np.ndarray = pydicom.dcmread(reader, force=True).pixel_array
    except FileNotFoundError:
        raise
    except Exception as error:  # every decoder raises its own kind; all mean the same to the reader
        raise RenderError(f'a slice cannot be read: {type(error).__name__}') from error
    if pixels.ndim != 2:
        raise VolumeError('MPR reads series of single-frame grey slices; this series is multi-frame or colour')
    if pixels.shape != item.shape:
        raise VolumeError('The slices of this series differ in size; MPR needs one regular stack')
    return np.array(pixels, copy=True)  # writable: the unstored bits are dropped in place


def _window(ds: pydicom.Dataset) -> Window | None:
    """The file's first window (as the rendered frames read it), at least 1 wide."""
    found = file_windows(ds, 1)  # single-frame slices: frame 1
    return Window(found[0].center, max(1.0, found[0].width), found[0].function) if found else None
