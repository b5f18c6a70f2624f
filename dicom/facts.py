"""What the viewer needs to know about an image besides its pixels: header facts, the tag listing, ROI figures.

`describe` answers plain JSON-ready values keyed by DICOM keyword (what domain.calibration and the
overlays read); `tag_rows` lists the whole header for the tag browser; `roi_stats` measures the pixel
values (after the modality LUT, so Hounsfield units for CT) inside an ellipse or rectangle.
"""

import logging
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import IS, DSfloat

from . import render

log = logging.getLogger(__name__)

SIMPLE = (
    'Modality',
    'Rows',
    'Columns',
    'PhotometricInterpretation',
    'BitsStored',
    'PixelRepresentation',
    'PixelSpacingCalibrationType',
    'PixelSpacingCalibrationDescription',
    'SliceThickness',
    'SliceLocation',
    'FrameTime',
    'RecommendedDisplayFrameRate',
    'CineRate',
    'SeriesNumber',
    'InstanceNumber',
    'SeriesDescription',
    'EstimatedRadiographicMagnificationFactor',
    'RescaleType',
    'BodyPartExamined',
    'ViewPosition',
    'PatientPosition',
    'StudyDate',
    'SeriesDate',
    'ContentDate',
    'ContentTime',
    'FrameOfReferenceUID',
)
VECTORS = (
    'PixelSpacing',
    'ImagerPixelSpacing',
    'ImageOrientationPatient',
    'ImagePositionPatient',
    'PatientOrientation',
    'WindowCenter',
    'WindowWidth',
    'WindowCenterWidthExplanation',
)
REGION_KEYS = (
    'RegionLocationMinX0',
    'RegionLocationMinY0',
    'RegionLocationMaxX1',
    'RegionLocationMaxY1',
    'PhysicalUnitsXDirection',
    'PhysicalUnitsYDirection',
    'PhysicalDeltaX',
    'PhysicalDeltaY',
    'RegionSpatialFormat',
    'RegionDataType',
)
MAX_VALUE_CHARS = 160


def describe(file_path: Path) -> dict[str, Any]:
    """The header facts of an image the viewer shows and measures with (JSON-ready, keyed by keyword)."""
    header = render.read_header(file_path)
    facts: dict[str, Any] = {'NumberOfFrames': render.number_of_frames(file_path)}
    for keyword in SIMPLE:
        if keyword in header and header[keyword].value not in (None, ''):
            facts[keyword] = _plain(header[keyword].value)
    for keyword in VECTORS:
        if keyword in header and header[keyword].value not in (None, ''):
            value = _plain(header[keyword].value)
            facts[keyword] = value if isinstance(value, list) else [value]
    _from_functional_groups(header, facts)
    regions = header.get('SequenceOfUltrasoundRegions')
    if regions:
        facts['SequenceOfUltrasoundRegions'] = [
            {key: _plain(item[key].value) for key in REGION_KEYS if key in item} for item in regions
        ]
    facts['FrameRate'] = frame_rate(facts)
    return facts


def frame_rate(facts: dict[str, Any]) -> float:
    """Frames per second for cine: Frame Time (ms), else the recommended rate, else Cine Rate, else 25."""
    for keyword, convert in (
        ('FrameTime', lambda v: 1000.0 / v),
        ('RecommendedDisplayFrameRate', float),
        ('CineRate', float),
    ):
        try:
            value = float(facts.get(keyword) or 0)
        except (TypeError, ValueError):
            continue
        if value > 0:
            return max(1.0, min(120.0, convert(value)))
    return 25.0


def tag_rows(file_path: Path) -> list[dict[str, Any]]:
    """Every element of the header (sequences opened one level per depth) for the tag browser."""
    rows: list[dict[str, Any]] = []
    header = render.read_header(file_path)
    if getattr(header, 'file_meta', None) is not None:
        _walk(header.file_meta, 0, rows)
    _walk(header, 0, rows)
    return rows


