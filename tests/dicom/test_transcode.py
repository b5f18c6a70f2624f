"""Transcoding stored images to uncompressed little endian: every transfer syntax in pydicom's and pydicom-data's
files, compared pixel for pixel with what pydicom decodes from the original."""

import warnings
from collections import defaultdict
from functools import cache
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_files
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_color_lut
from pydicom.uid import (
    MPEG2MPML,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from dicom import transcode
from tests.dicom.conftest import sample

# Every syntax the corpus holds images in; a smaller corpus must fail here rather than test less.
EXPECTED_SYNTAXES = {
    '1.2.840.10008.1.2',
    '1.2.840.10008.1.2.1',
    '1.2.840.10008.1.2.1.99',
    '1.2.840.10008.1.2.2',
    '1.2.840.10008.1.2.4.50',
    '1.2.840.10008.1.2.4.51',
    '1.2.840.10008.1.2.4.70',
    '1.2.840.10008.1.2.4.80',
    '1.2.840.10008.1.2.4.81',
    '1.2.840.10008.1.2.4.90',
    '1.2.840.10008.1.2.4.91',
    '1.2.840.10008.1.2.5',
}
UNCOMPRESSED_SAMPLES = 12
MAX_SAMPLES = 4_000_000
COLOUR_MODELS_DECODERS_CHANGE = {'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT', 'YBR_PARTIAL_420'}


@cache
def images_by_syntax() -> dict[str, list[Path]]:
    """Image files of the corpus by transfer syntax (the few very large ones left out, to keep the test quick)."""
    found: dict[str, list[Path]] = defaultdict(list)
    for name in get_testdata_files():
        path = Path(name)
        try:
            dataset = _read(path, defer_size=1024)
            syntax = str(dataset.file_meta.TransferSyntaxUID)
            pixels = int(dataset.Rows) * int(dataset.Columns) * int(dataset.get('NumberOfFrames') or 1)
        except Exception:  # not an image file
            continue
        if 'PixelData' in dataset and 'SOPClassUID' in dataset and pixels * int(dataset.SamplesPerPixel) <= MAX_SAMPLES:
            found[syntax].append(path)
    return dict(found)


def test_the_corpus_holds_every_expected_transfer_syntax() -> None:
    assert EXPECTED_SYNTAXES <= set(images_by_syntax())


@pytest.mark.parametrize('source', sorted(EXPECTED_SYNTAXES))
@pytest.mark.parametrize('target', transcode.UNCOMPRESSED)
def test_every_image_of_a_syntax_decodes_to_the_same_pixels(source: str, target: str) -> None:
    assert transcode.can_decode(source)
    paths = images_by_syntax()[source]
    if source in transcode.UNCOMPRESSED:
        paths = paths[:UNCOMPRESSED_SAMPLES]  # 150 files; what differs between them is not what is tested here
    decoded = 0
    for path in paths:
        original = _read(path)
        try:
            reference = original.pixel_array
        except Exception:  # the corpus's deliberately damaged samples
            continue
        decoded += 1
        converted = transcode.to_syntax(original, target)
        assert converted.file_meta.TransferSyntaxUID == target, path.name
        assert converted.SOPInstanceUID == original.SOPInstanceUID, path.name
        assert np.array_equal(converted.pixel_array, reference), path.name
        if pydicom.uid.UID(source).is_compressed:
            assert converted.PhotometricInterpretation not in COLOUR_MODELS_DECODERS_CHANGE, path.name
    assert decoded
    reread = pydicom.dcmread(BytesIO(transcode.encode(original, target)))
    assert reread.file_meta.TransferSyntaxUID == target
    assert np.array_equal(reread.pixel_array, reference), path.name


def test_big_endian_palette_tables_are_swapped_with_the_pixels() -> None:
    for name in ('OBXXXX1A_expb.dcm', 'gdcm-US-ALOKA-16_big.dcm'):
        original = _read(sample(name))
        assert original.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
        converted = transcode.to_syntax(original, ExplicitVRLittleEndian)
        for element in original:
            if element.VR == 'OW' and element.keyword != 'PixelData':
                words = np.frombuffer(element.value, dtype='>u2')
                assert np.array_equal(np.frombuffer(converted[element.tag].value, dtype='<u2'), words), element.keyword
    # the little-endian twin of the same image shows the same colours
    converted = transcode.to_syntax(_read(sample('OBXXXX1A_expb.dcm')), ImplicitVRLittleEndian)
    twin = _read(sample('OBXXXX1A.dcm'))
    assert np.array_equal(apply_color_lut(converted.pixel_array, converted), apply_color_lut(twin.pixel_array, twin))


def test_other_values_survive_big_endian_to_little_endian() -> None:
    original = _read(sample('MR_small_bigendian.dcm'))
    converted = transcode.to_syntax(original, ImplicitVRLittleEndian)
    for element in original:
        if element.keyword != 'PixelData':
            assert converted[element.tag].value == element.value, element.keyword


def test_lossy_sources_are_flagged_as_lossy_once_decoded() -> None:
    converted = transcode.to_syntax(_read(sample('SC_rgb_jpeg_dcmtk.dcm')), ExplicitVRLittleEndian)
    assert converted.LossyImageCompression == '01'
    assert converted.PhotometricInterpretation == 'RGB'


def test_deflated_files_become_plain_little_endian() -> None:
    [path] = images_by_syntax()[DeflatedExplicitVRLittleEndian]
    data = transcode.encode(_read(path), ExplicitVRLittleEndian)
    assert pydicom.dcmread(BytesIO(data)).file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


def test_the_stored_syntax_is_given_back_unchanged() -> None:
    original = _read(sample('JPEG-LL.dcm'))
    assert transcode.to_syntax(original, original.file_meta.TransferSyntaxUID) is original


def test_nothing_is_compressed() -> None:
    with pytest.raises(transcode.Untranscodable):
        transcode.to_syntax(_read(sample('CT_small.dcm')), JPEGBaseline8Bit)


def test_damaged_compressed_pixel_data_is_untranscodable() -> None:
    damaged = _read(sample('JPEGLSNearLossless_16.dcm'))
    damaged.PixelData = encapsulate([b'\xff\xd8 not a JPEG-LS stream \xff\xd9'])
    with pytest.raises(transcode.Untranscodable):
        transcode.to_syntax(damaged, ExplicitVRLittleEndian)


def test_syntaxes_without_a_decoder_cannot_be_decoded() -> None:
    assert not transcode.can_decode(MPEG2MPML)
    assert not transcode.can_decode('1.2.3.4')
    video = _read(sample('CT_small.dcm'))
    video.file_meta.TransferSyntaxUID = MPEG2MPML
    with pytest.raises(transcode.Untranscodable):
        transcode.encode(video, ExplicitVRLittleEndian)


def _read(path: Path, **options: object) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return pydicom.dcmread(path, **options)  # type: ignore[arg-type]
