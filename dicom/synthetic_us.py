"""Synthetic ultrasound: an abdominal cine and obstetric biometry planes, with a calibrated region.

Each view is an echogenicity map in millimetres (lateral X, depth Y from the transducer) shown through a
sector: Rayleigh speckle that moves with the tissue, log compression, acoustic enhancement behind fluid
and shadow behind bone. The Sequence of Ultrasound Regions gives the sector's box and its physical size per
pixel in centimetres (PS3.3 C.8.5.5), which is what the viewer measures with.
"""

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from domain.demo_studies import Order

from .synthetic_image import Image, ellipse

US_IMAGE = '1.2.840.10008.5.1.4.1.1.6.1'
US_MULTIFRAME = '1.2.840.10008.5.1.4.1.1.3.1'
HALF_ANGLE = np.radians(36)
APEX_ROW = 30
FRAME_MS = 50  # 20 frames a second
EchoMap = Callable[[np.ndarray, np.ndarray], np.ndarray]


def abdomen(order: Order, rng: np.random.Generator) -> Iterator[Image]:
    """A breathing cine through the liver, gallbladder and right kidney, then a still of the kidney."""
    sector = Sector(order, rng)
    frames = []
    for frame in range(order.slices):
        phase = 2 * np.pi * frame / order.slices
        dx, dy = 2.0 * np.sin(phase), 7.0 * np.sin(phase)  # the organs slide with breathing; the wall stays
        frames.append(sector.draw(partial(_abdomen, dx=dx, dy=dy), shift=(dx, dy)))
    yield Image(1, 1, np.stack(frames), sector.attributes(US_MULTIFRAME, 'RUQ CINE', cine=True))
    still = sector.draw(partial(_abdomen, dx=18.0, dy=-12.0), shift=(18.0, -12.0))
    yield Image(2, 1, still, sector.attributes(US_IMAGE, 'RIGHT KIDNEY'))


def obstetric(order: Order, rng: np.random.Generator) -> Iterator[Image]:
    """The three biometry planes: the head (BPD, HC), the abdomen (AC) and the femur (FL)."""
    sector = Sector(order, rng)
    views: tuple[tuple[str, EchoMap], ...] = (
        ('BPD HC', lambda x, y: _fetal_head(x, y, sector.box(order.marks['head']))),
        ('AC', lambda x, y: _fetal_abdomen(x, y, sector.box(order.marks['abdomen']))),
        ('FL', lambda x, y: _femur(x, y, sector.line(order.marks['femur']))),
    )
    for number, (name, echoes) in enumerate(views, start=1):
        yield Image(1, number, sector.draw(echoes), sector.attributes(US_IMAGE, name))


