"""Where a linked viewport scrolls to: the slice at the same position in the patient, or the same place in the stack.

Two series that share a Frame of Reference UID (PS3.3 C.7.4.1) are in one patient coordinate system, so the
slice to show beside another is the one whose Image Position (Patient), projected on the slice normal (the
cross product of the two Image Orientation (Patient) vectors), is nearest to the other's: a 5 mm series beside
a 1.25 mm one lands on the right level, not on the same index. When the other series has no slice within half
a slice gap of that position (it covers less of the body), the nearest one is still shown; `LinkedSlice.exact`
says whether it was within reach.

Series in different frames of reference (a prior study, another scanner session) cannot be compared by position.
Those keep the offset in images from where the doctor switched the link on (they lined both up by eye first), or,
when the link came on by itself (a prior opened beside), the same fraction of the stack.

Plain values only: the positions come from the index (Instance.attributes, DICOM JSON) or from header facts
the viewer has already read; nothing here reads a file.
"""

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Vector = tuple[float, float, float]

POSITION_TAG, ORIENTATION_TAG, FRAME_OF_REFERENCE_TAG = '00200032', '00200037', '00200052'
PARALLEL = 0.99  # |cos| between two slice normals above which the planes count as parallel (about 8 degrees)

POSITION, OFFSET, FRACTION = 'position', 'offset', 'fraction'


@dataclass(frozen=True)
class SliceGeometry:
    """What one image says about where it lies: Image Position/Orientation (Patient) and its frame of reference."""

    position: Vector | None = None
    orientation: tuple[float, ...] | None = None  # six direction cosines: row, then column
    frame_of_reference: str = ''


@dataclass(frozen=True)
class Stack:
    """A viewport's images, in scroll order, with their geometry (one entry per image shown)."""

    geometry: tuple[SliceGeometry, ...]

    @property
    def frame_of_reference(self) -> str:
        """The series' frame of reference: the one all its images name, or '' when they do not agree or say none."""
        found = {g.frame_of_reference for g in self.geometry}
        return found.pop() if len(found) == 1 else ''

    @property
    def located(self) -> bool:
        """Every image has a position and an orientation (multi-frame images without per-frame positions do not)."""
        return bool(self.geometry) and all(g.position and g.orientation for g in self.geometry)


@dataclass(frozen=True)
class LinkedSlice:
    index: int
    mode: str  # POSITION, OFFSET or FRACTION
    exact: bool = True  # POSITION: a slice lies within half a slice gap of the position


def from_attributes(attributes: Mapping[str, Any]) -> SliceGeometry:
    """An image's geometry from its indexed attributes (DICOM JSON keyed by tag, as the metadata job keeps them)."""
    return SliceGeometry(
        _vector(_json_value(attributes, POSITION_TAG), 3),  # type: ignore[arg-type]
        _vector(_json_value(attributes, ORIENTATION_TAG), 6),
        str((_json_value(attributes, FRAME_OF_REFERENCE_TAG) or [''])[0] or ''),
    )


def from_facts(facts: Mapping[str, Any]) -> SliceGeometry:
    """An image's geometry from the header facts the viewer reads (dicom.facts.describe, keyed by keyword)."""
    return SliceGeometry(
        _vector(facts.get('ImagePositionPatient'), 3),  # type: ignore[arg-type]
        _vector(facts.get('ImageOrientationPatient'), 6),
        str(facts.get('FrameOfReferenceUID') or ''),
    )


def normal(orientation: Sequence[float]) -> Vector:
    """The unit normal of a slice: row direction × column direction."""
    r, c = orientation[:3], orientation[3:6]
    n = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
    length = math.sqrt(sum(v * v for v in n)) or 1.0
    return (n[0] / length, n[1] / length, n[2] / length)


def along(position: Sequence[float], direction: Vector) -> float:
    """Where a point lies along a direction (mm): the dot product."""
    return sum(p * d for p, d in zip(position, direction, strict=False))


def same_frame(source: Stack, target: Stack) -> bool:
    """Both stacks name one frame of reference and every image of both has a position."""
    shared = source.frame_of_reference
    return bool(shared) and shared == target.frame_of_reference and source.located and target.located


def nearest_by_position(source: Stack, index: int, target: Stack) -> LinkedSlice | None:
    """The target image nearest to the source image's position along its normal; None if the planes are not
    parallel (an axial beside a sagittal of the same frame has no 'same slice')."""
    here = source.geometry[index]
    assert here.position and here.orientation
    direction = normal(here.orientation)
    wanted = along(here.position, direction)
    levels = []
    for g in target.geometry:
        assert g.position and g.orientation
        if abs(along(normal(g.orientation), direction)) < PARALLEL:
            return None
        levels.append(along(g.position, direction))
    best = min(range(len(levels)), key=lambda n: (abs(levels[n] - wanted), n))
    return LinkedSlice(best, POSITION, abs(levels[best] - wanted) <= _half_gap(levels) + 1e-6)


def follow(source: Stack, index: int, target: Stack, *, anchor: tuple[int, int] | None = None) -> LinkedSlice | None:
    """The image a linked target shows when the source shows image `index`.

    Same frame of reference: by position. Otherwise the offset in images from `anchor` (the source's and the
    target's index when the link was switched on), or without an anchor the same fraction of the stack."""
    count = len(target.geometry)
    if not count or not source.geometry:
        return None
    index = max(0, min(len(source.geometry) - 1, index))
    if same_frame(source, target):
        return nearest_by_position(source, index, target)
    if anchor is not None:
        return LinkedSlice(max(0, min(count - 1, anchor[1] + index - anchor[0])), OFFSET)
    fraction = index / max(1, len(source.geometry) - 1)
    return LinkedSlice(round(fraction * (count - 1)), FRACTION)


def _half_gap(levels: list[float]) -> float:
    """Half the typical distance between neighbouring slices (the median gap), 0 for a single slice."""
    ordered = sorted(levels)
    gaps = sorted(b - a for a, b in itertools.pairwise(ordered) if b - a > 1e-6)
    return gaps[len(gaps) // 2] / 2 if gaps else 0.0


def _json_value(attributes: Mapping[str, Any], tag: str) -> list[Any] | None:
    element = attributes.get(tag)
    value = element.get('Value') if isinstance(element, Mapping) else None
    return value if isinstance(value, list) else None


def _vector(value: Any, size: int) -> tuple[float, ...] | None:
    if not isinstance(value, (list, tuple)) or len(value) != size:
        return None
    try:
        found = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return found if all(math.isfinite(v) for v in found) else None
