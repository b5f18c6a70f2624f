"""What a trash item records and shows: its kind and state, the screen's entry, the summary staff read, the audit
detail, and the study counters a deleted or restored series changes (domain.trash)."""

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from . import clock, db, events, options, viewing
from .models import Patient, Series, Study, TrashItem

log = logging.getLogger(__name__)

STUDY, SERIES = 'study', 'series'
MOVING, KEPT, RESTORING = 'moving', 'kept', 'restoring'


@dataclass(frozen=True)
class TrashEntry:
    """An item as the trash screen lists it."""

    id: int
    kind: str
    state: str
    study_id: int
    series_id: int | None
    study_instance_uid: str
    series_instance_uid: str
    patient_ref_id: int | None
    summary: dict[str, Any]
    reason: str
    trashed_by: str
    trashed_at: datetime
    num_series: int
    num_instances: int
    size_bytes: int
    days_left: int


def count(
    session: Session, study: Study, *, series: int, instances: int, size: int, order: dict[str, Any] | None = None
) -> None:
    """Add to (or take from) the study's counters in SQL, and say again which modalities it holds."""
    study.num_series = Study.num_series + series
    study.num_instances = Study.num_instances + instances
    study.size_bytes = Study.size_bytes + size
    session.add(study)
    session.flush()
    present = [m for m in session.exec(select(Series.modality).where(Series.study_id == study.id)).all() if m]
    before = str((order or {}).get('study_modalities', study.modalities)).split('\\')
    ordered = [m for m in before if m in present] + sorted({m for m in present if m not in before})
    study.modalities = '\\'.join(dict.fromkeys(ordered))[:64]
    session.add(study)
    session.flush()
    session.refresh(study)


def summary(session: Session, study: Study, series: Series | None = None) -> dict[str, Any]:
    """What the trash screen shows of an item: no patient name, the clinic's Patient ID."""
    patient_id = study.dicom_patient_id
    if study.patient_ref_id is not None:
        patient = session.get(Patient, study.patient_ref_id)
        patient_id = patient.patient_id if patient is not None else patient_id
    summary: dict[str, Any] = {
        'patient_id': patient_id,
        'study_date': study.study_date.isoformat() if isinstance(study.study_date, date) else '',
        'modalities': study.modalities,
        'study_modalities': study.modalities,
        'description': study.description,
        'accession_number': study.accession_number,
    }
    if series is not None:
        summary |= {
            'series_number': series.series_number,
            'series_modality': series.modality,
            'series_description': series.description,
        }
    return summary


def detail(item: TrashItem) -> dict[str, Any]:
    """The audit detail of a step: ids, UIDs, counts, the reason; never a name."""
    return {
        'item': item.id,
        'kind': item.kind,
        'study_id': item.study_id,
        'series_id': item.series_id,
        'study_instance_uid': item.study_instance_uid,
        'series_instance_uid': item.series_instance_uid,
        'instances': item.num_instances,
        'size_bytes': item.size_bytes,
        'reason': item.reason,
    }


def publish(session: Session, study_id: int, patient_id: int | None, *, state: str) -> None:
    """Tell open screens that the study (and its patient) changed, once the transaction commits."""
    events.publish_after(session, events.StudyUpdated(study_id, state))
    if state == 'deleted':
        db.after_commit(session, lambda: viewing.forget_views(study_id))
    if patient_id is not None:
        events.publish_after(session, events.PatientChanged(patient_id))


def entry(item: TrashItem, days: int) -> TrashEntry:
    """An item as the trash screen lists it, with the days left before it is purged."""
    age = clock.now() - clock.as_utc(item.trashed_at)
    return TrashEntry(
        id=item.id or 0,
        kind=item.kind,
        state=item.state,
        study_id=item.study_id,
        series_id=item.series_id,
        study_instance_uid=item.study_instance_uid,
        series_instance_uid=item.series_instance_uid,
        patient_ref_id=item.patient_ref_id,
        summary=dict(item.summary),
        reason=item.reason,
        trashed_by=item.trashed_by,
        trashed_at=item.trashed_at,
        num_series=item.num_series,
        num_instances=item.num_instances,
        size_bytes=item.size_bytes,
        days_left=max(0, days - age.days),
    )


def trash_days() -> int:
    """How many days the trash keeps an item (the `trash_days` option)."""
    return int(options.get('trash_days'))
