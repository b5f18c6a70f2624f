"""Pixel checks on the viewer's canvas in real chromium: read what a viewport shows and find shapes in it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import WAIT_S

# Luminance of every `step`-th CSS pixel of the viewport's canvas, with the slice the canvas drew last, read in
# one script so that the picture and its data-index belong together even while cine is playing.
_READ = """
const [el, step] = arguments;
const canvas = el.querySelector('canvas');
const ratio = canvas.width / Math.max(1, el.getBoundingClientRect().width);
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const rows = [];
for (let y = 0; y < canvas.height; y += step * ratio) {
  const row = [];
  for (let x = 0; x < canvas.width; x += step * ratio) {
    const i = (Math.floor(y) * canvas.width + Math.floor(x)) * 4;
    row.push(Math.round(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]));
  }
  rows.push(row);
}
const r = el.getBoundingClientRect();
const index = el.dataset.index === undefined ? -1 : +el.dataset.index;
return {rows, width: r.width, height: r.height, index, drawn: +(el.dataset.drawn || 0)};
"""


@dataclass(frozen=True)
class Box:
    """A rectangle in CSS pixels of the viewport: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def inset(self, fraction: float) -> 'Box':
        """The same box shrunk by `fraction` of its size on every side (away from blurred edges)."""
        dx, dy = self.width * fraction, self.height * fraction
        return Box(self.left + dx, self.top + dy, self.right - dx, self.bottom - dy)


@dataclass(frozen=True)
class Snapshot:
    """What one viewport showed: luminance 0–255 sampled every `step` CSS pixels, and its slice index."""

    pixels: np.ndarray
    step: int
    index: int
    drawn: int
    width: float  # CSS pixels
    height: float

    def mean(self, box: Box) -> float:
        """The mean luminance inside a box."""
        s = self.step
        part = self.pixels[int(box.top // s) : int(box.bottom // s) + 1, int(box.left // s) : int(box.right // s) + 1]
        return float(part.mean()) if part.size else -1.0

    def bright_box(self, threshold: int = 240) -> Box | None:
        """The bounding box of the pixels at least `threshold` bright, or None when there are none."""
        ys, xs = np.nonzero(self.pixels >= threshold)
        if not len(xs):
            return None
        s = self.step
        return Box(float(xs.min() * s), float(ys.min() * s), float((xs.max() + 1) * s), float((ys.max() + 1) * s))

    def fitted(self, columns: int, rows: int, region: tuple[int, int, int, int]) -> Box:
        """Where image pixels (left, top, right, bottom) are drawn when the image is fitted, unturned and centred."""
        scale = min(self.width / columns, self.height / rows)
        x0, y0 = self.width / 2 - columns * scale / 2, self.height / 2 - rows * scale / 2
        left, top, right, bottom = region
        return Box(x0 + left * scale, y0 + top * scale, x0 + right * scale, y0 + bottom * scale)

    def describe(self) -> str:
        return f'index {self.index}, drawn {self.drawn}, {self.width:.0f}x{self.height:.0f}, bright {self.bright_box()}'


def snapshot(browser: Any, element: Any, step: int = 3) -> Snapshot:
    """Read the pixels the viewport's canvas shows now."""
    found = browser.execute_script(_READ, element, step)
    return Snapshot(
        np.array(found['rows'], dtype=np.uint8),
        step,
        int(found['index']),
        int(found['drawn']),
        float(found['width']),
        float(found['height']),
    )


def wait_for_picture(
    browser: Any, element: Any, condition: Callable[[Snapshot], bool], what: str, *, timeout: float = WAIT_S
) -> Snapshot:
    """The first snapshot of the viewport that meets `condition`; fails with the last one seen after `timeout`."""
    seen: list[Snapshot] = []

    def check(_: Any) -> Snapshot | Literal[False]:
        shot = snapshot(browser, element)
        seen[:] = [shot]
        return shot if condition(shot) else False

    try:
        found: Snapshot = WebDriverWait(browser, timeout, poll_frequency=0.1).until(check)
    except TimeoutException:
        last = seen[0].describe() if seen else '-'
        raise AssertionError(f'waited {timeout:.0f} s for {what}; last seen: {last}') from None
    return found


def near(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance


def wheel(browser: Any, element: Any, delta: int) -> None:
    """One wheel step over the element, as the browser would send it."""
    browser.execute_script(
        "arguments[0].dispatchEvent(new WheelEvent('wheel', {deltaY: arguments[1], bubbles: true, cancelable: true}));",
        element,
        delta,
    )


def pointer(browser: Any, element: Any, kind: str, x: float, y: float) -> None:
    """A primary-button pointer event at (x, y) CSS pixels from the element's top left corner."""
    browser.execute_script(
        """
        const [el, kind, x, y] = arguments;
        const r = el.getBoundingClientRect();
        el.dispatchEvent(new PointerEvent(kind, {bubbles: true, clientX: r.left + x, clientY: r.top + y,
            button: 0, buttons: kind === 'pointerup' ? 0 : 1, pointerId: 9, isPrimary: true}));
        """,
        element,
        kind,
        x,
        y,
    )
