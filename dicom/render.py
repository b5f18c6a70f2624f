"""Frames as a viewer shows them: decode, modality LUT, VOI window, MONOCHROME1, colour, scale, encode.

Pure functions on plain arguments (a file path, a frame number, a window), so the frame endpoint, the
thumbnail actor and the report's key images all draw an image the same way. Frame numbers are 1-based
as in DICOMweb. The pipeline follows PS3.3 C.11 (modality LUT, VOI LUT, presentation LUT shape
implied by MONOCHROME1) and PS3.18 8.3.5 (rendered media types, window, viewport, quality).
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut
from pydicom.pixels.utils import iter_pixels, pixel_array

from domain.errors import InvalidInput

from . import storage

log = logging.getLogger(__name__)


def _expected_decoder_failure(record: logging.LogRecord) -> bool:
    """pydicom logs each plugin's failure at ERROR; for us an undecodable image is a refused request (WARNING)."""
    if record.levelno >= logging.ERROR:
        record.levelno, record.levelname = logging.WARNING, 'WARNING'
    return True


logging.getLogger('pydicom.pixels.decoders.base').addFilter(_expected_decoder_failure)

FUNCTIONS = ('LINEAR', 'LINEAR_EXACT', 'SIGMOID')
MEDIA_TYPES = {'jpeg': 'image/jpeg', 'png': 'image/png', 'webp': 'image/webp'}
MAX_EDGE = 8192  # the largest viewport or output edge we render


class RenderError(Exception):
    """The pixels of this file or frame cannot be shown; the message says why, for staff."""


class FrameOutOfRange(RenderError):
    """The frame number is not in the file."""


@dataclass(frozen=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2): centre and width in modality units, and the function."""

    center: float
    width: float
    function: str = 'LINEAR'

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f'window function must be one of {", ".join(FUNCTIONS)}')
        if not np.isfinite(self.center) or not np.isfinite(self.width):
            raise ValueError('window centre and width must be numbers')
        if self.width < (1 if self.function == 'LINEAR' else 0) or self.width == 0:
            raise ValueError('window width must be at least 1 (greater than 0 for LINEAR_EXACT and SIGMOID)')


@dataclass(frozen=True)
class Frame:
    """One decoded frame: grey values after the modality LUT (float32), or 8-bit RGB."""

    values: np.ndarray
    colour: bool
    monochrome1: bool
    windows: tuple[Window, ...]  # the file's own windows, first is the default
    natural: Window | None  # the identity window of plain 8-bit grey images without a window
    number_of_frames: int

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)

    @property
    def default_window(self) -> Window | None:
        """The file's window, or the natural one; None for colour (shown as stored)."""
        if self.colour:
            return None
        if self.windows:
            return self.windows[0]
        return self.natural or auto_window(self.values)


# ---------------------------------------------------------------- the high-level calls


