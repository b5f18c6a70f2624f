"""Multiplanar reformation: axial, coronal and sagittal planes of a volume, thin or as a thick slab.

Planes are drawn the way radiologists read them: axial with anterior up and the patient's right on the left
of the screen; coronal with the head up and the right on the left; sagittal with the head up and anterior on
the left. Each plane is resampled to square pixels (the volume's finest in-plane spacing), so distances look
the same in all three. A slab combines `thickness` neighbouring planes centred on the chosen one by maximum
(MIP), minimum (MinIP) or mean. Encoding uses the viewer's own window and JPEG/PNG code (dicom/render.py).
"""

from dataclasses import dataclass

import cv2
import numpy as np

from .render import Frame, Window, render
from .volume import Volume

PLANES = ('axial', 'coronal', 'sagittal')
MODES = ('mip', 'minip', 'avg')
MAX_THICKNESS = 200


@dataclass(frozen=True)
class PlaneGeometry:
    """How many images a plane scrolls through and the size of each (columns × rows, square pixels)."""

    plane: str
    count: int
    columns: int
    rows: int
    pixel_mm: float


def geometry(volume: Volume, plane: str) -> PlaneGeometry:
    """The plane's image count and size."""
    nz, ny, nx = volume.shape
    dz, dy, dx = volume.spacing
    base = min(dx, dy)
    count, (width_mm, height_mm) = {
        'axial': (nz, (nx * dx, ny * dy)),
        'coronal': (ny, (nx * dx, nz * dz)),
        'sagittal': (nx, (ny * dy, nz * dz)),
    }[_plane(plane)]
    return PlaneGeometry(plane, count, max(1, round(width_mm / base)), max(1, round(height_mm / base)), base)


def reslice(volume: Volume, plane: str, index: int, thickness: int = 1, mode: str = 'avg') -> np.ndarray:
    """The plane's image `index` (0-based) as float32 grey values at the plane's display size."""
    shape = geometry(volume, plane)
    if not 0 <= index < shape.count:
        raise IndexError(f'{plane} image {index + 1} is not in this volume (it has {shape.count})')
    if mode not in MODES:
        raise ValueError(f'slab mode must be one of {", ".join(MODES)}')
    thickness = max(1, min(MAX_THICKNESS, int(thickness)))
    low = max(0, index - (thickness - 1) // 2)
    high = min(shape.count, low + thickness)
    axis = {'axial': 0, 'coronal': 1, 'sagittal': 2}[plane]
    picked: np.ndarray
    if high - low == 1:
        picked = np.take(volume.voxels, low, axis=axis).astype(np.float32)
    elif axis == 2:
        picked = _sagittal_slab(volume.voxels, low, high, mode)
    else:
        span = [slice(None)] * 3
        span[axis] = slice(low, high)
        slab = volume.voxels[tuple(span)]
        if mode == 'mip':
            picked = slab.max(axis=axis).astype(np.float32)
        elif mode == 'minip':
            picked = slab.min(axis=axis).astype(np.float32)
        else:
            picked = slab.mean(axis=axis, dtype=np.float32)
    if plane != 'axial':
        picked = picked[::-1]  # head at the top
    if picked.shape != (shape.rows, shape.columns):
        picked = cv2.resize(np.ascontiguousarray(picked), (shape.columns, shape.rows), interpolation=cv2.INTER_LINEAR)
    return picked


def rendered(
    volume: Volume,
    plane: str,
    index: int,
    *,
    thickness: int = 1,
    mode: str = 'avg',
    window: Window | None = None,
    viewport: tuple[int, int] | None = None,
    media: str = 'jpeg',
    quality: int = 90,
) -> bytes:
    """The plane's image encoded for the viewer's canvas, windowed (the series' window unless asked otherwise)."""
    values = reslice(volume, plane, index, thickness, mode)
    frame = Frame(values, False, volume.monochrome1, (volume.window,), None, 1)
    return render(frame, window=window, viewport=viewport, media=media, quality=quality)


def voxel_at(volume: Volume, plane: str, index: int, column: float, row: float) -> tuple[int, int, int]:
    """The voxel (x, y, z) under a point of plane image `index` (image pixel coordinates)."""
    shape = geometry(volume, plane)
    nz, ny, nx = volume.shape
    across, down = column / shape.columns, row / shape.rows  # fractions of the image's width and height
    index = max(0, min(shape.count - 1, int(index)))
    if plane == 'axial':
        return _at(across, nx), _at(down, ny), index
    if plane == 'coronal':
        return _at(across, nx), index, nz - 1 - _at(down, nz)
    return index, _at(across, ny), nz - 1 - _at(down, nz)


def point_of(volume: Volume, plane: str, voxel: tuple[int, int, int]) -> tuple[int, float, float]:
    """Where a voxel lies in a plane: the image index and the centre's (column, row) in image pixels."""
    shape = geometry(volume, plane)
    nz, ny, nx = volume.shape
    x, y, z = voxel
    if plane == 'axial':
        return z, (x + 0.5) * shape.columns / nx, (y + 0.5) * shape.rows / ny
    if plane == 'coronal':
        return y, (x + 0.5) * shape.columns / nx, (nz - 1 - z + 0.5) * shape.rows / nz
    return x, (y + 0.5) * shape.columns / ny, (nz - 1 - z + 0.5) * shape.rows / nz


def _sagittal_slab(voxels: np.ndarray, low: int, high: int, mode: str) -> np.ndarray:
    """A slab across x: each (z, y) row's few neighbouring voxels are contiguous, so OpenCV reduces them as rows
    (numpy reduces such a short inner axis of a strided view several times slower)."""
    nz, ny, _nx = voxels.shape
    rows = np.ascontiguousarray(voxels[:, :, low:high]).reshape(nz * ny, high - low)
    if mode == 'avg':
        reduced = cv2.reduce(rows, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F)
    else:
        reduced = cv2.reduce(rows, 1, cv2.REDUCE_MAX if mode == 'mip' else cv2.REDUCE_MIN)
    picked: np.ndarray = reduced.reshape(nz, ny).astype(np.float32)
    return picked


def _plane(plane: str) -> str:
    if plane not in PLANES:
        raise ValueError(f'plane must be one of {", ".join(PLANES)}')
    return plane


def _at(fraction: float, count: int) -> int:
    """The index of the voxel at a fraction of an extent of `count` voxels."""
    return max(0, min(count - 1, int(np.floor(fraction * count))))
