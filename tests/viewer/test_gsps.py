"""The annotations' presentation state (dicom/gsps.py) as pydicom reads it back, and the report's key image with
its annotations drawn on it (dicom/key_images.py)."""

import io
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image

from dicom import gsps, key_images, storage
from domain import annotations, viewing
from domain.annotations import ARROW, TEXT
from tests.conftest import Clinic

from .studies import ct_series


def _instances(clinic: Clinic, tmp_path: Path) -> tuple[viewing.StudyView, list[viewing.InstanceView]]:
    study = ct_series(clinic, tmp_path, slices=3, patient_id='GSPS1')
    shown = viewing.open_study(study.id or 0, by=clinic.radiologist.actor)
    return shown, list(shown.series[0].instances)


def test_the_presentation_state_references_the_images_and_carries_the_graphics(clinic: Clinic, tmp_path: Path) -> None:
    study, (first, second, third) = _instances(clinic, tmp_path)
    doctor = clinic.radiologist.actor
    annotations.add(study.id, first.id, 1, ARROW, [[10, 12], [40, 44]], by=doctor)
    annotations.add(study.id, first.id, 1, TEXT, [[20.5, 30.25]], text='Nodule — узел', by=doctor)
    annotations.add(study.id, third.id, 1, ARROW, [[50, 10], [30, 30]], by=doctor)

    data = gsps.for_study(annotations.for_export(study.id, by=doctor), creator='radiologist1')
    ds = pydicom.dcmread(io.BytesIO(data))

    assert ds.SOPClassUID == gsps.GSPS_SOP_CLASS == ds.file_meta.MediaStorageSOPClassUID
    assert ds.Modality == 'PR' and ds.StudyInstanceUID == study.study_instance_uid
    assert ds.PatientID == 'GSPS1' and ds.ContentCreatorName == 'radiologist1'
    referenced = {
        item.ReferencedSOPInstanceUID for s in ds.ReferencedSeriesSequence for item in s.ReferencedImageSequence
    }
    assert referenced == {first.sop_instance_uid, third.sop_instance_uid}  # the second image has none
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == study.series[0].series_instance_uid
    assert second.sop_instance_uid not in referenced
    assert [layer.GraphicLayer for layer in ds.GraphicLayerSequence] == ['ANNOTATIONS']

    by_image = {item.ReferencedImageSequence[0].ReferencedSOPInstanceUID: item for item in ds.GraphicAnnotationSequence}
    on_first = by_image[first.sop_instance_uid]
    shaft, head = on_first.GraphicObjectSequence
    assert (shaft.GraphicType, shaft.GraphicAnnotationUnits, shaft.NumberOfGraphicPoints) == ('POLYLINE', 'PIXEL', 2)
    assert [float(v) for v in shaft.GraphicData] == [10.0, 12.0, 40.0, 44.0]  # column, row of tail then head
    assert head.GraphicType == 'POLYLINE' and head.NumberOfGraphicPoints == 3
    assert [float(v) for v in head.GraphicData[2:4]] == [40.0, 44.0]  # the arrowhead's point is the head
    wings = np.array([float(v) for v in head.GraphicData]).reshape(3, 2)[[0, 2]]
    assert all(np.hypot(*(wing - [40, 44])) < np.hypot(*(wing - [10, 12])) for wing in wings)  # behind the head
    (text,) = on_first.TextObjectSequence
    assert text.UnformattedTextValue == 'Nodule — узел'
    assert (text.AnchorPointAnnotationUnits, [float(v) for v in text.AnchorPoint]) == ('PIXEL', [20.5, 30.25])
    assert [float(v) for v in by_image[third.sop_instance_uid].GraphicObjectSequence[0].GraphicData] == [
        50.0,
        10.0,
        30.0,
        30.0,
    ]
    assert 'TextObjectSequence' not in by_image[third.sop_instance_uid]


def test_a_key_image_shows_its_arrow_and_nothing_where_there_is_none(clinic: Clinic, tmp_path: Path) -> None:
    study, (first, *_rest) = _instances(clinic, tmp_path)
    arrow = annotations.add(study.id, first.id, 1, ARROW, [[8, 56], [56, 56]], by=clinic.radiologist.actor)
    path = storage.absolute(first.file_path)

    plain = np.asarray(Image.open(io.BytesIO(key_images.annotated_png(path, 1, []))).convert('RGB')).astype(int)
    marked = np.asarray(Image.open(io.BytesIO(key_images.annotated_png(path, 1, [arrow]))).convert('RGB')).astype(int)

    def yellow(image: np.ndarray) -> np.ndarray:
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
        return (r > 180) & (g > 150) & (b < 120)

    assert not yellow(plain).any()  # a grey CT: no colour of its own
    assert yellow(marked[54:59, 20:45]).any()  # along the shaft, row 56
    assert not yellow(marked[:40]).any()  # nowhere near it
