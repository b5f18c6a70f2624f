"""A study's annotations as a Grayscale Softcopy Presentation State (PS3.3 A.33), so other viewers show them.

One presentation state references every annotated image (Presentation State Relationship, C.11.11) and carries
one Graphic Annotation item per annotated frame (C.10.5) on a single layer (C.10.7): an arrow is a POLYLINE shaft
from tail to head and a POLYLINE arrowhead around the head; a text label is a TEXT object whose anchor point is
where it was put (an arrow's text is anchored at its tail). Coordinates are PIXEL units, the origin at the top left
corner of the top left pixel, exactly as domain.annotations stores them.
"""

import io
import logging
import math
import uuid
from collections.abc import Mapping
from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from domain import clock
from domain.annotations import ARROW, AnnotatedImage, AnnotationView, StudyAnnotations

from . import render, storage

log = logging.getLogger(__name__)

GSPS_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.11.1'
LAYER = 'ANNOTATIONS'
HEAD_LENGTH = 0.25  # of the arrow's length, at most HEAD_MAX pixels and at least HEAD_MIN
HEAD_MIN, HEAD_MAX = 4.0, 24.0
HEAD_ANGLE = math.radians(25)
# copied from the first referenced image: Patient (C.7.1.1) and General Study (C.7.2.1) modules
COPIED = (
    'PatientName',
    'PatientID',
    'IssuerOfPatientID',
    'PatientBirthDate',
    'PatientSex',
    'StudyDate',
    'StudyTime',
    'ReferringPhysicianName',
    'StudyID',
    'AccessionNumber',
    'StudyDescription',
)
REQUIRED = frozenset(COPIED[:2] + COPIED[3:5] + COPIED[5:10])


def for_study(found: StudyAnnotations, *, creator: str) -> bytes:
    """The presentation state of a study's annotations, reading the referenced images' headers from storage."""
    header = Dataset()
    for image in found.images.values():
        try:
            header = render.read_header(storage.absolute(image.file_path))
            break
        except (render.RenderError, OSError, ValueError) as error:
            log.warning(
                'presentation state of study %s: instance %s unreadable: %s', found.study_id, image.instance_id, error
            )
    return build(found, header, creator=creator)


def build(found: StudyAnnotations, header: Dataset, *, creator: str, now: datetime | None = None) -> bytes:
    """The GSPS as a DICOM file (Part 10), patient and study attributes taken from `header`."""
    now = now or clock.now()
    ds = Dataset()
    ds.SpecificCharacterSet = 'ISO_IR 192'
    ds.SOPClassUID = GSPS_SOP_CLASS
    ds.SOPInstanceUID = _uid()
    for keyword in COPIED:
        if keyword in header:
            setattr(ds, keyword, header[keyword].value)
        elif keyword in REQUIRED:
            setattr(ds, keyword, '')  # type 2: present, maybe empty
    ds.StudyInstanceUID = found.study_instance_uid
    # General Series, Presentation Series (C.11.9), General Equipment
    ds.Modality = 'PR'
    ds.SeriesInstanceUID = _uid()
    ds.SeriesNumber = 9901
    ds.SeriesDescription = 'Annotations'
    ds.Manufacturer = 'ClinicPACS'
    # Presentation State Identification (C.11.10)
    ds.InstanceNumber = 1
    ds.ContentLabel = 'ANNOTATIONS'
    ds.ContentDescription = 'Arrows and text labels from the ClinicPACS viewer'
    ds.PresentationCreationDate = now.strftime('%Y%m%d')
    ds.PresentationCreationTime = now.strftime('%H%M%S')
    ds.ContentCreatorName = creator[:64]
    ds.ContentDate, ds.ContentTime = ds.PresentationCreationDate, ds.PresentationCreationTime
    # Presentation State Relationship (C.11.11): every annotated image, grouped by series
    by_series: dict[str, list[Dataset]] = {}
    for image in found.images.values():
        by_series.setdefault(image.series_instance_uid, []).append(_reference(image))
    ds.ReferencedSeriesSequence = Sequence([_series(uid, references) for uid, references in sorted(by_series.items())])
    # Displayed Area (C.10.4): each image whole, scaled to fit
    ds.DisplayedAreaSelectionSequence = Sequence([_displayed_area(image) for image in found.images.values()])
    # Graphic Annotation (C.10.5) and Graphic Layer (C.10.7)
    ds.GraphicAnnotationSequence = Sequence(_annotations(found.annotations, found.images))
    layer = Dataset()
    layer.GraphicLayer = LAYER
    layer.GraphicLayerOrder = 1
    layer.GraphicLayerRecommendedDisplayGrayscaleValue = 0xFFFF
    layer.GraphicLayerDescription = 'Annotations'
    ds.GraphicLayerSequence = Sequence([layer])
    # Softcopy Presentation LUT (C.11.6)
    ds.PresentationLUTShape = 'IDENTITY'
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(GSPS_SOP_CLASS)
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def arrow_head(tail: list[float], head: list[float]) -> list[list[float]]:
    """The arrowhead's polyline (one wing, the head, the other wing) of an arrow from tail to head."""
    dx, dy = head[0] - tail[0], head[1] - tail[1]
    length = math.hypot(dx, dy) or 1.0
    size = min(HEAD_MAX, max(HEAD_MIN, length * HEAD_LENGTH))
    angle = math.atan2(dy, dx)
    wings = [
        [head[0] - size * math.cos(angle - side * HEAD_ANGLE), head[1] - size * math.sin(angle - side * HEAD_ANGLE)]
        for side in (1, -1)
    ]
    return [[round(wings[0][0], 2), round(wings[0][1], 2)], list(head), [round(wings[1][0], 2), round(wings[1][1], 2)]]


