"""What a Query/Retrieve answer tells beyond one row of the index (PS3.4 C.6.1.1.2-C.6.1.1.4, C.6.2.1.2):
a patient's totals, the SOP classes in a study, and a series' header attributes.

Each takes the rows a search (domain.study_query) already matched and answers for all of them in one query.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from . import db
from .access import Actor, Permission, require
from .models import Instance, Patient, Series, Study

log = logging.getLogger(__name__)

PROCESSED = 'processed'  # NOTE: domain.studies' state once the metadata job has copied the header attributes


@dataclass(frozen=True)
class PatientTotals:
    """Studies, series and images on file for one Patient ID."""

    studies: int = 0
    series: int = 0
    instances: int = 0


def patient_totals(patient_ids: Sequence[str], *, by: Actor) -> dict[str, PatientTotals]:
    """Totals per Patient ID as C-FIND answers it: the clinic's ID, or the modality's for an unmatched study."""
    require(by, Permission.QUERY_DICOM)
    wanted = sorted({patient_id for patient_id in patient_ids if patient_id})
    totals: dict[str, PatientTotals] = {}
    if not wanted:
        return totals
    counts = (func.count(col(Study.id)), func.sum(Study.num_series), func.sum(Study.num_instances))
    linked = (
        select(Patient.patient_id, *counts)
        .join(Study, col(Study.patient_ref_id) == col(Patient.id))
        .where(col(Patient.patient_id).in_(wanted))
        .group_by(col(Patient.patient_id))
    )
    unmatched = (
        select(Study.dicom_patient_id, *counts)
        .where(col(Study.patient_ref_id).is_(None), col(Study.dicom_patient_id).in_(wanted))
        .group_by(col(Study.dicom_patient_id))
    )
    with db.reading() as session:
        for query in (linked, unmatched):
            for patient_id, studies, series, instances in session.exec(query).all():
                known = totals.get(patient_id, PatientTotals())
                totals[patient_id] = PatientTotals(
                    known.studies + int(studies or 0),
                    known.series + int(series or 0),
                    known.instances + int(instances or 0),
                )
    return totals


def sop_classes_in_studies(study_ids: Sequence[int], *, by: Actor) -> dict[int, list[str]]:
    """The SOP Class UIDs of each study's images (SOPClassesInStudy), sorted."""
    require(by, Permission.QUERY_DICOM)
    wanted = sorted(set(study_ids))
    classes: dict[int, list[str]] = {study_id: [] for study_id in wanted}
    if not wanted:
        return classes
    query = (
        select(Series.study_id, Instance.sop_class_uid)
        .join(Instance, col(Instance.series_id) == col(Series.id))
        .where(col(Series.study_id).in_(wanted))
        .distinct()
    )
    with db.reading() as session:
        for study_id, sop_class in session.exec(query).all():
            classes[study_id].append(sop_class)
    return {study_id: sorted(found) for study_id, found in classes.items()}


def series_attributes(series_ids: Sequence[int], *, by: Actor) -> dict[int, dict[str, Any]]:
    """The header attributes (DICOM JSON) of each series' first image whose header has been read: its series-level
    values such as SeriesDate and SeriesTime. A series whose images are all still waiting has none yet."""
    require(by, Permission.QUERY_DICOM)
    wanted = sorted(set(series_ids))
    if not wanted:
        return {}
    first = (
        select(func.min(col(Instance.id)))
        .where(col(Instance.series_id).in_(wanted), Instance.state == PROCESSED)
        .group_by(col(Instance.series_id))
    )
    query = select(Instance.series_id, Instance.attributes).where(col(Instance.id).in_(first.scalar_subquery()))
    with db.reading() as session:
        return {series_id: dict(attributes or {}) for series_id, attributes in session.exec(query).all()}
