"""What the viewer asks of a stored image, by its path in the storage layout: header facts, the tag listing,
ROI figures and an automatic window. Plain arguments and plain answers, for `run.io_bound` from the screen.

A file that cannot be read answers a problem code instead of raising (`MISSING`, `UNREADABLE`), so the
screen shows a placeholder in the reader's language and the rest of the study stays usable.
"""

import logging
from typing import Any

from . import facts, render, storage, wado

log = logging.getLogger(__name__)

MISSING, UNREADABLE = 'missing', 'unreadable'


def describe(file_path: str) -> dict[str, Any]:
    """The header facts of a stored image, or {'problem': MISSING | UNREADABLE, 'detail': why} if it cannot be read."""
    try:
        return facts.describe(storage.absolute(file_path))
    except FileNotFoundError:
        log.warning('the file of an indexed image is missing: %s', file_path)
        return {'problem': MISSING, 'detail': ''}
    except (render.RenderError, ValueError) as error:
        return {'problem': UNREADABLE, 'detail': str(error)}


def tag_rows(file_path: str) -> list[dict[str, Any]] | str:
    """Every element of the header for the tag browser, or why the file cannot be read."""
    try:
        return facts.tag_rows(storage.absolute(file_path))
    except (OSError, render.RenderError) as error:
        return str(error)


def roi_stats(file_path: str, frame: int, kind: str, points: list[list[float]]) -> dict[str, Any]:
    """Mean, SD, min, max and pixel count of the values inside an ellipse or rectangle on one frame."""
    return facts.roi_stats(wado.frames.get(storage.absolute(file_path), frame), kind, points)


def auto_window(file_path: str, frame: int) -> tuple[float, float] | None:
    """A window (centre, width) fitted to the frame's values; None for a colour image, which has no window."""
    decoded = wado.frames.get(storage.absolute(file_path), frame)
    if decoded.colour:
        return None
    found = render.auto_window(decoded.values)
    return found.center, found.width
