"""Studies for the viewer's tests, put in through the real ingest pipeline (dicom/ingest.py)."""

from pathlib import Path

import data_store
import numpy as np
import pydicom.data
from pydicom.uid import generate_uid

from dicom import storage
from dicom.ingest import Ingest
from domain import db
from domain.access import modality
from domain.models import Instance, Series, Study
from tests.conftest import Clinic

from .synthetic import write_image

PYDICOM_FILES = Path(pydicom.data.__file__).parent / 'test_files'
DATA_STORE = Path(data_store.__file__).parent / 'data'


def ingest(clinic: Clinic, *paths: Path) -> Study:
    """Store the files as a modality would; returns the (last) study they made."""
    storage.configure(clinic.data_dir)
    pipeline = Ingest()
    study_id = None
    for path in paths:
        study_id = pipeline.accept_file(path, by=modality('TESTSCU')).study_id
    with db.reading() as session:
        study = session.get(Study, study_id)
    assert study is not None
    return study


def ct_series(
    clinic: Clinic,
    tmp: Path,
    slices: int = 5,
    *,
    patient_id: str = 'T1',
    study_uid: str | None = None,
    spacing: tuple[float, float] = (0.5, 0.5),
) -> Study:
    """A small CT series with known pixels: slice n holds n * 100 HU everywhere, 1 mm pixels by default."""
    study_uid, series_uid = study_uid or generate_uid(), generate_uid()
    files = []
    for n in range(slices):
        pixels = np.full((64, 64), 1024 + n * 100, np.uint16)
        pixels[16:48, 16:48] = 1024 + 40  # a soft-tissue square in the middle
        files.append(
            write_image(
                tmp / f'{study_uid[-8:]}-{n}.dcm',
                pixels,
                study_uid=study_uid,
                series_uid=series_uid,
                RescaleSlope=1,
                RescaleIntercept=-1024,
                BitsStored=12,
                PixelSpacing=list(spacing),
                InstanceNumber=n + 1,
                SliceThickness=2.5,
                SliceLocation=n * 2.5,
                ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                ImagePositionPatient=[0, 0, n * 2.5],
                WindowCenter=40,
                WindowWidth=400,
                PatientID=patient_id,
                StudyDate='20240102',
                SeriesNumber=1,
            )
        )
    return ingest(clinic, *files)


def first_instance(study: Study) -> tuple[Series, Instance]:
    with db.reading() as session:
        series = session.exec(Series.__table__.select().where(Series.study_id == study.id)).first()  # type: ignore[attr-defined]
        instance = session.exec(
            Instance.__table__.select()
            .where(Instance.series_id == series.id)  # type: ignore[attr-defined]
            .order_by(Instance.instance_number)
        ).first()
        return session.get(Series, series.id), session.get(Instance, instance.id)


def frame_url(study: Study, series: Series, instance: Instance, frame: int | str = 1) -> str:
    return (
        f'/dicomweb/studies/{study.study_instance_uid}/series/{series.series_instance_uid}'
        f'/instances/{instance.sop_instance_uid}/frames/{frame}/rendered'
    )