# ---------------------------------------------------------------- private helpers


def _uid() -> str:
    return f'2.25.{uuid.uuid4().int}'


def _reference(image: AnnotatedImage, frame: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = image.sop_class_uid
    item.ReferencedSOPInstanceUID = image.sop_instance_uid
    if frame is not None and image.number_of_frames > 1:
        item.ReferencedFrameNumber = frame
    return item


def _series(uid: str, references: list[Dataset]) -> Dataset:
    item = Dataset()
    item.SeriesInstanceUID = uid
    item.ReferencedImageSequence = Sequence(references)
    return item


def _displayed_area(image: AnnotatedImage) -> Dataset:
    item = Dataset()
    item.ReferencedImageSequence = Sequence([_reference(image)])
    item.DisplayedAreaTopLeftHandCorner = [1, 1]
    item.DisplayedAreaBottomRightHandCorner = [image.columns or 1, image.rows or 1]
    item.PresentationSizeMode = 'SCALE TO FIT'
    item.PresentationPixelAspectRatio = [1, 1]
    return item


def _annotations(rows: list[AnnotationView], images: Mapping[int, AnnotatedImage]) -> list[Dataset]:
    by_frame: dict[tuple[int, int], list[AnnotationView]] = {}
    for row in rows:
        if row.instance_id in images:
            by_frame.setdefault((row.instance_id, row.frame), []).append(row)
    items = []
    for (instance_id, frame), annotations in by_frame.items():
        item = Dataset()
        item.ReferencedImageSequence = Sequence([_reference(images[instance_id], frame)])
        item.GraphicLayer = LAYER
        graphics, texts = [], []
        for row in annotations:
            if row.kind == ARROW:
                tail, head = row.points
                graphics += [_polyline([tail, head]), _polyline(arrow_head(tail, head))]
                if row.text:
                    texts.append(_text(row.text, tail))
            else:
                texts.append(_text(row.text, row.points[0]))
        if graphics:
            item.GraphicObjectSequence = Sequence(graphics)
        if texts:
            item.TextObjectSequence = Sequence(texts)
        items.append(item)
    return items


def _polyline(points: list[list[float]]) -> Dataset:
    item = Dataset()
    item.GraphicAnnotationUnits = 'PIXEL'
    item.GraphicDimensions = 2
    item.NumberOfGraphicPoints = len(points)
    item.GraphicData = [float(v) for point in points for v in point]  # column, row per point
    item.GraphicType = 'POLYLINE'
    item.GraphicFilled = 'N'
    return item


def _text(text: str, anchor: list[float]) -> Dataset:
    item = Dataset()
    item.AnchorPointAnnotationUnits = 'PIXEL'
    item.UnformattedTextValue = text
    item.AnchorPoint = [float(anchor[0]), float(anchor[1])]
    item.AnchorPointVisibility = 'N'
    return item
