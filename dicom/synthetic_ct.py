"""Synthetic CT: a head and a chest as axial series in Hounsfield units (stored + 1024, Rescale Intercept -1024).

Each tissue has its textbook attenuation (air -1000, fat -90, CSF 8, white matter 28, grey matter 38, blood 42,
bone 300-1400 HU) plus smooth variation and scanner noise. Slices go from the head end down, one Slice
Thickness apart, each with its Image Position (Patient) and Slice Location (PS3.3 C.7.6.2, C.8.2.1).
"""

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from domain.demo_studies import UID_ROOT, Order

from .synthetic_image import Image, Plane, Texture, centred_plane, ellipse, ellipsoid, to_stored

CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2'
AXIAL = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
INTERCEPT = -1024
HEAD_TOP_MM, CHEST_TOP_MM = 72.0, 35.0  # z of the first (highest) slice


def head(order: Order, rng: np.random.Generator) -> Iterator[Image]:
    """An unenhanced head CT: scalp, skull with diploë, grey and white matter, sulci, ventricles, falx, orbits."""
    folds, gyri = Texture(rng, 14.0), Texture(rng, 40.0)
    windows = {'WindowCenter': [40, 600], 'WindowWidth': [80, 2800], 'WindowCenterWidthExplanation': ['BRAIN', 'BONE']}
    for index, plane in enumerate(_axial(order, HEAD_TOP_MM)):
        x, y, z = plane.points()
        hu = _head_hu(x, y, z, folds, gyri)
        hu += rng.normal(0, 3.5, hu.shape).astype(np.float32)
        yield _slice(order, plane, index, hu, part='HEAD', description='Head 1.25 mm', windows=windows)


def chest(order: Order, rng: np.random.Generator) -> Iterator[Image]:
    """A chest CT: chest wall, ribs, spine, lungs with branching vessels, heart, great vessels, upper abdomen."""
    tracks = _vessel_tracks(rng)
    lung_texture = Texture(rng, 18.0, waves=16)
    windows = {
        'WindowCenter': [40, -600],
        'WindowWidth': [400, 1500],
        'WindowCenterWidthExplanation': ['MEDIASTINUM', 'LUNG'],
    }
    for index, plane in enumerate(_axial(order, CHEST_TOP_MM)):
        x, y, z = plane.points()
        hu = _chest_hu(x, y, float(z[0, 0]), plane=plane, tracks=tracks, texture=lung_texture)
        hu += rng.normal(0, 12, hu.shape).astype(np.float32)
        yield _slice(order, plane, index, hu, part='CHEST', description='Chest 2.5 mm', windows=windows)


# ---------------------------------------------------------------- geometry and header


def _axial(order: Order, top: float) -> Iterator[Plane]:
    for index in range(order.slices):
        centre = (0.0, 0.0, top - index * order.slice_mm)
        yield centred_plane(centre, *AXIAL, rows=order.rows, columns=order.columns, spacing=order.pixel_mm)


def _slice(
    order: Order, plane: Plane, index: int, hu: np.ndarray, *, part: str, description: str, windows: dict[str, Any]
) -> Image:
    attributes: dict[str, Any] = {
        'SOPClassUID': CT_IMAGE,
        'Modality': 'CT',
        'SeriesDescription': description,
        'ProtocolName': description,
        'BodyPartExamined': part,
        'PatientPosition': 'HFS',
        'FrameOfReferenceUID': f'{UID_ROOT}.4.{order.key}',
        'PositionReferenceIndicator': '',
        'KVP': 120,
        'SliceThickness': order.slice_mm,
        'SpacingBetweenSlices': order.slice_mm,
        'SliceLocation': round(plane.position[2], 4),
        'RescaleIntercept': INTERCEPT,
        'RescaleSlope': 1,
        'RescaleType': 'HU',
        'BitsStored': 12,
        **plane.attributes(),
        **windows,
    }
    return Image(1, index + 1, to_stored(hu - INTERCEPT, 4095), attributes)


# ---------------------------------------------------------------- the head


