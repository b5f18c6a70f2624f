"""A CT or MR series as one volume for MPR: slices ordered by position, geometry checked, kept in an LRU cache.

Slices are ordered along the slice normal (the cross product of ImageOrientationPatient's row and column
directions, PS3.3 C.7.6.2.1.1) by the projection of ImagePositionPatient onto it, never by instance number.
The volume is refused, with a message for staff, when the series is not one regular stack: differing
orientation or size, a duplicate position, irregular spacing, gantry tilt (the step between slices is not
along the normal) or an oblique orientation. An accepted volume is turned into patient axes (LPS, PS3.3
C.7.6.2.1.1): `voxels[z, y, x]` with x towards the patient's left, y towards posterior, z towards head, so
axial, coronal and sagittal planes are plain slices of the array.
"""

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from domain.errors import InvalidInput

from . import storage
from .render import RenderError, Window, auto_window, file_windows

log = logging.getLogger(__name__)

MIN_SLICES = 3
SPACING_TOLERANCE = 0.01  # of the mean gap: scanners write positions rounded to a hundredth of a millimetre
NATIVE_LITTLE_ENDIAN = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
PIXEL_DATA_TAG = b'\xe0\x7f\x10\x00'  # (7FE0,0010) little endian
TILT_TOLERANCE_MM = 0.05  # sideways drift between neighbouring slices that still counts as no tilt
AXIS_TOLERANCE = 0.02  # a direction cosine this close to an axis counts as that axis


class VolumeError(InvalidInput):
    """The series cannot be shown as a volume (the message says why, for staff)."""


@dataclass(frozen=True)
class Volume:
    """Grey values after the modality LUT in patient axes (z, y, x), their spacing in mm and the first window."""

    voxels: np.ndarray  # [z, y, x]: x → patient's left, y → posterior, z → head
    spacing: tuple[float, float, float]  # mm between voxels along z, y, x
    window: Window
    monochrome1: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        z, y, x = self.voxels.shape
        return int(z), int(y), int(x)

    @property
    def nbytes(self) -> int:
        return int(self.voxels.nbytes)