class Sector:
    """A curved probe's sector on the image: its pixel geometry, its speckle, and how a map becomes pixels."""

    def __init__(self, order: Order, rng: np.random.Generator) -> None:
        self.order, self.rng, self.px = order, rng, order.pixel_mm
        self.rows, self.columns = order.rows, order.columns
        self.apex = (self.columns / 2, APEX_ROW)
        r, c = np.mgrid[0 : self.rows, 0 : self.columns].astype(np.float32)
        self.x, self.y = (c - self.apex[0]) * self.px, (r - self.apex[1]) * self.px
        depth, angle = np.hypot(self.x, self.y), np.arctan2(self.x, self.y)
        self.depth_mm = (self.rows - APEX_ROW - 20) * self.px
        self.inside = (depth > 8) & (depth < self.depth_mm) & (np.abs(angle) < HALF_ANGLE)
        self.gain = (1.0 - 0.25 * depth / self.depth_mm).astype(np.float32)  # what time-gain compensation leaves
        pad = 64  # room for the tissue to move (breathing, the probe moved to the kidney)
        field = rng.normal(size=(2, self.rows + 2 * pad, self.columns + 2 * pad)).astype(np.float32)
        field = np.stack([cv2.GaussianBlur(f, (0, 0), sigmaX=2.2, sigmaY=0.9) for f in field])
        speckle = np.hypot(field[0], field[1])
        self.speckle, self.pad = speckle / speckle.mean(), pad  # Rayleigh speckle of mean 1

    def box(self, mark: tuple[tuple[float, float], tuple[float, float]]) -> tuple[float, float, float, float]:
        """A mark's bounding box in millimetres: centre x, centre y, half width, half height."""
        (c0, r0), (c1, r1) = mark
        x0, x1 = (c0 - self.apex[0]) * self.px, (c1 - self.apex[0]) * self.px
        y0, y1 = (r0 - self.apex[1]) * self.px, (r1 - self.apex[1]) * self.px
        return (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2

    def line(self, mark: tuple[tuple[float, float], tuple[float, float]]) -> tuple[float, float, float, float]:
        """A mark's two ends in millimetres."""
        (c0, r0), (c1, r1) = mark
        x0, x1 = (c0 - self.apex[0]) * self.px, (c1 - self.apex[0]) * self.px
        return x0, (r0 - self.apex[1]) * self.px, x1, (r1 - self.apex[1]) * self.px

    def draw(self, echoes: EchoMap, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """One frame: the map through speckle (moved with the tissue), gain and log compression, 8-bit."""
        sx, sy = round(shift[0] / self.px), round(shift[1] / self.px)
        p = self.pad
        speckle = self.speckle[p - sy : p - sy + self.rows, p - sx : p - sx + self.columns]
        speckle = 0.85 * speckle + 0.15 * self.rng.rayleigh(0.8, speckle.shape).astype(np.float32)  # mean 1 too
        signal = echoes(self.x, self.y) * speckle * self.gain
        image = 255 * np.log1p(12 * signal) / np.log1p(12 * 2.2)
        image[~self.inside] = 0
        self._depth_ticks(image)
        frame: np.ndarray = np.clip(image, 0, 255).astype(np.uint8)
        return frame

    def attributes(self, sop_class: str, description: str, *, cine: bool = False) -> dict[str, Any]:
        """The header of an image of this sector: its calibrated region and, for a cine, the frame timing."""
        region = Dataset()
        region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags = 1, 1, 0
        reach = self.depth_mm / self.px
        region.RegionLocationMinX0 = max(0, int(self.apex[0] - reach * np.sin(HALF_ANGLE)))
        region.RegionLocationMinY0 = APEX_ROW
        region.RegionLocationMaxX1 = min(self.columns - 1, int(self.apex[0] + reach * np.sin(HALF_ANGLE)) + 1)
        region.RegionLocationMaxY1 = min(self.rows - 1, int(APEX_ROW + reach) + 1)
        region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
        region.ReferencePixelX0, region.ReferencePixelY0 = int(self.apex[0]), APEX_ROW
        region.ReferencePixelPhysicalValueX = region.ReferencePixelPhysicalValueY = 0.0
        region.PhysicalDeltaX = region.PhysicalDeltaY = self.px / 10
        attributes: dict[str, Any] = {
            'SOPClassUID': sop_class,
            'Modality': 'US',
            'SeriesDescription': description,
            'BodyPartExamined': 'ABDOMEN',
            'LossyImageCompression': '00',
            'BurnedInAnnotation': 'NO',
            'SequenceOfUltrasoundRegions': Sequence([region]),
        }
        if cine:
            attributes |= {'FrameTime': FRAME_MS, 'CineRate': 1000 // FRAME_MS, 'FrameIncrementPointer': 0x00181063}
        return attributes

    def _depth_ticks(self, image: np.ndarray) -> None:
        """A dot every centimetre of depth beside the sector, as scanners draw their depth scale."""
        column = int(self.apex[0] + (self.depth_mm / self.px) * np.sin(HALF_ANGLE)) + 8
        for cm in range(1, int(self.depth_mm // 10) + 1):
            row = round(APEX_ROW + cm * 10 / self.px)
            image[row - 1 : row + 2, min(column, self.columns - 3) : min(column, self.columns - 3) + 3] = 220


# ---------------------------------------------------------------- the views (x lateral, y depth, in mm)


def _wall(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    echo = np.full(x.shape, 0.42, np.float32)
    echo[y < 22] = 0.3  # subcutaneous fat and muscle
    for depth in (4.0, 12.0, 21.0):
        echo[np.abs(y - depth - 0.002 * x**2) < 0.8] = 1.2  # fascial planes
    return echo


def _abdomen(x: np.ndarray, y: np.ndarray, *, dx: float, dy: float) -> np.ndarray:
    echo = _wall(x, y)
    u, v = x - dx, y - dy  # the organs' own coordinates, moving with breathing
    deep = y > 22
    liver = deep & (v < 122 + 0.002 * u**2)
    echo[liver] = (0.5 + 0.04 * np.sin(u / 7) * np.cos(v / 9))[liver]
    for cx, cy, rx, ry in ((-12, 68, 6, 5), (14, 44, 3.5, 3), (-32, 52, 4, 3.5), (6, 92, 3, 2.5)):
        vessel = ellipse(u, v, (cx, cy), (rx, ry))
        echo[deep & (vessel < 1.25) & (vessel >= 1)] = 0.95  # portal walls are bright
        echo[deep & (vessel < 1)] = 0.02
    gallbladder = ellipse(u, v, (26, 58), (21, 11))
    enhancement = deep & (np.abs(u - 26) < 18) & (v > 62) & (v < 110)
    echo[enhancement] *= 1.35  # acoustic enhancement behind the fluid
    echo[deep & (gallbladder < 1)] = 0.015
    kidney = ellipse(u, v, (-18, 104), (44, 21))
    echo[deep & (kidney < 1)] = 0.3
    echo[deep & (ellipse(u, v, (-18, 104), (26, 8)) < 1)] = 0.85  # renal sinus fat
    echo[deep & (np.abs(v - 124 - 0.002 * u**2) < 1.5)] = 1.4  # the diaphragm
    echo[deep & (v > 125.5 + 0.002 * u**2)] = 0.25
    return echo


def _uterus(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    echo = _wall(x, y)
    echo[(y > 22) & (y < 30)] = 0.45  # myometrium
    placenta = (y >= 30) & (y < 40) & (x > -40)
    echo[placenta] = (0.6 + 0.05 * np.sin(x / 3))[placenta]  # anterior placenta
    echo[y >= 40] = 0.03  # amniotic fluid
    echo[y > 112] = 0.45
    return echo


def _fetal_head(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    cx, cy, a, b = box
    echo = _uterus(x, y)
    skull = ellipse(x, y, (cx, cy), (a, b))
    echo[skull < 1] = 0.12
    echo[(skull < 1) & (skull > 1 - 2.6 / b)] = 1.6  # the calvarium, outer edge on the mark
    inside = skull < 1 - 2.6 / b
    echo[inside & (np.abs(y - cy) < 0.6)] = 0.7  # midline echo (falx)
    echo[inside & (ellipse(x, y, (cx - a * 0.38, cy), (a * 0.12, b * 0.12)) < 1)] = 0.03  # cavum septi pellucidi
    for side in (-1, 1):
        echo[inside & (ellipse(x, y, (cx + a * 0.05, cy + side * b * 0.22), (a * 0.2, b * 0.16)) < 1)] = 0.06  # thalami
    echo[(y > cy + b) & (np.abs(x - cx) < a * 0.8)] *= 0.55  # the skull's shadow
    return echo


def _fetal_abdomen(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    cx, cy, a, b = box
    echo = _uterus(x, y)
    body = ellipse(x, y, (cx, cy), (a, b))
    echo[body < 1] = 0.34
    echo[(body < 1) & (body > 1 - 1.2 / b)] = 0.8  # skin line
    echo[ellipse(x, y, (cx - a * 0.35, cy - b * 0.1), (a * 0.22, b * 0.18)) < 1] = 0.02  # stomach
    echo[ellipse(x, y, (cx + a * 0.1, cy - b * 0.25), (a * 0.3, b * 0.07)) < 1] = 0.03  # umbilical vein
    for offset in (-0.22, 0.0, 0.22):  # the spine's ossification centres, and their shadow
        echo[ellipse(x, y, (cx + a * offset * 0.6, cy + b * 0.72 + abs(offset) * b * 0.3), (2.2, 2.2)) < 1] = 1.7
    echo[(y > cy + b * 0.8) & (np.abs(x - cx) < a * 0.25)] *= 0.4
    return echo


def _femur(x: np.ndarray, y: np.ndarray, line: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = line
    echo = _uterus(x, y)
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2
    echo[ellipse(x, y, (cx, cy), (half + 9, 11)) < 1] = 0.32  # the thigh
    bone = (np.abs(y - cy) < 1.3) & (np.abs(x - cx) <= half)
    echo[bone] = 1.8
    echo[(y > cy + 1.3) & (np.abs(x - cx) <= half)] *= 0.35  # acoustic shadow
    return echo
