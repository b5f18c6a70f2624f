"""MPR's slice reader: uncompressed pixels read at the offset where pydicom's header read stops, others decoded."""

import copy
from collections.abc import Callable
from pathlib import Path

import data_store
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ImplicitVRLittleEndian, generate_uid

from dicom import volume, volume_read
from dicom.render import RenderError

from .synthetic import write_volume

DATA_STORE = Path(data_store.__file__).parent / 'data'
CT = DATA_STORE / '693_UNCR.dcm'  # 512 × 512, signed, 14 of 16 bits stored, intercept -1024
CT_J2K = DATA_STORE / '693_J2KR.dcm'  # the same image, JPEG 2000 lossless


def _series(
    folder: Path, sources: list[Path], edit: Callable[[pydicom.Dataset, int], None] | None = None
) -> list[Path]:
    """One slice per source file, 2 mm apart along z, each encoded as its source (or as `edit` leaves it)."""
    folder.mkdir(parents=True, exist_ok=True)
    series = generate_uid()
    paths = []
    for n, source in enumerate(sources):
        ds = copy.deepcopy(pydicom.dcmread(source))
        ds.SeriesInstanceUID, ds.SOPInstanceUID = series, generate_uid()
        ds.ImagePositionPatient = [0.0, 0.0, 2.0 * n]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        if edit is not None:
            edit(ds, n)
        paths.append(folder / f'{n:03d}.dcm')
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def _expected(path: Path) -> np.ndarray:
    """The slice's modality values as pydicom's own decoder and modality LUT give them."""
    ds = pydicom.dcmread(path)
    return np.asarray(apply_modality_lut(ds.pixel_array, ds))


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any slice that is not read straight from its bytes."""

    def refuse(path: Path, item: volume_read.SliceHeader) -> np.ndarray:
        raise AssertionError(f'{path.name} was decoded instead of read at its pixel data offset')

    monkeypatch.setattr(volume_read, '_decoded', refuse)


@pytest.mark.usefixtures('no_decoding')
def test_explicit_and_implicit_little_endian_slices_are_read_at_their_offset_as_pydicom_decodes_them(
    tmp_path: Path,
) -> None:
    def implicit(ds: pydicom.Dataset, n: int) -> None:
        if n % 2:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian

    paths = _series(tmp_path, [CT] * 4, implicit)
    found = volume.load(paths)
    assert found.voxels.dtype == np.int16
    for z, path in enumerate(paths):
        assert np.array_equal(found.voxels[z], _expected(path))


@pytest.mark.usefixtures('no_decoding')
def test_pixel_data_that_is_not_the_last_element_is_still_read_at_its_offset(tmp_path: Path) -> None:
    def trailing_padding(ds: pydicom.Dataset, n: int) -> None:
        ds.add_new(0xFFFCFFFC, 'OB', b'\0' * (64 + 2 * n))  # Data Set Trailing Padding, after Pixel Data

    paths = _series(tmp_path, [CT] * 3, trailing_padding)
    assert pydicom.dcmread(paths[0]).get_item(0xFFFCFFFC) is not None
    found = volume.load(paths)
    assert np.array_equal(found.voxels[1], _expected(paths[1]))


@pytest.mark.usefixtures('no_decoding')
def test_a_header_longer_than_the_parsed_chunk_is_read_from_the_file(tmp_path: Path) -> None:
    def long_header(ds: pydicom.Dataset, n: int) -> None:
        ds.add_new(0x00090010, 'LO', 'CLINICPACS TEST')
        ds.add_new(0x00091010, 'OB', b'\x7f' * (volume_read.HEADER_CHUNK + 1000 * n))

    paths = _series(tmp_path, [CT] * 3, long_header)
    found = volume.load(paths)
    assert np.array_equal(found.voxels[2], _expected(paths[2]))


def test_compressed_and_big_endian_slices_go_through_pydicoms_decoders(tmp_path: Path) -> None:
    mixed = _series(tmp_path / 'mixed', [CT, CT_J2K, CT])
    found = volume.load(mixed)
    assert np.array_equal(found.voxels[1], _expected(mixed[1]))
    assert np.array_equal(found.voxels[1], found.voxels[0])  # lossless: the same image as the uncompressed slices
    big_endian = _series(tmp_path / 'big', [Path(str(get_testdata_file('MR_small_bigendian.dcm')))] * 3)
    found = volume.load(big_endian)
    assert np.array_equal(found.voxels[2], _expected(big_endian[2]))
    assert np.abs(found.voxels).max() > 0


@pytest.mark.usefixtures('no_decoding')
def test_bits_above_bits_stored_are_dropped_and_signs_extended(tmp_path: Path) -> None:
    unsigned = write_volume(tmp_path / 'unsigned', (3, 4, 4), (1, 1, 1))  # 12 of 16 bits, 2000 at the bright voxel
    for path in unsigned:
        ds = pydicom.dcmread(path)
        ds.PixelData = (ds.pixel_array | 0xF000).astype(np.uint16).tobytes()  # rubbish (an overlay) above bit 12
        ds.save_as(path, enforce_file_format=True)
    found = volume.load(unsigned)
    assert found.voxels[1, 1, 1] == 1000 and found.voxels[0, 0, 0] == -1000

    def signed_twelve_bits(ds: pydicom.Dataset, n: int) -> None:
        stored = np.full((ds.Rows, ds.Columns), (-5 & 0x0FFF) | 0x3000, np.uint16)  # -5 in 12 bits, rubbish above
        ds.PixelData, ds.BitsStored, ds.HighBit, ds.RescaleIntercept = stored.tobytes(), 12, 11, 0

    found = volume.load(_series(tmp_path / 'signed', [CT] * 3, signed_twelve_bits))
    assert set(np.unique(found.voxels).tolist()) == {-5}


@pytest.mark.usefixtures('no_decoding')
def test_each_slice_is_rescaled_with_its_own_slope_and_intercept(tmp_path: Path) -> None:
    def own_rescale(ds: pydicom.Dataset, n: int) -> None:
        ds.RescaleSlope, ds.RescaleIntercept = [(1, -1024), (2, -1000), (1, -1024)][n]

    paths = _series(tmp_path / 'whole', [CT] * 3, own_rescale)
    found = volume.load(paths)
    assert found.voxels.dtype == np.int16
    assert np.array_equal(found.voxels[1], _expected(paths[1])) and np.array_equal(found.voxels[2], _expected(paths[2]))

    def fractional(ds: pydicom.Dataset, n: int) -> None:
        ds.RescaleSlope, ds.RescaleIntercept = [(1, -1024), (0.5, -1024.25), (1, -1024)][n]

    paths = _series(tmp_path / 'fraction', [CT] * 3, fractional)
    found = volume.load(paths)
    assert found.voxels.dtype == np.float32
    assert np.allclose(found.voxels[1], _expected(paths[1])) and np.array_equal(found.voxels[0], _expected(paths[0]))


def test_a_slice_cut_short_is_refused_as_unreadable(tmp_path: Path) -> None:
    paths = _series(tmp_path, [CT] * 3)
    paths[1].write_bytes(paths[1].read_bytes()[:-100])
    with pytest.raises(RenderError, match='cut short'):
        volume.load(paths)
