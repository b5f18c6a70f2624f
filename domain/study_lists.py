"""Studies as staff see them: the arriving list, the unmatched list, and assigning a study to a patient."""

import logging
from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from . import audit, db, events, short_ids
from .access import Actor, Permission, require
from .errors import NotFound
from .models import Patient, Series, Study
from .studies import SeriesSummary, StudySummary

log = logging.getLogger(__name__)

LIST_LIMIT = 100


def listing(
    *, by: Actor, state: str = '', text: str = '', unmatched: bool = False, limit: int = LIST_LIMIT
) -> list[StudySummary]:
    """Studies newest arrival first, with their series (the Studies and Unmatched screens)."""
    require(by, Permission.RECONCILE_STUDIES if unmatched else Permission.VIEW_STUDIES)
    query = select(Study, Patient).join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
    if unmatched:
        query = query.where(col(Study.patient_ref_id).is_(None))
    if state:
        query = query.where(Study.state == state)
    if text.strip():
        like = f'%{text.strip()}%'
        matches: list[ColumnElement[bool]] = [
            col(Study.patient_name).ilike(like),
            col(Study.dicom_patient_id).ilike(like),
            col(Study.accession_number).ilike(like),
            col(Study.description).ilike(like),
            col(Patient.family_name).ilike(like),
            col(Patient.patient_id).ilike(like),
        ]
        if code := short_ids.typed(text):  # 'abcd-2345' finds study ABCD2345
            matches.append(col(Study.short_id) == code)
        query = query.where(or_(*matches))
    with db.reading() as session:
        rows = session.exec(query.order_by(col(Study.last_arrival).desc(), col(Study.id).desc()).limit(limit)).all()
        return _summaries(session, rows)


def get(study_id: int, *, by: Actor) -> StudySummary:
    """One study with its series."""
    require(by, Permission.VIEW_STUDIES)
    with db.reading() as session:
        rows = session.exec(
            select(Study, Patient)
            .join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
            .where(Study.id == study_id)
        ).all()
        if not rows:
            raise NotFound('No study {study_id}', study_id=study_id)
        return _summaries(session, rows)[0]


def assign(study_id: int, patient_id: int, *, by: Actor) -> StudySummary:
    """Put a study (usually an unmatched one) under the right patient; audited."""
    require(by, Permission.RECONCILE_STUDIES)
    with db.transaction() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('No study {study_id}', study_id=study_id)
        patient = session.get(Patient, patient_id)
        if patient is not None and patient.merged_into_id is not None:
            patient = session.get(Patient, patient.merged_into_id)
        if patient is None:
            raise NotFound('No patient {patient_id}', patient_id=patient_id)
        previous = study.patient_ref_id
        study.patient_ref_id = patient.id
        study.centre_id = patient.centre_id  # a study belongs to its patient's centre (domain.centres)
        session.add(study)
        audit.record(session, by, 'study.assign', study, detail={'from_patient': previous, 'to_patient': patient.id})
        events.publish_after(session, events.StudyMatched(study_id, patient.id or 0))
        events.publish_after(session, events.StudyUpdated(study_id, study.state))
    log.info('study %s assigned to patient %s (was %s)', study_id, patient.id, previous)
    return get(study_id, by=by)


def thumbnail_path(series_id: int, *, by: Actor) -> str | None:
    """The series' thumbnail, relative to the data directory, if it has one."""
    require(by, Permission.VIEW_STUDIES)
    with db.reading() as session:
        series = session.get(Series, series_id)
    return series.thumbnail_path if series is not None else None


def _summaries(session: Session, rows: Sequence[tuple[Study, Patient | None]]) -> list[StudySummary]:
    study_ids = [study.id for study, _ in rows]
    series_by_study: dict[int, list[SeriesSummary]] = {}
    if study_ids:
        for series in session.exec(
            select(Series)
            .where(col(Series.study_id).in_(study_ids))
            .order_by(col(Series.series_number), col(Series.id))
        ).all():
            series_by_study.setdefault(series.study_id, []).append(
                SeriesSummary(
                    series.id or 0,
                    series.series_instance_uid,
                    series.modality,
                    series.series_number,
                    series.description,
                    series.num_instances,
                    series.thumbnail_path,
                )
            )
    return [
        StudySummary(
            id=study.id or 0,
            study_instance_uid=study.study_instance_uid,
            state=study.state,
            patient_ref_id=study.patient_ref_id,
            patient_name=study.patient_name,
            patient_id=study.dicom_patient_id,
            clinic_patient_name=patient.name if patient is not None else None,
            appointment_id=study.appointment_id,
            accession_number=study.accession_number,
            short_id=study.short_id or '',
            study_date=study.study_date,
            description=study.description,
            modalities=study.modalities,
            num_series=study.num_series,
            num_instances=study.num_instances,
            size_bytes=study.size_bytes,
            source_ae=study.source_ae,
            last_arrival=study.last_arrival,
            series=tuple(series_by_study.get(study.id or 0, ())),
            urgent=study.urgent,
        )
        for study, patient in rows
    ]
