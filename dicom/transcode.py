"""Transcoding a stored image to the uncompressed little-endian syntaxes every peer accepts (PS3.5 section 10).

Compressed pixel data is decoded with pydicom's decoders (pylibjpeg: libjpeg, openjpeg, rle); colour models the
decoder changes (YBR_FULL_422, YBR_ICT, YBR_RCT...) are written back as RGB. Explicit VR Big Endian is rebuilt as
little endian: pydicom does not swap OW/OF/OL/OD/OV values between endiannesses, so Pixel Data is decoded and
re-packed and the other word-valued elements are swapped here. Deflated files are already inflated by dcmread.
Nothing is ever compressed: a syntax outside the little-endian family is only ever the one the file has.
"""

import copy
import logging
from io import BytesIO

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import correct_ambiguous_vr, dcmwrite
from pydicom.pixels import get_decoder, pack_bits
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)

log = logging.getLogger(__name__)

UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
LITTLE_ENDIAN = (*UNCOMPRESSED, DeflatedExplicitVRLittleEndian)  # what to_syntax can produce from anything it decodes
_LOSSY = (JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLSNearLossless, JPEG2000, HTJ2K)  # may have lost information
_WORD_SIZE = {'OW': 2, 'OL': 4, 'OF': 4, 'OD': 8, 'OV': 8}


class Untranscodable(Exception):
    """This image cannot be given in the asked transfer syntax (unknown syntax, no decoder, or undecodable data)."""


def can_decode(transfer_syntax: str) -> bool:
    """Whether an image stored in this transfer syntax can be turned into uncompressed little endian."""
    syntax = UID(transfer_syntax)
    if syntax in (*LITTLE_ENDIAN, ExplicitVRBigEndian):
        return True
    if not syntax.is_transfer_syntax or not syntax.is_compressed:
        return False
    try:
        return get_decoder(syntax).is_available
    except NotImplementedError:  # pydicom's answer for a syntax it has no decoder for at all (MPEG, HEVC, ...)
        return False


def to_syntax(dataset: Dataset, transfer_syntax: str) -> Dataset:
    """The dataset encoded for that transfer syntax: unchanged when it already is, else decoded to little endian."""
    if _syntax_of(dataset) == transfer_syntax:
        return dataset
    return dcmread(BytesIO(encode(dataset, transfer_syntax)))


def encode(dataset: Dataset, transfer_syntax: str) -> bytes:
    """The dataset as a Part-10 file (PS3.10 section 7) in that transfer syntax."""
    target = UID(transfer_syntax)
    source = _syntax_of(dataset)
    if source == target:
        prepared = dataset
    elif target in LITTLE_ENDIAN:
        prepared = _little_endian(dataset, source)
        prepared.file_meta.TransferSyntaxUID = target
    else:
        raise Untranscodable(f'cannot transcode {source.name} to {target.name}')
    buffer = BytesIO()
    try:
        dcmwrite(buffer, prepared, enforce_file_format=True)
    except (ValueError, TypeError, AttributeError) as error:
        raise Untranscodable(f'cannot write as {target.name}: {error}') from error
    return buffer.getvalue()


# ---------------------------------------------------------------- helpers


def _syntax_of(dataset: Dataset) -> UID:
    meta = getattr(dataset, 'file_meta', None)
    syntax = meta.get('TransferSyntaxUID') if meta is not None else None
    if not syntax:
        raise Untranscodable('the dataset has no transfer syntax')
    return UID(str(syntax))


def _little_endian(dataset: Dataset, source: UID) -> Dataset:
    """A copy of the dataset whose values are little endian and whose pixel data is native (not encapsulated)."""
    if not can_decode(source):
        raise Untranscodable(f'no decoder for {source.name}')
    copied = copy.deepcopy(dataset)
    for _element in copied.iterall():  # parse every raw element now, with the encoding it was read with
        pass
    if not isinstance(getattr(copied, 'file_meta', None), FileMetaDataset):
        copied.file_meta = FileMetaDataset(copied.file_meta)
    try:
        if source.is_compressed and 'PixelData' in copied:
            copied.decompress(as_rgb=True, generate_instance_uid=False)
            if source in _LOSSY and 'LossyImageCompression' not in copied:
                copied.LossyImageCompression = '01'  # PS3.3 C.7.6.1.1.5: once lossy, always flagged
        elif source == ExplicitVRBigEndian:
            _swap_to_little_endian(copied)
    except Untranscodable:
        raise
    except Exception as error:  # decoders raise anything from ValueError to RuntimeError on damaged data
        raise Untranscodable(f'cannot decode {source.name}: {error}') from error
    copied.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return copied


def _swap_to_little_endian(dataset: Dataset) -> None:
    """Make a big-endian dataset writable as little endian: decode Pixel Data, swap word-valued elements."""
    correct_ambiguous_vr(dataset, is_little_endian=False)
    if 'PixelData' in dataset:
        _native_pixels_little_endian(dataset)
    for element in dataset.iterall():  # iterating also parses every raw element with the big-endian encoding
        size = _WORD_SIZE.get(str(element.VR))
        if size is None or element.tag == 0x7FE00010 or not isinstance(element.value, bytes | bytearray):
            continue
        if len(element.value) % size:
            raise Untranscodable(f'{element.tag} has a length that is not a multiple of {size}')
        element.value = np.frombuffer(element.value, dtype=f'>u{size}').astype(f'<u{size}').tobytes()


def _native_pixels_little_endian(dataset: Dataset) -> None:
    decoder = get_decoder(ExplicitVRBigEndian)
    decoded = list(decoder.iter_array(dataset, as_rgb=True))
    frames = [array for array, _image_pixel in decoded]
    image_pixel = decoded[-1][1] if decoded else {}
    bits_allocated = int(dataset.BitsAllocated)
    if bits_allocated == 1:
        data = pack_bits(np.concatenate([frame.ravel() for frame in frames]))
    else:
        data = b''.join(frame.astype(frame.dtype.newbyteorder('<')).tobytes() for frame in frames)
    if len(data) % 2:
        data += b'\x00'
    element = dataset['PixelData']
    element.value = data
    element.VR = 'OB' if bits_allocated <= 8 else 'OW'
    element.is_undefined_length = False
    if image_pixel:
        dataset.PhotometricInterpretation = image_pixel['photometric_interpretation']
        if int(image_pixel['samples_per_pixel']) > 1:
            dataset.PlanarConfiguration = image_pixel['planar_configuration']
