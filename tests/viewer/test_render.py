"""The renderer: known pixel values through each photometric interpretation, rescale and window, and real files."""

import hashlib
import os
from pathlib import Path

import cv2
import data_store
import numpy as np
import pydicom.data
import pytest

from dicom import render
from dicom.render import Window

from .synthetic import SECONDARY_CAPTURE, US_MULTIFRAME, write_image

PYDICOM_FILES = Path(pydicom.data.__file__).parent / 'test_files'
DATA_STORE = Path(data_store.__file__).parent / 'data'


def _grey(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)


def test_rescale_slope_and_intercept_give_hounsfield_units(tmp_path: Path) -> None:
    pixels = np.array([[0, 1024], [2048, 4095]], np.uint16)
    path = write_image(tmp_path / 'ct.dcm', pixels, RescaleSlope=1, RescaleIntercept=-1024, BitsStored=12)
    frame = render.decode(path)
    assert frame.values.tolist() == [[-1024, 0], [1024, 3071]]


def test_a_linear_window_follows_the_standard_formula(tmp_path: Path) -> None:
    values = np.array([[-200, -199.5, 0], [199, 199.5, 400]], np.float32)
    out = render.apply_window(values, Window(0, 400, 'LINEAR'))
    # PS3.3 C.11.2.1.2.1: below c - 0.5 - (w-1)/2 is black, above c - 0.5 + (w-1)/2 is white.
    expected = np.clip(((values + 0.5) / 399 + 0.5) * 255, 0, 255)
    assert out.tolist() == np.rint(expected).astype(np.uint8).tolist()
    assert out[0, 0] == 0 and out[1, 2] == 255 and out[0, 2] == 128


def test_linear_exact_and_sigmoid_windows_map_the_centre_to_mid_grey() -> None:
    values = np.array([[100, 50, 150]], np.float32)
    assert render.apply_window(values, Window(100, 100, 'LINEAR_EXACT')).tolist() == [[128, 0, 255]]
    sigmoid = render.apply_window(values, Window(100, 100, 'SIGMOID'))
    assert sigmoid[0, 0] == 128
    assert sigmoid[0, 1] == round(255 / (1 + np.exp(2)))
    assert sigmoid[0, 2] == round(255 / (1 + np.exp(-2)))


def test_a_window_of_width_zero_is_refused() -> None:
    with pytest.raises(ValueError, match='width'):
        Window(40, 0)
    with pytest.raises(ValueError, match='function'):
        Window(40, 400, 'CUBIC')


def test_the_files_own_window_is_the_default(tmp_path: Path) -> None:
    pixels = np.array([[0, 1000, 2000]], np.int16)
    path = write_image(tmp_path / 'w.dcm', pixels, WindowCenter=[1000, 500], WindowWidth=[1000, 100])
    png = render.render_png(path)
    assert _grey(png).tolist() == [[0, 128, 255]]


def test_monochrome1_is_shown_inverted(tmp_path: Path) -> None:
    pixels = np.array([[0, 255]], np.uint8)
    path = write_image(tmp_path / 'm1.dcm', pixels, photometric='MONOCHROME1', Modality='CR')
    assert _grey(render.render_png(path)).tolist() == [[255, 0]]


def test_plain_eight_bit_grey_is_shown_as_stored(tmp_path: Path) -> None:
    pixels = np.array([[0, 17, 200, 255]], np.uint8)
    path = write_image(tmp_path / 'g8.dcm', pixels, Modality='US', sop_class=SECONDARY_CAPTURE)
    assert _grey(render.render_png(path)).tolist() == [[0, 17, 200, 255]]


def test_signed_pixels_keep_their_sign(tmp_path: Path) -> None:
    pixels = np.array([[-1000, -1], [0, 1000]], np.int16)
    path = write_image(tmp_path / 's.dcm', pixels, RescaleSlope=2, RescaleIntercept=10)
    assert render.decode(path).values.tolist() == [[-1990, 8], [10, 2010]]


def test_without_a_window_the_auto_window_spans_the_robust_range(tmp_path: Path) -> None:
    pixels = np.linspace(0, 4095, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = write_image(tmp_path / 'a.dcm', pixels, BitsStored=12)
    image = _grey(render.render_png(path))
    assert image.min() == 0 and image.max() == 255
    assert abs(int(image[32, 0]) - 128) <= 2


def test_rgb_pixels_are_shown_as_stored(tmp_path: Path) -> None:
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    path = write_image(tmp_path / 'rgb.dcm', pixels, photometric='RGB', sop_class=SECONDARY_CAPTURE, Modality='OT')
    bgr = _grey(render.render_png(path))
    assert cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).tolist() == pixels.tolist()


def test_ybr_full_is_converted_to_rgb(tmp_path: Path) -> None:
    # Pure red in YBR_FULL (PS3.3 C.7.6.3.1.2): Y = 76.245, Cb = 84.972, Cr = 255.5
    pixels = np.array([[[76, 85, 255]]], np.uint8)
    path = write_image(tmp_path / 'ybr.dcm', pixels, photometric='YBR_FULL', sop_class=SECONDARY_CAPTURE)
    red, green, blue = render.decode(path).values[0, 0].tolist()
    assert red >= 250 and green <= 5 and blue <= 5


def test_palette_colour_is_looked_up() -> None:
    frame = render.decode(DATA_STORE / 'OT-PAL-8-face.dcm')
    assert frame.colour and frame.values.dtype == np.uint8 and frame.values.shape[2] == 3
    assert len(np.unique(frame.values.reshape(-1, 3), axis=0)) > 50


