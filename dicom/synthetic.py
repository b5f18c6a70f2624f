"""Synthetic but plausible images for the demo, drawn with numpy and stored as real DICOM through the pipeline.

`datasets(order)` yields the Part 10 data sets of one demo study (domain.demo_studies.Order); `acquire(order)`
sends them through the receiving pipeline a modality's C-STORE uses (dicom.ingest), as the order's room, so
indexing, linking to the appointment, metadata and thumbnails all run as for a real scanner. Pixels depend
only on the order (its key seeds numpy's generator) and UIDs only on the demo's root and counters, so every
run makes the same images. The anatomy lives in synthetic_ct, synthetic_mr, synthetic_xr and synthetic_us.
"""

import logging
from collections.abc import Callable, Iterator
from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from domain import access, studies
from domain.demo_studies import UID_ROOT, Order

from . import synthetic_ct, synthetic_mr, synthetic_us, synthetic_xr
from .ingest import Ingest
from .synthetic_image import Image

log = logging.getLogger(__name__)

MANUFACTURER = 'ClinicPACS demo scanner'
INSTITUTION = 'ClinicPACS demo clinic'
MAKERS: dict[str, Callable[[Order, np.random.Generator], Iterator[Image]]] = {
    'ct-head': synthetic_ct.head,
    'ct-chest': synthetic_ct.chest,
    'mr-knee': synthetic_mr.knee,
    'dx-chest': synthetic_xr.chest,
    'us-abdomen': synthetic_us.abdomen,
    'us-obstetric': synthetic_us.obstetric,
}


def acquire(order: Order, ingest: Ingest | None = None) -> int:
    """Make one order's images and store each through the receiving pipeline as its room would; returns the study."""
    pipeline = ingest or Ingest()
    sender = access.modality(order.station, '127.0.0.1')
    study_id, stored = 0, 0
    for dataset in datasets(order):
        encoded = encode(dataset)
        outcome = pipeline.accept(
            [encoded],
            len(encoded),
            by=sender,
            sop_class_uid=str(dataset.SOPClassUID),
            sop_instance_uid=str(dataset.SOPInstanceUID),
            transfer_syntax_uid=ExplicitVRLittleEndian,
        )
        if outcome.result != 'stored' or outcome.study_id is None:
            raise RuntimeError(f'demo image {dataset.SOPInstanceUID} was not stored ({outcome.result})')
        study_id, stored = outcome.study_id, stored + 1
    studies.record_transfer({study_id: stored}, by=sender)
    log.info('demo study %s: %d images of %s stored', study_id, stored, order.exam)
    return study_id


def datasets(order: Order) -> Iterator[Dataset]:
    """The data sets of one order's study, in the order a scanner sends them."""
    for image in MAKERS[order.exam](order, np.random.default_rng(order.key)):
        yield build(order, image)


def series_uid(order: Order, series: int) -> str:
    """The Series Instance UID of one of the order's series."""
    return f'{UID_ROOT}.2.{order.key}.{series}'


def instance_uid(order: Order, series: int, number: int) -> str:
    """The SOP Instance UID of one image."""
    return f'{UID_ROOT}.3.{order.key}.{series}.{number}'


def build(order: Order, image: Image) -> Dataset:
    """The data set of one image: patient, study, series, equipment and image modules, then the pixels."""
    pixels = np.ascontiguousarray(image.pixels)
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    ds = Dataset()
    ds.SpecificCharacterSet = 'ISO_IR 192'  # UTF-8: accented Latin, Cyrillic and Greek names alike
    ds.ImageType = ['ORIGINAL', 'PRIMARY', 'AXIAL'] if order.exam.startswith('ct-') else ['ORIGINAL', 'PRIMARY']
    ds.SOPInstanceUID = instance_uid(order, image.series, image.number)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = order.study_date.strftime('%Y%m%d')
    ds.StudyTime = ds.SeriesTime = order.study_time
    ds.ContentTime = f'{order.study_time[:4]}{min(59, image.series * 3 + image.number // 40):02d}'
    ds.AccessionNumber = order.accession_number
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = INSTITUTION
    ds.StationName = order.station
    ds.ReferringPhysicianName = 'Demo^Referrer'
    ds.StudyDescription = order.description
    ds.PatientName = order.patient_name
    ds.PatientID = order.patient_id
    ds.PatientBirthDate = order.birth_date
    ds.PatientSex = order.sex
    ds.StudyInstanceUID = order.study_uid
    ds.SeriesInstanceUID = series_uid(order, image.series)
    ds.StudyID = str(order.key)
    ds.SeriesNumber = image.series
    ds.InstanceNumber = image.number
    for keyword, value in image.attributes.items():
        setattr(ds, keyword, value)
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = image.attributes.get('PhotometricInterpretation', 'MONOCHROME2')
    if frames > 1:
        ds.NumberOfFrames = frames
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = image.attributes.get('BitsStored', bits)
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def encode(dataset: Dataset) -> bytes:
    """The data set as a Part 10 file (PS3.10 7.1), the bytes a C-STORE would carry."""
    buffer = BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
