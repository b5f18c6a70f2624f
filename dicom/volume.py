"""A CT or MR series as one volume for MPR: slices ordered by position, geometry checked, kept in an LRU cache.

Slices are ordered along the slice normal (the cross product of ImageOrientationPatient's row and column
directions, PS3.3 C.7.6.2.1.1) by the projection of ImagePositionPatient onto it, never by instance number.
The volume is refused, with a message for staff, when the series is not one regular stack: differing
orientation or size, a duplicate position, irregular spacing, gantry tilt (the step between slices is not
along the normal) or an oblique orientation. An accepted volume is turned into patient axes (LPS, PS3.3
C.7.6.2.1.1): `voxels[z, y, x]` with x towards the patient's left, y towards posterior, z towards head, so
axial, coronal and sagittal planes are plain slices of the array.
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import volume_read
from .render import Window, auto_window
from .volume_read import VolumeError

log = logging.getLogger(__name__)

MIN_SLICES = 3
SPACING_TOLERANCE = 0.01  # of the mean gap: scanners write positions rounded to a hundredth of a millimetre
TILT_TOLERANCE_MM = 0.05  # sideways drift between neighbouring slices that still counts as no tilt
AXIS_TOLERANCE = 0.02  # a direction cosine this close to an axis counts as that axis


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
    with volume_read.Reading(paths) as reading:
        return _build(reading)


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


def _build(reading: volume_read.Reading) -> Volume:
    """The volume from the slices' headers (geometry checked, slices ordered along the normal), then their pixels."""
    found = reading.headers()
    headers = found.slices
    first = headers[0]
    orientations = np.array([h.orientation for h in headers])
    if not np.allclose(orientations, orientations[0], atol=1e-4):
        raise VolumeError('The slices of this series differ in orientation; MPR needs one regular stack')
    row_dir, column_dir = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    normal = np.cross(row_dir, column_dir)
    positions = np.array([h.position for h in headers])
    order = np.argsort(positions @ normal, kind='stable')
    positions = positions[order]
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
    stack = reading.stack(headers, [int(k) for k in order])  # [k, r, c] in position order
    voxels, spacing = _to_patient_axes(
        stack, (mean_gap, first.spacing[0], first.spacing[1]), (normal, column_dir, row_dir)
    )
    window = found.window or auto_window(voxels[voxels.shape[0] // 2].astype(np.float32))
    return Volume(np.ascontiguousarray(voxels), spacing, window, found.monochrome1)


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