def roi_stats(frame: render.Frame, kind: str, points: list[list[float]]) -> dict[str, Any]:
    """Mean, SD, min, max and pixel count inside an ellipse or rectangle spanned by two image points."""
    values = frame.values if not frame.colour else frame.values.astype(np.float32).mean(axis=2)
    rows, columns = values.shape[:2]
    (x0, y0), (x1, y1) = points
    left, right = max(0, int(np.floor(min(x0, x1)))), min(columns, int(np.ceil(max(x0, x1))))
    top, bottom = max(0, int(np.floor(min(y0, y1)))), min(rows, int(np.ceil(max(y0, y1))))
    if right <= left or bottom <= top:
        return {'pixels': 0}
    region = values[top:bottom, left:right]
    if kind == 'ellipse':
        ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32) + np.float32(0.5)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx, ry = max(abs(x1 - x0) / 2, 1e-6), max(abs(y1 - y0) / 2, 1e-6)
        region = region[((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1]
    region = np.asarray(region, dtype=np.float64).ravel()
    if region.size == 0:
        return {'pixels': 0}
    return {
        'mean': float(region.mean()),
        'sd': float(region.std()),
        'min': float(region.min()),
        'max': float(region.max()),
        'pixels': int(region.size),
    }


# ---------------------------------------------------------------- private helpers


def _from_functional_groups(header: Dataset, facts: dict[str, Any]) -> None:
    """Enhanced multi-frame objects keep spacing and geometry in functional groups (PS3.3 C.7.6.16)."""
    shared = header.get('SharedFunctionalGroupsSequence')
    if not shared:
        return
    item = shared[0]
    measures = item.get('PixelMeasuresSequence')
    if measures and 'PixelSpacing' not in facts and 'PixelSpacing' in measures[0]:
        facts['PixelSpacing'] = _plain(measures[0].PixelSpacing)
        if 'SliceThickness' in measures[0] and 'SliceThickness' not in facts:
            facts['SliceThickness'] = _plain(measures[0].SliceThickness)
    orientation = item.get('PlaneOrientationSequence')
    if orientation and 'ImageOrientationPatient' not in facts and 'ImageOrientationPatient' in orientation[0]:
        facts['ImageOrientationPatient'] = _plain(orientation[0].ImageOrientationPatient)


def _walk(dataset: Dataset, depth: int, rows: list[dict[str, Any]]) -> None:
    for element in dataset:
        if element.tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
            rows.append(
                {
                    'tag': _tag(element.tag),
                    'name': element.name,
                    'vr': element.VR,
                    'value': '(pixel data)',
                    'depth': depth,
                }
            )
            continue
        if element.VR == 'SQ':
            rows.append(
                {
                    'tag': _tag(element.tag),
                    'name': element.name,
                    'vr': 'SQ',
                    'value': f'{len(element.value)} item(s)',
                    'depth': depth,
                }
            )
            for number, item in enumerate(element.value, start=1):
                rows.append({'tag': '', 'name': f'item {number}', 'vr': '', 'value': '', 'depth': depth + 1})
                _walk(item, depth + 2, rows)
            continue
        rows.append(
            {
                'tag': _tag(element.tag),
                'name': element.name,
                'vr': element.VR,
                'value': _shown(element.value, element.VR),
                'depth': depth,
            }
        )


def _shown(value: Any, vr: str) -> str:
    if vr in ('OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN') and isinstance(value, bytes | bytearray):
        return f'({len(value)} bytes)'
    text = '\\'.join(str(v) for v in value) if isinstance(value, MultiValue | list) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + '…'


def _tag(tag: int) -> str:
    return f'({tag >> 16:04X},{tag & 0xFFFF:04X})'


def _plain(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, DSfloat | float):
        return float(value)
    if isinstance(value, IS | int):
        return int(value)
    return str(value)
