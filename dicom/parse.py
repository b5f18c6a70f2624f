"""From a DICOM header to the plain values the index keeps (domain.studies.InstanceHeader).

Text is decoded with the file's Specific Character Set (PS3.5 6.1: ISO_IR 100, ISO_IR 192, ISO_IR 144,
GB18030, ISO 2022 IR 87/149 …) by pydicom. UIDs are validated (PS3.5 9.1) and are never used as paths.
"""

import logging
import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from domain.studies import InstanceHeader

from . import storage

log = logging.getLogger(__name__)

UID_PATTERN = re.compile(r'^[0-9]+(\.[0-9]+)*$')

# Attributes the metadata job copies into Instance.attributes (DICOM JSON, PS3.18 F.2) for QIDO-RS
# includefield and the viewer's overlays; bulk data and sequences stay in the file.
EXTRA_KEYWORDS = (
    'SpecificCharacterSet',
    'ImageType',
    'InstanceCreationDate',
    'InstanceCreationTime',
    'SeriesDate',
    'SeriesTime',
    'AcquisitionDate',
    'AcquisitionTime',
    'ContentDate',
    'ContentTime',
    'AcquisitionDateTime',
    'Manufacturer',
    'ManufacturerModelName',
    'InstitutionName',
    'StationName',
    'OperatorsName',
    'PerformingPhysicianName',
    'ProtocolName',
    'BodyPartExamined',
    'Laterality',
    'ImageLaterality',
    'ViewPosition',
    'PatientPosition',
    'PatientAge',
    'PatientWeight',
    'SliceThickness',
    'SliceLocation',
    'PixelSpacing',
    'ImagerPixelSpacing',
    'ImagePositionPatient',
    'ImageOrientationPatient',
    'FrameOfReferenceUID',  # linked scroll by position (domain/slice_positions.py)
    'SamplesPerPixel',
    'PhotometricInterpretation',
    'BitsAllocated',
    'BitsStored',
    'PixelRepresentation',
    'WindowCenter',
    'WindowWidth',
    'RescaleIntercept',
    'RescaleSlope',
    'FrameTime',
    'CineRate',
    'LossyImageCompression',
    'BurnedInAnnotation',
)


class UnreadableHeader(Exception):
    """The bytes are not a DICOM data set we can understand; the message says why, for staff."""


def read_header(path: Path | BinaryIO, *, force: bool = False) -> Dataset:
    """The header of a stored or arriving file (a path, or a file `storage.open_file` opened), without the pixels."""
    if isinstance(path, Path):
        try:
            reader = storage.open_path(path)
        except OSError as error:
            raise UnreadableHeader(f'the data set cannot be read ({type(error).__name__})') from error
        with reader:
            return read_header(reader, force=force)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            dataset = pydicom.dcmread(path, stop_before_pixels=True, force=force)
            dataset.SOPInstanceUID  # noqa: B018 - parses up to the UIDs now, so a truncated file fails here
    except InvalidDicomError as error:
        raise UnreadableHeader('not a DICOM file') from error
    except AttributeError as error:
        raise UnreadableHeader('the data set has no SOP Instance UID') from error
    except Exception as error:
        raise UnreadableHeader(f'the data set cannot be read ({type(error).__name__})') from error
    return dataset


def header_of(dataset: Dataset, transfer_syntax_uid: str = '') -> InstanceHeader:
    """The index values of a data set; refuses one without valid identifying UIDs."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return _header_of(dataset, transfer_syntax_uid)
    except UnreadableHeader:
        raise
    except Exception as error:
        raise UnreadableHeader(f'the header cannot be decoded ({type(error).__name__})') from error


def extract_attributes(path: Path | BinaryIO) -> dict[str, Any]:
    """The extra attributes of a stored file (a path, or a file `storage.open_file` opened) as DICOM JSON."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if isinstance(path, Path):
            with storage.open_path(path) as reader:
                return extract_attributes(reader)
        dataset = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(EXTRA_KEYWORDS))
        result: dict[str, Any] = {}
        for keyword in EXTRA_KEYWORDS:
            if keyword not in dataset:
                continue
            element = dataset[keyword]
            if element.VR in ('SQ', 'OB', 'OW', 'UN'):
                continue
            try:
                result[f'{element.tag:08X}'] = element.to_json_dict(None, 0)
            except (TypeError, ValueError):
                continue
    return result


def valid_uid(value: object) -> str:
    """A UID as text, or '' when it is not a valid UID (PS3.5 9.1)."""
    text = str(value or '').strip().rstrip('\x00').strip()
    return text if len(text) <= 64 and UID_PATTERN.match(text) else ''


def _header_of(dataset: Dataset, transfer_syntax_uid: str) -> InstanceHeader:
    uids = {}
    for keyword in ('SOPInstanceUID', 'SOPClassUID', 'StudyInstanceUID', 'SeriesInstanceUID'):
        uid = valid_uid(dataset.get(keyword))
        if not uid:
            raise UnreadableHeader(f'{keyword} is missing or not a valid UID')
        uids[keyword] = uid
    meta = getattr(dataset, 'file_meta', None)
    syntax = transfer_syntax_uid or (valid_uid(meta.get('TransferSyntaxUID')) if meta is not None else '')
    return InstanceHeader(
        sop_instance_uid=uids['SOPInstanceUID'],
        sop_class_uid=uids['SOPClassUID'],
        study_instance_uid=uids['StudyInstanceUID'],
        series_instance_uid=uids['SeriesInstanceUID'],
        transfer_syntax_uid=syntax,
        patient_name=_text(dataset, 'PatientName'),
        patient_id=_text(dataset, 'PatientID'),
        patient_birth_date=_text(dataset, 'PatientBirthDate')[:8],
        patient_sex=_text(dataset, 'PatientSex'),
        accession_number=_text(dataset, 'AccessionNumber'),
        study_date=dicom_date(_text(dataset, 'StudyDate')),
        study_time=_text(dataset, 'StudyTime'),
        study_id=_text(dataset, 'StudyID'),
        study_description=_text(dataset, 'StudyDescription'),
        referring_physician=_text(dataset, 'ReferringPhysicianName'),
        modality=_text(dataset, 'Modality').upper(),
        series_number=_integer(dataset, 'SeriesNumber'),
        series_description=_text(dataset, 'SeriesDescription'),
        body_part=_text(dataset, 'BodyPartExamined'),
        instance_number=_integer(dataset, 'InstanceNumber'),
        rows=_integer(dataset, 'Rows'),
        columns=_integer(dataset, 'Columns'),
        number_of_frames=max(_integer(dataset, 'NumberOfFrames') or 1, 1),
    )


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    if value is None:
        return ''
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        value = '\\'.join(str(v) for v in value)
    return str(value).replace('\x00', '').strip()


def _integer(dataset: Dataset, keyword: str) -> int | None:
    value = dataset.get(keyword)
    if isinstance(value, pydicom.multival.MultiValue):
        value = value[0] if value else None
    try:
        return int(value) if value not in (None, '') else None
    except (TypeError, ValueError):
        return None


def dicom_date(text: str) -> date | None:
    """A DA value (YYYYMMDD, also the old YYYY.MM.DD) as a date; None when it is not a valid one."""
    digits = text.replace('.', '').replace('-', '')[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) == 8 else None
    except ValueError:
        return None
