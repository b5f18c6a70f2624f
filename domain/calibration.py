"""How big a pixel is, and what a measurement drawn on an image amounts to in real units.

The size of a pixel comes from the image's header (given here as plain values keyed by DICOM keyword):
Pixel Spacing (patient plane; PS3.3 10.7.1.3), else Imager Pixel Spacing (the detector plane: stated,
and corrected by the Estimated Radiographic Magnification Factor when the file gives one), else the
ultrasound region holding the measurement (PS3.3 C.8.5.5, physical units in cm). Without any of them a
measurement is in pixels and says so.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput

KINDS = ('length', 'angle', 'ellipse', 'rectangle')
POINTS = {'length': 2, 'angle': 3, 'ellipse': 2, 'rectangle': 2}
US_CENTIMETRES = 3  # Physical Units X/Y Direction: 3 = cm


@dataclass(frozen=True)
class Calibration:
    """Millimetres per pixel along rows and columns, and where that figure comes from."""

    row_mm: float | None = None  # distance between the centres of adjacent rows (vertical)
    column_mm: float | None = None  # between adjacent columns (horizontal)
    source: str = ''  # 'Pixel Spacing', 'Imager Pixel Spacing', 'Ultrasound region' or '' (uncalibrated)
    note: str = ''
    value_unit: str = ''  # unit of the pixel values: 'HU' for CT

    @property
    def calibrated(self) -> bool:
        return bool(self.row_mm and self.column_mm)

    def describe(self) -> str:
        """What the figures rest on, as shown beside a measurement."""
        if not self.calibrated:
            return 'uncalibrated (px)'
        return f'{self.source} ({self.note})' if self.note else self.source


UNCALIBRATED = Calibration()


def from_attributes(attributes: Mapping[str, Any], point: Sequence[float] | None = None) -> Calibration:
    """The calibration of an image (at `point`, for ultrasound regions) from its header values."""
    value_unit = 'HU' if str(attributes.get('Modality', '')).upper() == 'CT' else ''
    spacing = _pair(attributes.get('PixelSpacing'))
    if spacing:
        kind = str(attributes.get('PixelSpacingCalibrationType', '') or '').upper()
        note = {'GEOMETRY': 'geometry', 'FIDUCIAL': 'calibrated with a fiducial'}.get(kind, '')
        return Calibration(spacing[0], spacing[1], 'Pixel Spacing', note, value_unit)
    imager = _pair(attributes.get('ImagerPixelSpacing'))
    if imager:
        factor = _number(attributes.get('EstimatedRadiographicMagnificationFactor'))
        if factor and factor > 0 and factor != 1:
            return Calibration(
                imager[0] / factor,
                imager[1] / factor,
                'Imager Pixel Spacing',
                f'corrected for magnification {factor:g}',
                value_unit,
            )
        return Calibration(imager[0], imager[1], 'Imager Pixel Spacing', 'at the detector', value_unit)
    region = _ultrasound_region(attributes.get('SequenceOfUltrasoundRegions') or [], point)
    if region:
        return Calibration(abs(region[1]) * 10, abs(region[0]) * 10, 'Ultrasound region', '', value_unit)
    return Calibration(value_unit=value_unit)


def measure(
    kind: str, points: Sequence[Sequence[float]], calibration: Calibration
) -> tuple[float, str, dict[str, float]]:
    """The value, unit and extra figures of a length, angle or ROI drawn with these image points (x, y)."""
    if kind not in KINDS:
        raise InvalidInput('Unknown measurement kind {kind}', kind=kind)
    if len(points) != POINTS[kind] or any(len(p) != 2 or not all(math.isfinite(float(v)) for v in p) for p in points):
        raise InvalidInput('A {kind} needs {count} points on the image', kind=kind, count=POINTS[kind])
    sx = calibration.column_mm if calibration.calibrated else 1.0
    sy = calibration.row_mm if calibration.calibrated else 1.0
    assert sx is not None and sy is not None
    unit = 'mm' if calibration.calibrated else 'px'
    scaled = [(float(x) * sx, float(y) * sy) for x, y in points]
    if kind == 'length':
        (x0, y0), (x1, y1) = scaled
        return math.hypot(x1 - x0, y1 - y0), unit, {}
    if kind == 'angle':
        (ax, ay), (vx, vy), (bx, by) = scaled
        first, second = math.atan2(ay - vy, ax - vx), math.atan2(by - vy, bx - vx)
        degrees = abs(math.degrees(first - second)) % 360
        return (360 - degrees if degrees > 180 else degrees), '°', {}
    (x0, y0), (x1, y1) = scaled
    width, height = abs(x1 - x0), abs(y1 - y0)
    area = math.pi * width * height / 4 if kind == 'ellipse' else width * height
    return area, f'{unit}²', {'width': width, 'height': height}


def _ultrasound_region(
    regions: Sequence[Mapping[str, Any]], point: Sequence[float] | None
) -> tuple[float, float] | None:
    usable = []
    for region in regions:
        if (
            _number(region.get('PhysicalUnitsXDirection')) != US_CENTIMETRES
            or _number(region.get('PhysicalUnitsYDirection')) != US_CENTIMETRES
        ):
            continue
        dx, dy = _number(region.get('PhysicalDeltaX')), _number(region.get('PhysicalDeltaY'))
        if not dx or not dy:
            continue
        box = [
            _number(region.get(k))
            for k in ('RegionLocationMinX0', 'RegionLocationMinY0', 'RegionLocationMaxX1', 'RegionLocationMaxY1')
        ]
        usable.append(((dx, dy), box))
    if not usable:
        return None
    if point is not None:
        for deltas, (x0, y0, x1, y1) in usable:
            if None not in (x0, y0, x1, y1) and x0 <= point[0] <= x1 and y0 <= point[1] <= y1:  # type: ignore[operator]
                return deltas
    return usable[0][0]


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list | tuple) and len(value) >= 2:
        first, second = _number(value[0]), _number(value[1])
        if first and second and first > 0 and second > 0:
            return first, second
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
