"""Images handed to DICOMweb clients (WADO-RS): which stored files a study, series or instance names.

A study, series or instance is named by its UIDs; a series that is not in the named study, or an instance
not in the named series, names nothing (NotFound). Every call checks READ_IMAGES and audits the first
view of the study by this user (domain.viewing.record_view), as the viewer does.
"""

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import col, select

from . import db, viewing
from .access import Actor, Permission, require
from .errors import NotFound
from .models import Instance, Patient, Series, Study

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredInstance:
    """One indexed image and where its file is (relative to the data directory)."""

    instance_id: int
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    number_of_frames: int
    file_path: str


@dataclass(frozen=True)
class ClinicPatient:
    """The clinic's patient a study is matched to, as DICOM values (name as Family^Given, dates YYYYMMDD)."""

    name: str
    patient_id: str
    birth_date: str
    sex: str


@dataclass(frozen=True)
class Retrieval:
    """The images a WADO-RS request names, in reading order (series number, instance number)."""

    study_id: int
    study_uid: str
    patient: ClinicPatient | None  # None: the study is not matched; the files' own patient stands
    instances: tuple[StoredInstance, ...]
    thumbnail_paths: tuple[str, ...]  # the named series' thumbnails that exist, in series order


def images(study_uid: str, series_uid: str = '', instance_uid: str = '', *, by: Actor) -> Retrieval:
    """The stored images of a study, or of one of its series or instances; audits the first view of the study."""
    require(by, Permission.READ_IMAGES)
    found = _retrieval(Study.study_instance_uid == study_uid, series_uid, instance_uid)
    viewing.record_view(found.study_id, by=by)
    return found


def study_images(study_id: int, *, by: Actor) -> Retrieval:
    """Every stored image of a study, for work done ahead of any request (no one viewed it: nothing is audited)."""
    require(by, Permission.READ_IMAGES)
    return _retrieval(Study.id == study_id)


def _retrieval(condition: Any, series_uid: str = '', instance_uid: str = '') -> Retrieval:
    with db.reading() as session:
        found = session.exec(
            select(Study, Patient)
            .join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
            .where(condition)
        ).first()
        if found is None:
            raise NotFound('No such study')
        study, patient = found
        series_query = select(Series.id, Series.series_instance_uid, Series.thumbnail_path, Series.series_number).where(
            Series.study_id == study.id
        )
        if series_uid:
            series_query = series_query.where(Series.series_instance_uid == series_uid)
        series_rows = session.exec(series_query).all()
        if series_uid and not series_rows:
            raise NotFound('No such series in this study')
        order = {row[0]: (row[3] is None, row[3] or 0, row[0]) for row in series_rows}
        uids = {row[0]: row[1] for row in series_rows}
        query = select_columns(
            col(Instance.id),
            col(Instance.series_id),
            col(Instance.sop_instance_uid),
            col(Instance.sop_class_uid),
            col(Instance.transfer_syntax_uid),
            col(Instance.number_of_frames),
            col(Instance.file_path),
            col(Instance.instance_number),
        ).where(col(Instance.series_id).in_(list(uids)))
        if instance_uid:
            query = query.where(col(Instance.sop_instance_uid) == instance_uid)
        rows = session.execute(query).all()
    if instance_uid and not rows:
        raise NotFound('No such image in this series')
    rows = sorted(rows, key=lambda r: (*order[r[1]], r[7] is None, r[7] or 0, r[0]))
    return Retrieval(
        study.id or 0,
        study.study_instance_uid,
        _clinic_patient(patient),
        tuple(StoredInstance(r[0] or 0, uids[r[1]], r[2], r[3], r[4], max(1, r[5] or 1), r[6]) for r in rows),
        tuple(row[2] for row in sorted(series_rows, key=lambda s: order[s[0]]) if row[2]),
    )


def _clinic_patient(patient: Patient | None) -> ClinicPatient | None:
    if patient is None:
        return None
    return ClinicPatient(
        f'{patient.family_name}^{patient.given_name}'.rstrip('^'),
        patient.patient_id,
        patient.birth_date.strftime('%Y%m%d') if patient.birth_date else '',
        patient.sex if patient.sex in ('M', 'F', 'O') else '',
    )
