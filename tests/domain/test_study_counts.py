"""What C-FIND answers beyond one row: a patient's totals, a study's SOP classes, a series' header attributes."""

from datetime import date
from itertools import count

import pytest
from sqlmodel import select

from domain import access, db, patients, studies, study_counts
from domain.errors import NotAllowed
from domain.models import Instance, PatientCreate, Series, Study
from domain.studies import InstanceHeader, StoredFile
from tests.conftest import Clinic

CT, SR = '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.88.11'
SERIES_DATE = {'00080021': {'vr': 'DA', 'Value': ['20260105']}}
_files = count(1)


def _arrive(patient_id: str, study: str, series: str, *, sop_class: str = CT) -> None:
    """One image as the listener records it (UIDs built from the given suffixes)."""
    n = next(_files)
    header = InstanceHeader(
        sop_instance_uid=f'1.2.826.0.1.3680043.9.8.{n}',
        sop_class_uid=sop_class,
        study_instance_uid=f'1.2.826.0.1.3680043.9.9.{study}',
        series_instance_uid=f'1.2.826.0.1.3680043.9.9.{study}.{series}',
        patient_name='Counted^Patient',
        patient_id=patient_id,
        study_date=date(2026, 1, 5),
        modality='CT',
    )
    studies.record_instance(header, StoredFile(f'dicom/{n}.dcm', 10, f'{n:064d}'), by=access.modality('CT1'))


@pytest.fixture
def registered(clinic: Clinic) -> str:
    """A clinic patient with two studies (three series, four images), and an unmatched study of EXT9."""
    details = PatientCreate(family_name='Counted', given_name='Patient', birth_date='1970-05-06')
    patient = patients.register(details, by=clinic.receptionist.actor)
    _arrive(patient.patient_id, '1', '1')
    _arrive(patient.patient_id, '1', '1')
    _arrive(patient.patient_id, '1', '2', sop_class=SR)
    _arrive(patient.patient_id, '2', '1')
    _arrive('EXT9', '3', '1')
    return patient.patient_id


def test_patient_totals_count_studies_series_and_images_per_patient_id(clinic: Clinic, registered: str) -> None:
    totals = study_counts.patient_totals([registered, 'EXT9', 'NOBODY', ''], by=clinic.technician.actor)
    assert totals == {
        registered: study_counts.PatientTotals(studies=2, series=3, instances=4),
        'EXT9': study_counts.PatientTotals(studies=1, series=1, instances=1),
    }


def test_sop_classes_in_a_study_are_listed_once_each(clinic: Clinic, registered: str) -> None:
    with db.reading() as session:
        ids = {s.study_instance_uid[-1]: s.id or 0 for s in session.exec(select(Study)).all()}
    classes = study_counts.sop_classes_in_studies([ids['1'], ids['2']], by=clinic.technician.actor)
    assert classes == {ids['1']: sorted([CT, SR]), ids['2']: [CT]}


def test_series_attributes_come_from_the_first_image_whose_header_was_read(clinic: Clinic, registered: str) -> None:
    with db.reading() as session:
        series = session.exec(select(Series).where(Series.num_instances == 2)).one()
        first, second = session.exec(select(Instance.id).where(Instance.series_id == series.id).order_by(Instance.id))
    series_id = series.id or 0
    assert study_counts.series_attributes([series_id], by=clinic.technician.actor) == {}  # not read yet
    studies.metadata_extracted(series_id, {second or 0: {'00080021': {'vr': 'DA', 'Value': ['20250101']}}})
    studies.metadata_extracted(series_id, {first or 0: SERIES_DATE})
    assert study_counts.series_attributes([series_id], by=clinic.technician.actor) == {series_id: SERIES_DATE}


def test_a_role_that_may_not_query_gets_no_counts(clinic: Clinic, registered: str) -> None:
    with pytest.raises(NotAllowed):
        study_counts.patient_totals([registered], by=clinic.receptionist.actor)
