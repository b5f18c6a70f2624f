"""Synthetic radiography: a chest PA (and lateral) on a digital detector, as DX For Presentation.

The image is a map of how much each path through the body attenuates: soft tissue of neck, shoulders and
torso, lungs with their vessel markings, mediastinum and heart, diaphragm domes with the gastric bubble,
spine, ribs and clavicles. The heart's widest span and the inner margins of the ribs lie on the order's
marks, so the cardiothoracic ratio the reader measures is the one drawn. Spacing is given at the detector
(Imager Pixel Spacing) with the magnification factor (PS3.3 C.8.11.7, 10.7.1.3).
"""

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from domain.demo_studies import Order

from .synthetic_image import Image, ellipse, to_stored

DX_IMAGE = '1.2.840.10008.5.1.4.1.1.1.1'  # Digital X-Ray Image Storage - For Presentation


def chest(order: Order, rng: np.random.Generator) -> Iterator[Image]:
    """The PA view, and the lateral when the order asks for both."""
    views = [('PA', ['L', 'F'], _pa(order, rng))]
    if 'LATERAL' in order.description:
        views.append(('LL', ['P', 'F'], _lateral(order, rng)))
    for series, (view, orientation, attenuation) in enumerate(views, start=1):
        blurred = cv2.GaussianBlur(attenuation, (0, 0), 1.6)
        values = 250 + blurred * 3200 + np.asarray(rng.normal(0, 14, attenuation.shape), np.float32)
        attributes: dict[str, Any] = {
            'SOPClassUID': DX_IMAGE,
            'Modality': 'DX',
            'SeriesDescription': f'CHEST {view}',
            'ProtocolName': f'CHEST {view}',
            'BodyPartExamined': 'CHEST',
            'ViewPosition': view,
            'PatientOrientation': orientation,
            'ImagerPixelSpacing': [order.pixel_mm, order.pixel_mm],
            'EstimatedRadiographicMagnificationFactor': order.magnification,
            'DistanceSourceToDetector': 1800,
            'DistanceSourceToPatient': round(1800 / order.magnification),
            'KVP': 125 if view == 'PA' else 110,
            'PresentationIntentType': 'FOR PRESENTATION',
            'PresentationLUTShape': 'IDENTITY',
            'BitsStored': 12,
            'WindowCenter': 1300,
            'WindowWidth': 2000,
        }
        yield Image(series, 1, to_stored(values, 4095), attributes)


def _pa(order: Order, rng: np.random.Generator) -> np.ndarray:
    rows, columns = order.rows, order.columns
    r, c = np.mgrid[0:rows, 0:columns].astype(np.float32)
    (hx0, level), (hx1, _) = order.marks['heart']
    (tx0, thorax_row), (tx1, _) = order.marks['thorax']
    middle = (tx0 + tx1) / 2
    half = (tx1 - tx0) / 2
    image = np.zeros((rows, columns), np.float32)
    image[ellipse(c, r, (middle, thorax_row + 60), (half + 55, rows * 0.62)) < 1] = 0.34  # torso
    image[(np.abs(c - middle) < 110) & (r < rows * 0.25)] = 0.32  # neck
    for side in (-1, 1):
        image[ellipse(c, r, (middle + side * (half - 40), rows * 0.2), (200, 80)) < 1] = 0.34  # shoulders
        image[ellipse(c, r, (middle + side * (half + 80), rows * 0.45), (60, 330)) < 1] = 0.4  # arms
    apex, dome = rows * 0.16, _domes(c, middle, half, rows)
    spread = np.clip((r - apex) / (thorax_row - apex), 0, 1) ** 0.45 * half
    lungs = (r > apex) & (r < dome) & (np.abs(c - middle) > 58) & (np.abs(c - middle) < spread)
    heart = ellipse(c, r, ((hx0 + hx1) / 2, level), ((hx1 - hx0) / 2, 150)) < 1
    lungs &= ~heart
    markings = _markings(rows, columns, middle=middle, level=level, rng=rng)
    image[lungs] -= 0.25
    image += np.where(lungs, markings, 0)
    image[heart] += 0.06
    image[r >= dome] += 0.1  # abdomen under the diaphragm
    image[ellipse(c, r, (middle + half * 0.45, rows * 0.8), (60, 32)) < 1] -= 0.12  # gastric bubble
    image[np.abs(c - middle) < 30] += 0.12  # spine through the mediastinum
    image += _ribs(rows, columns, middle, half, apex)
    clavicles = np.zeros((rows, columns), np.float32)
    for side in (-1, 1):
        inner, outer = (round(middle + side * 40), round(rows * 0.22)), (round(middle + side * 300), round(rows * 0.18))
        cv2.line(clavicles, inner, outer, 0.12, 18, cv2.LINE_AA)
    image += clavicles
    return image * (1 + 0.03 * rng.standard_normal((rows, columns)).astype(np.float32))


