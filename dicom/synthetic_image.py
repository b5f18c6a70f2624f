"""What the demo's synthetic scanners share: the image they hand over, plane geometry and a few shapes.

Anatomy is described in patient coordinates (LPS, millimetres: x to the patient's left, y to the back, z to the
head; PS3.3 C.7.6.2.1.1) and sampled on each image plane, so the stored Image Position and Image Orientation
are exactly where every pixel was taken from.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Vector = tuple[float, float, float]
Coordinate = np.ndarray | float  # a coordinate of every pixel, or one for the whole plane


@dataclass(frozen=True)
class Image:
    """One image a synthetic scanner made: its place in the study, pixels, and the header values of its kind."""

    series: int
    number: int
    pixels: np.ndarray  # rows × columns, or frames × rows × columns; uint8 or uint16
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plane:
    """An image plane: the centre of its first pixel, the row and column directions, its size and spacing."""

    position: Vector  # Image Position (Patient) of the first pixel
    row: Vector  # direction along a row (increasing column), the first half of Image Orientation (Patient)
    column: Vector  # direction down a column (increasing row)
    rows: int
    columns: int
    spacing: float

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The patient coordinates (x, y, z) of every pixel centre, each rows × columns."""
        r, c = np.mgrid[0 : self.rows, 0 : self.columns].astype(np.float32) * np.float32(self.spacing)
        x, y, z = (
            np.float32(self.position[i]) + c * np.float32(self.row[i]) + r * np.float32(self.column[i])
            for i in range(3)
        )
        return x, y, z

    def attributes(self) -> dict[str, Any]:
        """Image Plane module values (PS3.3 C.7.6.2)."""
        return {
            'ImagePositionPatient': [round(v, 4) for v in self.position],
            'ImageOrientationPatient': [*self.row, *self.column],
            'PixelSpacing': [self.spacing, self.spacing],
        }


def centred_plane(centre: Vector, row: Vector, column: Vector, *, rows: int, columns: int, spacing: float) -> Plane:
    """A plane whose middle lies at `centre`."""
    first = tuple(
        centre[i] - row[i] * spacing * (columns - 1) / 2 - column[i] * spacing * (rows - 1) / 2 for i in range(3)
    )
    return Plane(first, row, column, rows, columns, spacing)  # type: ignore[arg-type]


def ellipsoid(x: Coordinate, y: Coordinate, z: Coordinate, centre: Vector, axes: Vector) -> np.ndarray:
    """The normalised radius of each point in an axis-aligned ellipsoid (< 1 inside)."""
    return np.sqrt(
        ((x - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2 + ((z - centre[2]) / axes[2]) ** 2
    )


def ellipse(
    x: Coordinate, y: Coordinate, centre: tuple[float, float], axes: tuple[Coordinate, Coordinate]
) -> np.ndarray:
    """The normalised radius of each point in an axis-aligned ellipse (< 1 inside)."""
    return np.sqrt(((x - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2)


class Texture:
    """A smooth random field in space (a sum of a few plane waves), for tissue that is not perfectly uniform."""

    def __init__(self, rng: np.random.Generator, wavelength_mm: float, waves: int = 8) -> None:
        directions = rng.normal(size=(waves, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        lengths = wavelength_mm * rng.uniform(0.6, 1.4, size=waves)
        self.k = (2 * np.pi * directions / lengths[:, None]).astype(np.float32)
        self.phase = rng.uniform(0, 2 * np.pi, size=waves).astype(np.float32)

    def __call__(self, x: np.ndarray, y: np.ndarray, z: Coordinate) -> np.ndarray:
        """Values in about -1..1."""
        total = np.zeros(np.shape(x), np.float32)
        for (kx, ky, kz), phase in zip(self.k, self.phase, strict=True):
            total += np.cos(kx * x + ky * y + kz * z + phase)
        return total * np.float32(np.sqrt(2 / len(self.phase)))


def to_stored(values: np.ndarray, high: int, dtype: type = np.uint16) -> np.ndarray:
    """Values rounded and clipped into 0..high, the range the image's Bits Stored allows."""
    stored: np.ndarray = np.clip(np.rint(values), 0, high).astype(dtype)
    return stored