def thumbnail(file_path: Path, edge: int = 256) -> bytes:
    """A PNG of the image as a viewer first shows it (middle frame of a multi-frame), fitting `edge`."""
    frames = number_of_frames(file_path)
    return render_png(file_path, frames // 2 + 1 if frames > 1 else 1, max_edge=edge)


def render_png(file_path: Path, frame: int = 1, window: Window | None = None, max_edge: int = 1024) -> bytes:
    """A PNG of one frame with the given (or the file's default) window, fitting a square of `max_edge`."""
    return render(decode(file_path, frame), window=window, viewport=(max_edge, max_edge), media='png')


def render(
    frame: Frame,
    *,
    window: Window | None = None,
    viewport: tuple[int, int] | None = None,
    media: str = 'jpeg',
    quality: int = 90,
    invert: bool = False,
) -> bytes:
    """Encode a decoded frame as JPEG, PNG or WebP, windowed and scaled down to fit the viewport."""
    values = frame.values
    if viewport is not None:
        values = fit(values, viewport)
    image = to_8bit(values, frame, window)
    if invert:
        image = 255 - image
    return encode(image, media, quality)


def decode(file_path: Path, frame: int = 1) -> Frame:
    """Decode one frame (1-based) and apply the modality LUT; colour and palette images become RGB."""
    with _open(file_path) as reader:
        header = read_header(reader)
        frames = _frames_in(header)
        if not 1 <= frame <= frames:
            raise FrameOutOfRange(f'frame {frame} is not in this image (it has {frames})')
        index = frame - 1 if frames > 1 else None
        try:
            array = pixel_array(reader, index=index)
        except Exception as error:  # every decoder raises its own kind; all mean the same to the reader
            array = _decode_leniently(reader, index, error)
    return _prepare(array, header, frame, frames)


def decode_all(file_path: Path) -> Iterator[Frame]:
    """Every frame of the file in order (cine prefetch decodes a loop in one pass)."""
    with _open(file_path) as reader:
        header = read_header(reader)
        frames = _frames_in(header)
        try:
            for number, array in enumerate(iter_pixels(reader), start=1):
                yield _prepare(array, header, number, frames)
        except Exception as error:
            raise RenderError(f'the pixel data cannot be decoded: {_reason(error)}') from error


def read_header(file_path: Path | BinaryIO) -> Dataset:
    """The dataset without its pixel data (from a stored file's path, or from a file `storage` opened)."""
    if not hasattr(file_path, 'read'):
        with _open(cast(Path, file_path)) as reader:
            return read_header(reader)
    reader = cast(BinaryIO, file_path)
    try:
        reader.seek(0)
        return pydicom.dcmread(reader, stop_before_pixels=True, force=True)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise RenderError(f'the file cannot be read as DICOM: {_reason(error)}') from error


def number_of_frames(file_path: Path) -> int:
    """How many frames the image has."""
    return _frames_in(read_header(file_path))


# ---------------------------------------------------------------- the steps


def to_8bit(values: np.ndarray, frame: Frame, window: Window | None = None) -> np.ndarray:
    """Apply the VOI window (grey) or scale (colour) and MONOCHROME1 inversion: uint8 out."""
    if frame.colour:
        image = values if window is None else apply_window(values, window)
        return image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
    image = apply_window(values, window or frame.default_window or auto_window(values))
    return 255 - image if frame.monochrome1 else image


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Map modality values to 0..255 with LINEAR, LINEAR_EXACT or SIGMOID (PS3.3 C.11.2.1.2)."""
    x = values.astype(np.float32, copy=False)
    c, w = np.float32(window.center), np.float32(window.width)
    if window.function == 'SIGMOID':
        y = 255.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    elif window.function == 'LINEAR_EXACT':
        y = ((x - c) / w + np.float32(0.5)) * np.float32(255.0)
    elif w <= 1:
        y = np.where(x <= c - 0.5, np.float32(0), np.float32(255))
    else:
        y = ((x - (c - np.float32(0.5))) / (w - 1) + np.float32(0.5)) * np.float32(255.0)
    grey: np.ndarray = np.rint(np.clip(y, 0, 255, out=y if y.dtype == np.float32 else None)).astype(np.uint8)
    return grey


def auto_window(values: np.ndarray) -> Window:
    """A robust window from the 0.5th to the 99.5th percentile of the image (colour: full range)."""
    sample = values[:: max(1, values.shape[0] // 256), :: max(1, values.shape[1] // 256)]
    sample = sample[np.isfinite(sample)] if sample.dtype.kind == 'f' else sample.ravel()
    if sample.size == 0:
        return Window(0.5, 1.0, 'LINEAR_EXACT')
    low, high = (float(v) for v in np.percentile(sample, [0.5, 99.5]))
    if high <= low:
        high = low + 1.0
    return Window((low + high) / 2, high - low, 'LINEAR_EXACT')


def fit(values: np.ndarray, viewport: tuple[int, int]) -> np.ndarray:
    """Scale down (never up) to fit inside a width × height viewport, keeping the aspect ratio."""
    width, height = viewport
    rows, columns = values.shape[:2]
    scale = min(width / columns, height / rows)
    if scale >= 1:
        return values
    size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
    source = values if values.dtype in (np.uint8, np.float32) else values.astype(np.float32)
    return cv2.resize(source, size, interpolation=cv2.INTER_AREA)


def encode(image: np.ndarray, media: str = 'jpeg', quality: int = 90) -> bytes:
    """JPEG, PNG or WebP bytes of an 8-bit grey or RGB image (same input, same bytes)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    image = np.ascontiguousarray(image)
    if media == 'jpeg':
        ok, data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif media == 'png':
        ok, data = cv2.imencode('.png', image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    elif media == 'webp':
        ok, data = cv2.imencode('.webp', image, [cv2.IMWRITE_WEBP_QUALITY, max(1, int(quality))])
    else:
        raise ValueError(f'unknown media type {media}')
    if not ok:
        raise RenderError(f'the image could not be encoded as {media}')
    return data.tobytes()


# ---------------------------------------------------------------- a small cache of decoded frames


class FrameCache:
    """Decoded frames by (file, frame), least recently used first out, bounded by bytes."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[tuple[str, int], Frame] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, file_path: Path, frame: int = 1) -> Frame:
        """The decoded frame, from the cache or decoded now (a cine loop is decoded in one pass)."""
        key = (str(file_path), frame)
        with self._lock:
            found = self._frames.get(key)
            if found is not None:
                self._frames.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        decoded = decode(file_path, frame)
        self.put(key, decoded)
        return decoded

    def prefetch_all(self, file_path: Path) -> int:
        """Decode every frame of a multi-frame file into the cache when it fits; returns the frames added."""
        added = 0
        for number, decoded in enumerate(decode_all(file_path), start=1):
            if decoded.nbytes * decoded.number_of_frames > self.max_bytes // 2:
                break
            self.put((str(file_path), number), decoded)
            added += 1
        return added

    def put(self, key: tuple[str, int], frame: Frame) -> None:
        with self._lock:
            if key in self._frames:
                return
            self._frames[key] = frame
            self._bytes += frame.nbytes
            while self._bytes > self.max_bytes and len(self._frames) > 1:
                _, dropped = self._frames.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0


# ---------------------------------------------------------------- private helpers


def _prepare(array: np.ndarray, header: Dataset, frame: int, frames: int) -> Frame:
    photometric = str(header.get('PhotometricInterpretation', 'MONOCHROME2')).strip().upper()
    samples = int(header.get('SamplesPerPixel', 1) or 1)
    if photometric == 'PALETTE COLOR':
        rgb = apply_color_lut(array, header)
        return Frame(_rgb8(rgb, 16 if rgb.dtype != np.uint8 else 8), True, False, (), None, frames)
    if samples > 1 or array.ndim == 3:
        # pydicom converts YBR_FULL / YBR_FULL_422 to RGB while decoding (as_rgb defaults to True).
        return Frame(_rgb8(array, int(header.get('BitsStored', 8) or 8)), True, False, (), None, frames)
    if 'ModalityLUTSequence' in header and 'RescaleSlope' not in header:
        values = apply_modality_lut(array, header).astype(np.float32)
        return Frame(values, False, photometric == 'MONOCHROME1', file_windows(header, frame), None, frames)
    slope, intercept = _rescale(header, frame)
    values = array.astype(np.float32)
    if slope != 1.0:
        values *= np.float32(slope)
    if intercept != 0.0:
        values += np.float32(intercept)
    windows = file_windows(header, frame)
    bits = int(header.get('BitsStored', 16) or 16)
    natural = (
        Window(127.5, 255.0, 'LINEAR_EXACT')
        if bits <= 8 and (slope, intercept) == (1.0, 0.0) and not int(header.get('PixelRepresentation', 0) or 0)
        else None
    )
    return Frame(values, False, photometric == 'MONOCHROME1', windows, natural, frames)


def _open(file_path: Path) -> BinaryIO:
    """The stored file through storage (decrypted when sealed); a missing file stays FileNotFoundError."""
    try:
        return storage.open_path(Path(file_path))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, InvalidInput) as error:  # a folder, no permission, a sealed file that won't open
        raise RenderError(f'the file cannot be read as DICOM: {_reason(error)}') from error


def _decode_leniently(reader: BinaryIO, index: int | None, error: Exception) -> np.ndarray:
    """Second try for files without a meta header (implicit VR little endian); else a clear reason."""
    if isinstance(error, FileNotFoundError):
        raise error
    try:
        reader.seek(0)
        dataset = pydicom.dcmread(reader, force=True)
    except Exception:
        dataset = None
    if dataset is None or ('PixelData' not in dataset and 'FloatPixelData' not in dataset):
        raise RenderError('this object holds no image (for example a report or a waveform)') from error
    if 'TransferSyntaxUID' not in dataset.file_meta:
        dataset.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    try:
        return pixel_array(dataset, index=index)
    except Exception as second:
        raise RenderError(f'the pixel data cannot be decoded: {_reason(error)}') from second


def _rgb8(array: np.ndarray, bits: int) -> np.ndarray:
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    shift = max(0, min(bits, array.dtype.itemsize * 8) - 8)
    return np.ascontiguousarray((array >> shift).clip(0, 255).astype(np.uint8))


def _frames_in(header: Dataset) -> int:
    try:
        return max(1, int(header.get('NumberOfFrames', 1) or 1))
    except (TypeError, ValueError):
        return 1


def _functional(header: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The item of a functional group macro for this frame (enhanced multi-frame objects, PS3.3 C.7.6.16)."""
    for groups, index in (('PerFrameFunctionalGroupsSequence', frame - 1), ('SharedFunctionalGroupsSequence', 0)):
        items = header.get(groups)
        if items and len(items) > index and sequence in items[index] and items[index][sequence].value:
            item: Dataset = items[index][sequence].value[0]
            return item
    return None


def _rescale(header: Dataset, frame: int) -> tuple[float, float]:
    source: Any = (
        header
        if 'RescaleSlope' in header or 'RescaleIntercept' in header
        else _functional(header, frame, 'PixelValueTransformationSequence')
    )
    if source is None:
        return 1.0, 0.0
    try:
        return float(source.get('RescaleSlope', 1) or 1), float(source.get('RescaleIntercept', 0) or 0)
    except (TypeError, ValueError):
        return 1.0, 0.0


def file_windows(header: Dataset, frame: int) -> tuple[Window, ...]:
    """The windows the file suggests for a frame (its own, or its functional groups'), in order."""
    source: Any = header if 'WindowCenter' in header else _functional(header, frame, 'FrameVOILUTSequence')
    if source is None or 'WindowCenter' not in source or 'WindowWidth' not in source:
        return ()
    centers, widths = _many(source.WindowCenter), _many(source.WindowWidth)
    function = str(source.get('VOILUTFunction', 'LINEAR') or 'LINEAR').strip().upper()
    found = []
    for center, width in zip(centers, widths, strict=False):
        try:
            found.append(Window(float(center), float(width), function if function in FUNCTIONS else 'LINEAR'))
        except (TypeError, ValueError):
            continue
    return tuple(found)


def _many(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | pydicom.multival.MultiValue) else [value]


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]