def load(paths: Sequence[Path]) -> Volume:
    """Read every slice of a series and build its volume; VolumeError when the geometry is not one regular stack."""
    if len(paths) < MIN_SLICES:
        raise VolumeError(
            'MPR needs at least {count} slices; this series has {found}', count=MIN_SLICES, found=len(paths)
        )
    slices = [_read(path) for path in paths]
    first = slices[0]
    for other in slices[1:]:
        if other.pixels.shape != first.pixels.shape:
            raise VolumeError('The slices of this series differ in size; MPR needs one regular stack')
        if not np.allclose(other.orientation, first.orientation, atol=1e-4):
            raise VolumeError('The slices of this series differ in orientation; MPR needs one regular stack')
    row_dir, column_dir = first.orientation[:3], first.orientation[3:]
    normal = np.cross(row_dir, column_dir)
    slices.sort(key=lambda s: float(np.dot(s.position, normal)))
    positions = np.array([s.position for s in slices])
    gaps = np.diff(positions @ normal)
    if float(gaps.min()) < 1e-3:
        raise VolumeError('Two slices of this series share a position; MPR needs one regular stack')
    mean_gap = float(gaps.mean())
    if float(gaps.max() - gaps.min()) > SPACING_TOLERANCE * mean_gap + 1e-3:
        raise VolumeError(
            'The slices are not evenly spaced ({low}–{high} mm apart); MPR needs a regular series',
            low=f'{float(gaps.min()):.2f}',
            high=f'{float(gaps.max()):.2f}',
        )
    steps = np.diff(positions, axis=0)
    sideways = steps - np.outer(steps @ normal, normal)
    if float(np.abs(sideways).max()) > TILT_TOLERANCE_MM:
        raise VolumeError('This series was acquired with a gantry tilt; MPR of tilted slices is not offered')
    stack = _modality_stack(slices)  # [k, r, c]
    voxels, spacing = _to_patient_axes(
        stack, (mean_gap, first.spacing[0], first.spacing[1]), (normal, column_dir, row_dir)
    )
    window = first.window or auto_window(voxels[voxels.shape[0] // 2].astype(np.float32))
    return Volume(np.ascontiguousarray(voxels), spacing, window, first.monochrome1)


class VolumeCache:
    """Volumes by series (any key naming one), least recently used first out, bounded by bytes; the newest stays."""

    def __init__(self, max_bytes: int = 1024 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._volumes: OrderedDict[Hashable, Volume] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building = threading.Lock()  # one volume read at a time: two would double the memory and the wait

    def get(self, series_id: Hashable, paths: Sequence[Path]) -> Volume:
        """The series' volume, read from the files on the first call."""
        found = self.cached(series_id)
        if found is not None:
            return found
        with self._building:
            found = self.cached(series_id)
            if found is not None:
                return found
            volume = load(paths)
            self.put(series_id, volume)
            log.info('MPR volume of series %s: %s voxels, %.0f MB', series_id, volume.shape, volume.nbytes / 1e6)
            return volume

    def cached(self, series_id: Hashable) -> Volume | None:
        with self._lock:
            found = self._volumes.get(series_id)
            if found is not None:
                self._volumes.move_to_end(series_id)
            return found

    def put(self, series_id: Hashable, volume: Volume) -> None:
        with self._lock:
            old = self._volumes.pop(series_id, None)
            self._bytes -= old.nbytes if old is not None else 0
            self._volumes[series_id] = volume
            self._bytes += volume.nbytes
            while self._bytes > self.max_bytes and len(self._volumes) > 1:
                _key, dropped = self._volumes.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._volumes.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes


# ---------------------------------------------------------------- private helpers


@dataclass(frozen=True)
class _Slice:
    pixels: np.ndarray  # stored values, as in the file (the rescale is applied as the volume is filled)
    position: np.ndarray
    orientation: np.ndarray
    spacing: tuple[float, float]  # between rows, between columns (PixelSpacing)
    rescale: tuple[float, float]  # slope, intercept
    stored_range: tuple[int, int]  # what BitsStored and PixelRepresentation allow
    bits_stored: int
    window: Window | None
    monochrome1: bool


def _read(path: Path) -> _Slice:
    try:
        with storage.open_path(path) as reader:
            ds = pydicom.dcmread(reader, force=True, stop_before_pixels=True)
            pixels = _stored_values(ds, reader)
    except FileNotFoundError:
        raise
    except VolumeError:
        raise
    except Exception as error:  # every decoder raises its own kind; all mean the same to the reader
        raise RenderError(f'a slice cannot be read: {type(error).__name__}') from error
    if 'ImagePositionPatient' not in ds or 'ImageOrientationPatient' not in ds or 'PixelSpacing' not in ds:
        raise VolumeError('A slice of this series has no position, orientation or pixel spacing; MPR needs them')
    bits, signed = int(ds.get('BitsStored', 16) or 16), int(ds.get('PixelRepresentation', 0) or 0) == 1
    return _Slice(
        pixels,
        np.array([float(v) for v in ds.ImagePositionPatient]),
        np.array([float(v) for v in ds.ImageOrientationPatient]),
        (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])),
        (float(ds.get('RescaleSlope', 1) or 1), float(ds.get('RescaleIntercept', 0) or 0)),
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1),
        bits,
        _window(ds),
        str(ds.get('PhotometricInterpretation', '')).strip().upper() == 'MONOCHROME1',
    )