def _domes(c: np.ndarray, middle: float, half: float, rows: int) -> np.ndarray:
    """The diaphragm: each dome highest in the middle of its hemithorax, the right (image left) higher."""
    offset = np.abs(c - middle) / half
    right = c < middle
    return rows * (0.74 + 0.09 * (offset - 0.55) ** 2 * 4 + np.where(right, -0.02, 0.0))


def _ribs(rows: int, columns: int, middle: float, half: float, apex: float) -> np.ndarray:
    layer = np.zeros((rows, columns), np.float32)
    for index in range(10):
        top = apex + 30 + index * 52
        for side in (-1, 1):
            centre = (round(middle + side * 20), round(top + 70))
            axes = (round(half * 0.95), round(70 + index * 4))
            start, end = (180, 270) if side < 0 else (270, 360)
            cv2.ellipse(layer, centre, axes, 0, start, end, 0.085, 13, cv2.LINE_AA)  # posterior ribs
            cv2.ellipse(
                layer, (centre[0], centre[1] + 160), (axes[0], axes[1] + 40), 0, start, end, 0.035, 10, cv2.LINE_AA
            )  # fmt: skip - anterior ribs, fainter and lower
    return layer


def _markings(rows: int, columns: int, *, middle: float, level: float, rng: np.random.Generator) -> np.ndarray:
    """Pulmonary vessels: branches fanning out from either hilum, thinner towards the periphery."""
    layer = np.zeros((rows, columns), np.float32)
    for _ in range(70):
        side = rng.choice((-1, 1))
        x, y = middle + side * rng.uniform(70, 110), level - rng.uniform(40, 120)
        angle = rng.uniform(-1.9, 1.9) + (0 if side > 0 else np.pi)
        width = 7.0
        for _step in range(6):
            length = rng.uniform(30, 70)
            nx, ny = x + np.cos(angle) * length, y + np.sin(angle) * length
            cv2.line(layer, (round(x), round(y)), (round(nx), round(ny)), 0.05, max(1, round(width)), cv2.LINE_AA)
            x, y, width, angle = nx, ny, width * 0.7, angle + rng.normal(0, 0.3)
    return cv2.GaussianBlur(layer, (0, 0), 2.0)


def _lateral(order: Order, rng: np.random.Generator) -> np.ndarray:
    rows, columns = order.rows, order.columns
    r, c = np.mgrid[0:rows, 0:columns].astype(np.float32)
    image = np.zeros((rows, columns), np.float32)
    image[ellipse(c, r, (columns * 0.5, rows * 0.62), (columns * 0.36, rows * 0.6)) < 1] = 0.42
    dome = rows * (0.76 + 0.05 * ((c - columns * 0.5) / (columns * 0.3)) ** 2)
    lungs = (ellipse(c, r, (columns * 0.52, rows * 0.5), (columns * 0.3, rows * 0.38)) < 1) & (r < dome)
    heart = ellipse(c, r, (columns * 0.4, rows * 0.64), (columns * 0.16, rows * 0.14)) < 1
    image[lungs & ~heart] -= 0.2
    image[r >= dome] += 0.08
    spine = np.abs(c - columns * 0.78 + (r - rows * 0.5) * 0.05) < 34
    image += np.where(spine, 0.16 + 0.05 * (np.mod(r, 48) < 8), 0)  # vertebral bodies with their end plates
    image[np.abs(c - columns * 0.17 - (r - rows * 0.4) * 0.12) < 9] += 0.1  # sternum
    return image * (1 + 0.03 * rng.standard_normal((rows, columns)).astype(np.float32))
