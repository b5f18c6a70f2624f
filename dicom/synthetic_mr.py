"""Synthetic MR: a right knee in three planes and three contrasts (sagittal PD, coronal T1, axial T2 fat-saturated).

The knee is one labelled model (femur, tibia, patella with marrow and cortex, articular cartilage, menisci,
cruciate ligaments, patellar tendon, joint fluid, muscle, fat, popliteal vessels) sampled on each plane; each
tissue gets its signal for the sequence, with a coil's smooth shading and Rician noise.
"""

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from domain.demo_studies import UID_ROOT, Order

from .synthetic_image import Image, Texture, Vector, centred_plane, ellipse, ellipsoid, to_stored

MR_IMAGE = '1.2.840.10008.5.1.4.1.1.4'
AIR, FAT, MUSCLE, MARROW, CORTEX, CARTILAGE, FLUID, LIGAMENT, VESSEL = range(9)
# signal of each label above, per contrast
SIGNAL = {
    'PD': (0, 900, 330, 820, 25, 620, 780, 55, 35),
    'T1': (0, 1000, 360, 950, 25, 420, 170, 55, 30),
    'T2FS': (0, 110, 240, 90, 20, 480, 1400, 45, 55),
}
# series number, description, contrast, (row, column) directions, the axis slices step along, TR, TE
SERIES = (
    (1, 'SAG PD', 'PD', ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)), 0, 2800, 30),
    (2, 'COR T1', 'T1', ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)), 1, 550, 12),
    (3, 'AX T2 FS', 'T2FS', ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)), 2, 3800, 70),
)
CENTRE = (0.0, 8.0, 6.0)


def knee(order: Order, rng: np.random.Generator) -> Iterator[Image]:
    """Three series of `order.slices` slices each, `order.slice_mm` apart, through the knee joint."""
    shading = Texture(rng, 120.0, waves=4)
    for number, description, contrast, (row, column), axis, tr, te in SERIES:
        signal = np.array(SIGNAL[contrast], np.float32)
        peak = float(signal.max())
        for index in range(order.slices):
            centre = list(CENTRE)
            centre[axis] += (index - (order.slices - 1) / 2) * order.slice_mm
            plane = centred_plane(
                (centre[0], centre[1], centre[2]),
                row,
                column,
                rows=order.rows,
                columns=order.columns,
                spacing=order.pixel_mm,
            )
            x, y, z = plane.points()
            values = signal[_labels(x, y, z)] * (1 + 0.18 * shading(x, y, z))
            values = cv2.GaussianBlur(values, (0, 0), 0.8)
            noise = rng.normal(0, 16, (2, *values.shape)).astype(np.float32)
            values = np.sqrt((values + noise[0]) ** 2 + noise[1] ** 2)  # magnitude of complex noise: Rician
            attributes: dict[str, Any] = {
                'SOPClassUID': MR_IMAGE,
                'Modality': 'MR',
                'SeriesDescription': description,
                'ProtocolName': f'KNEE {description}',
                'BodyPartExamined': 'KNEE',
                'Laterality': 'R',
                'PatientPosition': 'FFS',
                'FrameOfReferenceUID': f'{UID_ROOT}.4.{order.key}',
                'PositionReferenceIndicator': '',
                'ScanningSequence': 'SE',
                'SequenceVariant': 'SK',
                'MRAcquisitionType': '2D',
                'MagneticFieldStrength': 1.5,
                'RepetitionTime': tr,
                'EchoTime': te,
                'SliceThickness': round(order.slice_mm - 0.5, 2),
                'SpacingBetweenSlices': order.slice_mm,
                'SliceLocation': round(centre[axis], 4),
                'BitsStored': 12,
                'WindowCenter': round(peak * 0.45),
                'WindowWidth': round(peak * 1.0),
                **plane.attributes(),
            }
            yield Image(number, index + 1, to_stored(values, 4095), attributes)


def _labels(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The tissue at each point of the knee model (millimetres, joint line at z = 0)."""
    label = np.zeros(x.shape, np.uint8)
    limb = ellipse(x, y, (0, 8), (62, 56))
    label[limb < 1] = FAT
    calf_and_hamstrings = ellipse(x, y, (0, 26), (46, 26)) < 1
    quadriceps = ellipsoid(x, y, z, (0, -20, 125), (42, 22, 85)) < 1  # tapering down to its tendon
    muscle = calf_and_hamstrings | quadriceps
    label[muscle & (limb < 0.95)] = MUSCLE
    femur = _femur(x, y, z)
    tibia = _tibia(x, y, z)
    patella = ellipsoid(x, y, z, (0, -36, 24), (21, 8, 19))
    label[((femur > 1) & (femur < 1.12) & (z < 24)) | ((patella > 1) & (patella < 1.2) & (y > -36))] = CARTILAGE
    label[(tibia > 1) & (tibia < 1.1) & (z > -4.5)] = CARTILAGE
    label[ellipsoid(x, y, z, (0, -27, 46), (22, 4, 14)) < 1] = FLUID  # suprapatellar recess
    for bone in (femur, tibia, patella):
        label[bone < 1] = CORTEX
        label[bone < 0.9] = MARROW
    for side in (-1, 1):  # menisci: wedges on the tibial plateau, thick at the rim
        rim = np.hypot(x - side * 19, y - 6)
        label[(rim > 12) & (rim < 20) & (z > -4) & (z < -4 + 4.5 * (rim - 12) / 8)] = LIGAMENT
    label[(ellipse(x, y, (0, -42), (12, 3)) < 1) & (z > -30) & (z < 6)] = LIGAMENT  # patellar tendon
    label[_segment(x, y, z, (-6, 16, 18), (4, -2, -6)) < 4.5] = LIGAMENT  # anterior cruciate
    label[_segment(x, y, z, (4, 22, 12), (0, 27, -20)) < 5] = LIGAMENT  # posterior cruciate
    label[(np.hypot(x, y - 38) < 5) | (np.hypot(x - 7, y - 40) < 5)] = VESSEL  # popliteal artery and vein
    label[limb >= 1] = AIR
    return label


def _femur(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    flare = np.clip((48 - z) / 38, 0, 1)  # 0 on the shaft, 1 at the condyles
    shaft = ellipse(x, y, (0, 6), (15 + 22 * flare, 15 + 12 * flare))
    shaft = np.where(z > 16, shaft, 9.0)
    condyles = np.minimum(ellipsoid(x, y, z, (-20, 8, 15), (19, 27, 16)), ellipsoid(x, y, z, (20, 8, 15), (19, 27, 16)))
    femur: np.ndarray = np.minimum(shaft, condyles)
    return femur


def _tibia(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    narrowing = np.clip((-z - 26) / 30, 0, 1)  # the plateau narrows to the shaft below
    tibia = ellipse(x, y, (0, 6), (38 - 22 * narrowing, 27 - 11 * narrowing))
    below_plateau: np.ndarray = np.where(z < -4.5, tibia, 9.0)
    return below_plateau


def _segment(x: np.ndarray, y: np.ndarray, z: np.ndarray, start: Vector, end: Vector) -> np.ndarray:
    """Distance of each point from a straight segment (a ligament's axis)."""
    a, b = np.array(start, np.float32), np.array(end, np.float32)
    d = b - a
    t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / float(d @ d), 0, 1)
    distance: np.ndarray = np.sqrt((x - a[0] - t * d[0]) ** 2 + (y - a[1] - t * d[1]) ** 2 + (z - a[2] - t * d[2]) ** 2)
    return distance