def _head_hu(x: np.ndarray, y: np.ndarray, z: np.ndarray, folds: Texture, gyri: Texture) -> np.ndarray:
    hu = np.full(x.shape, -1000.0, np.float32)
    r = ellipsoid(x, y, z, (0, 0, -8), (74, 94, 98))
    hu[r < 1.0] = 35  # scalp
    hu[(r > 0.972) & (r < 0.99)] = -80  # subcutaneous fat
    hu[(r >= 0.905) & (r < 0.965)] = 1350  # outer and inner tables
    hu[(r >= 0.925) & (r < 0.945)] = 520  # diploë
    brain = r < 0.905
    hu[brain] = 38  # grey matter
    white = ellipsoid(x, y, z, (0, 4, 10), (54, 72, 64)) < 1 + 0.1 * gyri(x, y, z)
    hu[brain & white] = 28
    sulci = brain & (r > 0.74) & (np.abs(folds(x, y, z)) < 0.1)  # the folds' zero lines wind like sulci
    hu[sulci | (brain & (r > 0.89))] = 9  # sulci and the CSF under the skull
    falx = brain & (np.abs(x) < 1.2) & ((y < -30) | (y > 40)) & (z > -15)
    hu[falx] = 62
    ventricles = np.zeros(x.shape, bool)
    for side in (-1, 1):
        ventricles |= ellipsoid(x, y, z, (side * 10, -6, 20), (7, 30, 10)) < 1  # bodies and frontal horns
        ventricles |= ellipsoid(x, y, z, (side * 15, 26, 8), (5, 14, 8)) < 1  # occipital horns
    ventricles |= ellipsoid(x, y, z, (0, 4, 2), (2.5, 12, 9)) < 1  # third ventricle
    hu[brain & ventricles] = 6
    for side in (-1, 1):
        orbit = ellipsoid(x, y, z, (side * 31, -62, -40), (17, 24, 15)) < 1
        hu[orbit] = -85  # orbital fat
        eye = ellipsoid(x, y, z, (side * 33, -74, -40), (12, 12, 12)) < 1
        hu[eye] = 12
        hu[ellipsoid(x, y, z, (side * 33, -85, -40), (4, 1.8, 4)) < 1] = 110  # lens
    hu[ellipsoid(x, y, z, (0, -76, -62), (15, 12, 10)) < 1] = -1000  # frontal sinus and nasal airway
    return hu


# ---------------------------------------------------------------- the chest


def _vessel_tracks(rng: np.random.Generator, trunks: int = 44, branches: int = 4) -> np.ndarray:
    """Pulmonary vessels as straight segments: trunks from either hilum, each with branches further out towards
    the periphery, thinner as they go (x0 y0 z0 x1 y1 z1 radius0 radius1, millimetres)."""
    tracks = []
    for _ in range(trunks):
        side = float(rng.choice((-1.0, 1.0)))
        start = np.array([side * 32, 12, -85]) + rng.normal(0, 5, 3)
        end = start + _outward(rng, side) * rng.uniform(60, 95)
        tracks.append([*start, *end, rng.uniform(3.5, 5.0), 2.5])
        for _branch in range(branches):
            fork = start + (end - start) * rng.uniform(0.35, 1.0)
            tip = fork + _outward(rng, side) * rng.uniform(45, 90)
            tracks.append([*fork, *tip, rng.uniform(1.6, 2.4), rng.uniform(0.5, 0.9)])
    return np.array(tracks, np.float32)


def _outward(rng: np.random.Generator, side: float) -> np.ndarray:
    """A direction away from the hilum, steep enough to cross the axial slices."""
    direction = rng.normal(0, 1, 3) + np.array([side * 1.2, 0.0, 0.0])
    direction[2] = np.sign(direction[2] or 1) * max(abs(direction[2]), 0.45)
    return np.asarray(direction / np.linalg.norm(direction))


