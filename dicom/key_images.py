"""A report's key image with the frame's annotations drawn on it (arrows and text labels, domain.annotations).

The frame is rendered as the viewer first shows it (render.render_png's window and scale); the annotations are
drawn over it in yellow with a dark outline, so they read on bright and dark tissue alike. The arrowhead is the
one the presentation state carries (dicom.gsps.arrow_head), so the printed picture and other viewers agree.
"""

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from domain.annotations import ARROW, AnnotationView

from . import render
from .gsps import arrow_head

FONT_FILES = (
    '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',  # fonts-dejavu-core (Dockerfile): Latin, Cyrillic, Greek
    'DejaVuSans.ttf',
)
COLOUR, OUTLINE = (255, 235, 59), (0, 0, 0)


def annotated_png(file_path: Path, frame: int, annotations: Sequence[AnnotationView], *, max_edge: int = 1024) -> bytes:
    """A PNG of the frame fitting `max_edge`, with its annotations drawn on it (the plain frame without any)."""
    if not annotations:
        return render.render_png(file_path, frame, max_edge=max_edge)
    decoded = render.decode(file_path, frame)
    columns = decoded.values.shape[1]
    fitted = render.fit(decoded.values, (max_edge, max_edge))
    image = render.to_8bit(fitted, decoded)
    scale = fitted.shape[1] / columns if columns else 1.0
    picture = Image.fromarray(np.ascontiguousarray(image)).convert('RGB')
    draw(picture, annotations, scale)
    buffer = io.BytesIO()
    picture.save(buffer, format='PNG')
    return buffer.getvalue()


def draw(picture: Image.Image, annotations: Sequence[AnnotationView], scale: float) -> None:
    """Draw arrows and labels (image pixel coordinates times `scale`) onto an RGB picture."""
    pen = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 300))
    font = _font(max(12, round(max(picture.size) / 40)))
    for row in annotations:
        points = [(x * scale, y * scale) for x, y in row.points]
        if row.kind == ARROW:
            tail, head = row.points
            wings = [(x * scale, y * scale) for x, y in arrow_head(tail, head)]
            for line in (points, wings):
                pen.line(line, fill=OUTLINE, width=width + 2, joint='curve')
                pen.line(line, fill=COLOUR, width=width, joint='curve')
        if row.text:
            x, y = points[0]
            pen.text((x + 4, y - 4), row.text, fill=COLOUR, font=font, anchor='ls', stroke_width=2, stroke_fill=OUTLINE)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)