def _stored_values(ds: pydicom.Dataset, reader: BinaryIO) -> np.ndarray:
    """The slice's stored values: straight from the bytes when uncompressed (fast), else through pydicom's decoders."""
    if int(ds.get('NumberOfFrames', 1) or 1) > 1 or int(ds.get('SamplesPerPixel', 1) or 1) != 1:
        raise VolumeError('MPR reads series of single-frame grey slices; this series is multi-frame or colour')
    meta = getattr(ds, 'file_meta', None)
    syntax = meta.get('TransferSyntaxUID') if meta is not None else None
    allocated = int(ds.get('BitsAllocated', 16) or 16)
    signed = int(ds.get('PixelRepresentation', 0) or 0) == 1
    rows, columns = int(ds.get('Rows', 0) or 0), int(ds.get('Columns', 0) or 0)
    data = _trailing_pixel_data(reader, rows * columns * allocated // 8) if syntax in NATIVE_LITTLE_ENDIAN else None
    if data is not None and allocated in (8, 16):
        kind = {(8, False): np.uint8, (8, True): np.int8, (16, False): np.uint16, (16, True): np.int16}
        return np.frombuffer(data, kind[allocated, signed]).reshape(rows, columns)  # unused bits: _modality_stack
    reader.seek(0)
    pixels: np.ndarray = pydicom.dcmread(reader, force=True).pixel_array
    if pixels.ndim != 2:
        raise VolumeError('MPR reads series of single-frame grey slices; this series is multi-frame or colour')
    return pixels


def _trailing_pixel_data(reader: BinaryIO, size: int) -> bytes | None:
    """Uncompressed Pixel Data when it is the file's last element (as scanners write it), read without parsing:
    its element header (PS3.5 7.1.2, explicit or implicit VR) must sit right before the last `size` bytes."""
    if size <= 0:
        return None
    padded = size + (size & 1)
    end = reader.seek(0, io.SEEK_END)
    if end < padded + 8:
        return None
    reader.seek(end - padded - 12)
    head = reader.read(12)
    length = padded.to_bytes(4, 'little')
    explicit = head[:4] == PIXEL_DATA_TAG and head[4:6] in (b'OW', b'OB') and head[8:12] == length
    implicit = head[4:8] == PIXEL_DATA_TAG and head[8:12] == length
    if not (explicit or implicit):
        return None
    data = reader.read(size)
    return data if len(data) == size else None


def _modality_stack(slices: list[_Slice]) -> np.ndarray:
    """The slices' values through their rescale (PS3.3 C.11.1) in one array: int16 when every value fits (CT)."""
    low = high = 0.0
    whole = True
    for item in slices:
        slope, intercept = item.rescale
        ends = [item.stored_range[0] * slope + intercept, item.stored_range[1] * slope + intercept]
        low, high = min(low, *ends), max(high, *ends)
        whole = whole and slope == int(slope) and intercept == int(intercept) and item.pixels.dtype.kind in 'iu'
        whole = whole and abs(item.stored_range[0] * slope) < 32768 and abs(item.stored_range[1] * slope) < 32768
    dtype = np.int16 if whole and low >= -32768 and high <= 32767 else np.float32
    rows, columns = slices[0].pixels.shape
    stack = np.empty((len(slices), rows, columns), dtype)
    for k, item in enumerate(slices):
        slope, intercept = item.rescale
        target = stack[k]
        if dtype == np.int16:
            np.copyto(target, item.pixels, casting='unsafe')  # every stored value fits (the range above)
            _only_stored_bits(target, item)
            if slope != 1:
                target *= np.int16(slope)
            if intercept != 0:
                target += np.int16(intercept)
        else:
            pixels = item.pixels.astype(np.int32)
            _only_stored_bits(pixels, item)
            np.multiply(pixels, np.float32(slope), out=target, casting='unsafe')
            target += np.float32(intercept)
    return stack


def _only_stored_bits(values: np.ndarray, item: _Slice) -> None:
    """In place: drop the bits above BitsStored, extending the sign of signed values (PS3.5 8.1.1)."""
    allocated, stored = item.pixels.itemsize * 8, item.bits_stored
    if stored >= allocated:
        return
    if item.stored_range[0] < 0:
        shift = values.itemsize * 8 - stored
        values <<= shift
        values >>= shift
    else:
        values &= (1 << stored) - 1


def _window(ds: pydicom.Dataset) -> Window | None:
    """The file's first window (as the rendered frames read it), at least 1 wide."""
    found = file_windows(ds, 1)  # single-frame slices: frame 1
    return Window(found[0].center, max(1.0, found[0].width), found[0].function) if found else None


def _to_patient_axes(
    stack: np.ndarray, spacing: tuple[float, float, float], directions: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Transpose and flip the [slice, row, column] stack so its axes run along the patient's z, y, x."""
    axis_of, sign_of = [], []
    for direction in directions:
        patient_axis = int(np.argmax(np.abs(direction)))
        if abs(abs(float(direction[patient_axis])) - 1.0) > AXIS_TOLERANCE:
            raise VolumeError('This series is acquired at an oblique angle; MPR shows straight planes only')
        axis_of.append(patient_axis)
        sign_of.append(float(np.sign(direction[patient_axis])))
    if sorted(axis_of) != [0, 1, 2]:
        raise VolumeError('The orientation of this series is not consistent; MPR needs one regular stack')
    order = [axis_of.index(patient_axis) for patient_axis in (2, 1, 0)]  # stack axis giving z, then y, then x
    voxels = stack.transpose(order)
    for out_axis, stack_axis in enumerate(order):
        if sign_of[stack_axis] < 0:
            voxels = np.flip(voxels, axis=out_axis)
    z, y, x = (spacing[stack_axis] for stack_axis in order)
    return voxels, (z, y, x)