def _chest_hu(
    x: np.ndarray, y: np.ndarray, z: float, *, plane: Plane, tracks: np.ndarray, texture: Texture
) -> np.ndarray:
    hu = np.full(x.shape, -1000.0, np.float32)
    body = ellipse(x, y, (0, 5), (165, 112))
    inside = body < 1
    hu[inside] = 42
    hu[(body > 0.93) & inside] = -95  # subcutaneous fat
    if -175 < z < 15:
        hu[ellipse(x, y, (0, -18), (40, 62)) < 1] = -90  # mediastinal fat
    angle = np.arctan2((y - 5) / 112, x / 165)
    ribs = (body > 0.8) & (body < 0.86) & (np.mod((z + 40 * (1 - np.sin(angle))) / 24, 1) < 0.38) & (z > -205)
    hu[ribs] = 620
    hu[(ellipse(x, y, (0, -104), (14, 5)) < 1) & (z > -150)] = 480  # sternum
    disc = np.mod((z + 7) / 30, 1) < 0.18
    spine = ellipse(x, y, (0, 72), (19, 18))
    hu[spine < 1] = 95 if disc else 260
    if not disc:
        hu[(spine > 0.88) & (spine < 1)] = 720
    hu[ellipse(x, y, (0, 112), (6, 14)) < 1] = 600  # spinous process
    hu[ellipse(x, y, (0, 96), (8, 7)) < 1] = 12  # spinal canal
    lungs = np.zeros(x.shape, bool)
    for side in (-1, 1):
        apex = np.sqrt(np.clip((CHEST_TOP_MM + 5 - z) / 60, 0.05, 1))
        lung = ellipse(x, y, (side * 74, 14), (62 * apex, 86 * apex)) < 1
        dome = -150 - (6 if side > 0 else 0) - 45 * (np.abs(x) / 140) ** 2 - 25 * np.clip(y / 90, 0, 1)
        lungs |= lung & (z > dome)
    parenchyma = -860 + 9 * texture(x, y, z) + 0.25 * (y - 14)  # denser where it hangs
    hu[lungs] = parenchyma[lungs]
    _great_vessels(hu, x, y, z)
    heart = ellipsoid(x, y, z, (22, -22, -122), (64, 52, 50))
    hu[(heart < 1.12) & (heart >= 1)] = -90
    hu[heart < 1] = 42
    liver = (z < -150 - 30 * (np.abs(x) / 140) ** 2) & (x < 45) & (body < 0.8) & ~lungs
    hu[liver] = 58
    hu[(ellipsoid(x, y, z, (62, -12, -188), (32, 26, 20)) < 1) & ~lungs] = -1000  # stomach air
    _vessels(hu, lungs, plane, z, tracks)
    return hu


def _great_vessels(hu: np.ndarray, x: np.ndarray, y: np.ndarray, z: float) -> None:
    if z > -40:
        hu[ellipse(x, y, (0, 6), (11, 11)) < 1] = 60
        hu[ellipse(x, y, (0, 6), (9, 9)) < 1] = -1000  # trachea
    elif z > -72:
        for side in (-1, 1):
            hu[ellipse(x, y, (side * ((-40 - z) * 0.8 + 3), 8), (6, 6)) < 1] = -1000  # main bronchi
    if -78 < z < -6:
        hu[ellipse(x, y, (6, -26), (15, 15)) < 1] = 44  # ascending aorta
    if -8 <= z <= 8:
        hu[ellipse(x, y, (10, 14), (16, 46)) < 1] = 44  # arch
    if z < -4:
        hu[ellipse(x, y, (20, 52), (12, 12)) < 1] = 44  # descending aorta
    if -95 < z < -62:
        hu[ellipse(x, y, (22, -32), (14, 14)) < 1] = 42  # pulmonary trunk
    if -95 < z < 25:
        hu[ellipse(x, y, (-22, -18), (10, 10)) < 1] = 40  # superior vena cava


def _vessels(hu: np.ndarray, lungs: np.ndarray, plane: Plane, z: float, tracks: np.ndarray) -> None:
    """Where each vessel crosses this slice, a disc of blood (only within the lungs)."""
    mask = np.zeros(hu.shape, np.uint8)
    (x0, y0, _), spacing = plane.position, plane.spacing
    for sx, sy, sz, ex, ey, ez, r0, r1 in tracks:
        t = (z - sz) / (ez - sz)
        if not 0 <= t <= 1:
            continue
        cx, cy, radius = sx + t * (ex - sx), sy + t * (ey - sy), r0 + t * (r1 - r0)
        centre = (round((cx - x0) / spacing * 4), round((cy - y0) / spacing * 4))  # 2 bits of sub-pixel
        cv2.circle(mask, centre, max(1, round(radius / spacing * 4)), 1, -1, cv2.LINE_AA, 2)
    hu[(mask > 0) & lungs] = 38