def test_sixteen_bit_colour_is_scaled_to_eight_bits() -> None:
    eight = render.decode(DATA_STORE / 'SC_rgb.dcm').values
    sixteen = render.decode(DATA_STORE / 'SC_rgb_16bit.dcm').values
    assert np.abs(eight.astype(int) - sixteen.astype(int)).max() <= 1


def test_each_frame_of_a_multi_frame_image_is_its_own(tmp_path: Path) -> None:
    cine = np.stack([np.full((4, 6), value, np.uint8) for value in (10, 20, 30, 40, 50)])
    path = write_image(tmp_path / 'cine.dcm', cine, Modality='US', sop_class=US_MULTIFRAME)
    assert render.number_of_frames(path) == 5
    assert [int(render.decode(path, n).values[0, 0]) for n in (1, 3, 5)] == [10, 30, 50]
    assert int(_grey(render.thumbnail(path))[0, 0]) == 30  # the middle frame
    with pytest.raises(render.FrameOutOfRange):
        render.decode(path, 6)


def test_the_thumbnail_is_a_deterministic_png_within_its_edge() -> None:
    path = DATA_STORE / 'RG3_UNCR.dcm'
    first, second = render.thumbnail(path, edge=128), render.thumbnail(path, edge=128)
    assert first[:8] == b'\x89PNG\r\n\x1a\n'
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert max(_grey(first).shape) == 128


@pytest.mark.parametrize(
    ('reference', 'compressed'),
    [
        ('MR_small.dcm', 'MR_small_RLE.dcm'),
        ('MR_small.dcm', 'MR_small_jp2klossless.dcm'),
        ('MR_small.dcm', 'MR_small_jpeg_ls_lossless.dcm'),
        ('MR_small.dcm', 'MR_small_bigendian.dcm'),
        ('emri_small.dcm', 'emri_small_RLE.dcm'),
        ('US1_UNCR.dcm', 'US1_J2KR.dcm'),
        ('693_UNCR.dcm', '693_J2KR.dcm'),
    ],
)
def test_every_lossless_transfer_syntax_decodes_to_the_same_pixels(reference: str, compressed: str) -> None:
    def find(name: str) -> Path:
        return PYDICOM_FILES / name if (PYDICOM_FILES / name).exists() else DATA_STORE / name

    expected, found = render.decode(find(reference)).values, render.decode(find(compressed)).values
    assert np.array_equal(expected, found)


@pytest.mark.parametrize(
    'name',
    [
        'SC_rgb_jpeg_dcmtk.dcm',
        'SC_rgb_jpeg_gdcm.dcm',
        'SC_rgb_dcmtk_+eb+cy+np.dcm',
        'examples_ybr_color.dcm',
        'color3d_jpeg_baseline.dcm',
        'JPGExtended.dcm',
        'SC_rgb_jls_lossy_line.dcm',
        'RG1_J2KI.dcm',
        'liver.dcm',
    ],
)
def test_real_files_render_in_every_media_type(name: str) -> None:
    path = PYDICOM_FILES / name if (PYDICOM_FILES / name).exists() else DATA_STORE / name
    frame = render.decode(path)
    for media, magic in (('jpeg', b'\xff\xd8'), ('png', b'\x89PNG'), ('webp', b'RIFF')):
        data = render.render(frame, viewport=(256, 256), media=media, quality=80)
        assert data.startswith(magic)
    assert max(_grey(render.render(frame, viewport=(256, 256), media='png')).shape[:2]) <= 256


def test_rgb_dcmtk_files_show_red_where_the_reference_is_red() -> None:
    reference = render.decode(DATA_STORE / 'SC_rgb.dcm').values
    for name in ('SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_dcmtk_+eb+cy+np.dcm', 'SC_rgb_rle.dcm'):
        found = render.decode(PYDICOM_FILES / name).values
        assert np.abs(found.astype(int) - reference.astype(int)).mean() < 8, name


@pytest.mark.parametrize('name', ['MR_truncated.dcm', 'rtplan.dcm', 'test-SR.dcm'])
def test_files_that_cannot_be_shown_give_a_clear_reason(name: str) -> None:
    with pytest.raises(render.RenderError) as caught:
        render.decode(PYDICOM_FILES / name)
    assert 'image' in str(caught.value) or 'decoded' in str(caught.value)


def test_a_missing_file_is_reported_as_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render.decode(tmp_path / 'gone.dcm')


def test_the_cache_decodes_a_frame_once(tmp_path: Path) -> None:
    path = write_image(tmp_path / 'c.dcm', np.zeros((8, 8), np.uint16))
    cache = render.FrameCache(max_bytes=10_000)
    first = cache.get(path, 1)
    assert cache.get(path, 1) is first
    assert (cache.hits, cache.misses) == (1, 1)
    os.remove(path)
    assert cache.get(path, 1) is first  # served from memory; the file is not read again


def test_the_cache_drops_the_least_recently_used_frames(tmp_path: Path) -> None:
    cine = np.zeros((6, 32, 32), np.uint8)
    path = write_image(tmp_path / 'l.dcm', cine, sop_class=US_MULTIFRAME, Modality='US')
    cache = render.FrameCache(max_bytes=3 * 32 * 32 * 4)
    for n in range(1, 7):
        cache.get(path, n)
    cache.get(path, 6)
    assert cache.hits == 1
    cache.get(path, 1)
    assert cache.misses == 7
