"""The doctor's viewer: a study as the viewer lays it out, its priors, measurements and key images.

Pixels are not read here: the frame endpoint and the viewer screen get file paths (relative to the data
directory) from these services, after the role check and the audit of the first view. Measurements are
computed here from the points the doctor placed and the image's calibration (domain.calibration), so
what is saved never depends on the browser's arithmetic.
"""

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from . import audit, clock, db, events
from .access import Actor, Permission, require
from .calibration import KINDS, Calibration, measure
from .errors import InvalidInput, NotFound
from .models import AuditEvent, Instance, KeyImage, Measurement, Series, Study
from .slice_positions import SliceGeometry, from_attributes

log = logging.getLogger(__name__)

MAX_LABEL = 200
_seen: set[tuple[str, int]] = set()
_seen_lock = threading.Lock()


@dataclass(frozen=True)
class InstanceView:
    id: int
    sop_instance_uid: str
    instance_number: int | None
    number_of_frames: int
    rows: int | None
    columns: int | None
    file_path: str  # relative to the data directory
    # from the index; empty until the metadata job has read the header
    geometry: SliceGeometry = field(default_factory=SliceGeometry)


@dataclass(frozen=True)
class SeriesView:
    id: int
    series_instance_uid: str
    modality: str
    series_number: int | None
    description: str
    thumbnail_path: str | None
    instances: tuple[InstanceView, ...]
    body_part: str = ''  # Body Part Examined as the modality sent it
    plane: str = ''  # axial, coronal, sagittal (from the indexed Image Orientation (Patient)), '' unknown

    @property
    def frames(self) -> int:
        """Images to scroll through: every frame of every instance."""
        return sum(instance.number_of_frames for instance in self.instances)


@dataclass(frozen=True)
class StudyView:
    """A study with its series in reading order and what the overlays show about it."""

    id: int
    study_instance_uid: str
    patient_ref_id: int | None
    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    accession_number: str
    study_date: date | None
    description: str
    modalities: str
    state: str
    series: tuple[SeriesView, ...]
    short_id: str = ''


@dataclass(frozen=True)
class PriorStudy:
    id: int
    study_date: date | None
    description: str
    modalities: str
    num_instances: int
    body_parts: str = ''  # its series' Body Part Examined, backslash-joined (hanging protocols match on it)


@dataclass(frozen=True)
class FrameSource:
    """Where the frame endpoint reads an instance from."""

    study_id: int
    instance_id: int
    file_path: str
    number_of_frames: int


@dataclass(frozen=True)
class MeasurementView:
    id: int
    instance_id: int
    frame: int
    kind: str
    points: list[Any]
    value: float | None
    unit: str
    stats: dict[str, Any]
    calibration: str
    label: str
    created_by: str
    created_at: datetime


# ---------------------------------------------------------------- reading


def open_study(study_id: int, *, by: Actor) -> StudyView:
    """The study with its series and instances in reading order; the first view by this user is audited."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('This study is not on file')
        series_rows = session.exec(select(Series).where(Series.study_id == study_id)).all()
        instances = session.exec(select(Instance).join(Series).where(Series.study_id == study_id)).all()
    by_series: dict[int, list[Instance]] = {}
    for instance in instances:
        by_series.setdefault(instance.series_id, []).append(instance)
    series = tuple(
        _series_view(row, by_series.get(row.id or 0, []))
        for row in sorted(series_rows, key=lambda s: (s.series_number is None, s.series_number or 0, s.id or 0))
    )
    record_view(study_id, by=by)
    return StudyView(
        study.id or 0,
        study.study_instance_uid,
        study.patient_ref_id,
        study.patient_name,
        study.dicom_patient_id,
        study.patient_birth_date,
        study.patient_sex,
        study.accession_number,
        study.study_date,
        study.description,
        study.modalities,
        study.state,
        series,
        study.short_id or '',
    )


def priors(study_id: int, *, by: Actor) -> list[PriorStudy]:
    """Other studies of the same patient, newest first (by the clinic's patient, else the DICOM Patient ID)."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('This study is not on file')
        query = select(Study).where(Study.id != study_id)
        if study.patient_ref_id is not None:
            query = query.where(Study.patient_ref_id == study.patient_ref_id)
        elif study.dicom_patient_id:
            query = query.where(Study.dicom_patient_id == study.dicom_patient_id, col(Study.patient_ref_id).is_(None))
        else:
            return []
        rows = session.exec(query.order_by(col(Study.study_date).desc(), col(Study.id).desc()).limit(50)).all()
        parts: dict[int, set[str]] = {}
        ids = [row.id for row in rows]
        for found_id, part in session.exec(
            select(Series.study_id, Series.body_part).where(col(Series.study_id).in_(ids)).distinct()
        ).all():
            if part:
                parts.setdefault(found_id, set()).add(part)
    return [
        PriorStudy(
            row.id or 0,
            row.study_date,
            row.description,
            row.modalities,
            row.num_instances,
            '\\'.join(sorted(parts.get(row.id or 0, ()))),
        )
        for row in rows
    ]


def frame_source(study_uid: str, series_uid: str, instance_uid: str, *, by: Actor) -> FrameSource:
    """The file of an instance named by its UIDs (the frame endpoint); audits the first view of the study."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        row = session.exec(
            select(Instance, Series.study_id)
            .join(Series)
            .join(Study)
            .where(
                Instance.sop_instance_uid == instance_uid,
                Series.series_instance_uid == series_uid,
                Study.study_instance_uid == study_uid,
            )
        ).first()
    if row is None:
        raise NotFound('No such image in this study')
    instance, study_id = row
    record_view(study_id, by=by)
    return FrameSource(study_id, instance.id or 0, instance.file_path, instance.number_of_frames)


def instance_file(instance_id: int, *, by: Actor) -> FrameSource:
    """The file of one instance, for the viewer's own calculations (ROI statistics, calibration)."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        row = session.exec(select(Instance, Series.study_id).join(Series).where(Instance.id == instance_id)).first()
    if row is None:
        raise NotFound('No such image')
    instance, study_id = row
    return FrameSource(study_id, instance.id or 0, instance.file_path, instance.number_of_frames)


@dataclass(frozen=True)
class SeriesFiles:
    """The files of one series, for building its volume (MPR)."""

    study_id: int
    series_id: int
    series_instance_uid: str
    modality: str
    file_paths: tuple[str, ...]  # relative to the data directory, sorted


def series_files(series_id: int, *, by: Actor) -> SeriesFiles:
    """Every stored file of a series (MPR reads them as one volume); audits the first view of the study."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        series = session.get(Series, series_id)
        if series is None:
            raise NotFound('This series is not on file')
        paths = session.exec(
            select(Instance.file_path).where(Instance.series_id == series_id, Instance.state != 'missing')
        ).all()
    record_view(series.study_id, by=by)
    return SeriesFiles(series.study_id, series_id, series.series_instance_uid, series.modality, tuple(sorted(paths)))


def tag_source(instance_id: int, *, by: Actor) -> FrameSource:
    """The file whose header the tag browser lists (radiologists and administrators); audited."""
    require(by, Permission.VIEW_TAGS)
    source = instance_file(instance_id, by=by)
    audit.record_alone(
        by, 'instance.tags', object_type='instance', object_id=instance_id, detail={'study_id': source.study_id}
    )
    return source


def record_view(study_id: int, *, by: Actor) -> bool:
    """Audit that this user looked at the study, once per user and study; True when this was the first view."""
    key = (by.username, study_id)
    with _seen_lock:
        if key in _seen:
            return False
        _seen.add(key)
    with db.transaction() as session:
        # views since the study arrived: a deleted study's id may have been given to this one (SQLite reuses it)
        arrived = session.exec(select(Study.first_arrival).where(Study.id == study_id)).first()
        views = select(func.count()).where(
            AuditEvent.action == 'study.view',
            AuditEvent.object_id == str(study_id),
            AuditEvent.username == by.username,
        )
        seen_before = session.exec(views if arrived is None else views.where(AuditEvent.at >= arrived)).one()
        if seen_before:
            return False
        audit.record(session, by, 'study.view', object_type='study', object_id=study_id)
    return True


def report_missing_file(instance_id: int, *, by: Actor) -> None:
    """Tell the administrator that an indexed image's file is gone from the disk (state 'missing', audited)."""
    with db.transaction() as session:
        instance = session.get(Instance, instance_id)
        if instance is None or instance.state == 'missing':
            return
        instance.state = 'missing'
        session.add(instance)
        audit.record(
            session, by, 'instance.missing', instance, outcome='failure', detail={'file_path': instance.file_path}
        )
    log.warning('file of instance %s is missing: %s', instance_id, instance.file_path)


def missing_files() -> int:
    """How many indexed images have lost their file (the health view shows this)."""
    with db.reading() as session:
        return session.exec(select(func.count()).where(Instance.state == 'missing')).one()


def forget_views(study_id: int | None = None) -> None:
    """Forget which views of a study were audited in this process (a deleted study's id may be given to the next
    study SQLite indexes, whose first view must be audited again); of every study with no id (tests)."""
    with _seen_lock:
        if study_id is None:
            _seen.clear()
        else:
            _seen.difference_update({key for key in _seen if key[1] == study_id})


# ---------------------------------------------------------------- measurements and key images


def add_measurement(
    study_id: int,
    instance_id: int,
    frame: int,
    kind: str,
    points: Sequence[Sequence[float]],
    *,
    calibration: Calibration,
    stats: dict[str, Any] | None = None,
    label: str = '',
    by: Actor,
) -> MeasurementView:
    """Save a measurement the doctor drew, its value computed here in real units (or px when uncalibrated)."""
    require(by, Permission.MEASURE)
    if kind not in KINDS:
        raise InvalidInput('Unknown measurement kind {kind}', kind=kind)
    value, unit, extra = measure(kind, points, calibration)
    with db.transaction() as session:
        instance_in_study(session, study_id, instance_id)
        row = Measurement(
            study_id=study_id,
            instance_id=instance_id,
            frame=max(1, int(frame)),
            kind=kind,
            points=[[float(x), float(y)] for x, y in points],
            value=value,
            unit=unit,
            stats={**extra, **(stats or {})},
            calibration=calibration.describe()[:64],
            label=label.strip()[:MAX_LABEL],
            created_by=by.username,
            created_at=clock.now(),
        )
        session.add(row)
        audit.record(session, by, 'measurement.create', row, detail={'study_id': study_id, 'kind': kind})
        events.publish_after(session, events.MeasurementsChanged(study_id))
    return _measurement_view(row)


def label_measurement(measurement_id: int, label: str, *, by: Actor) -> MeasurementView:
    """Give a measurement a label (shown beside it and in the report)."""
    require(by, Permission.MEASURE)
    with db.transaction() as session:
        row = session.get(Measurement, measurement_id)
        if row is None:
            raise NotFound('This measurement is not on file')
        row.label = label.strip()[:MAX_LABEL]
        session.add(row)
        audit.record(session, by, 'measurement.label', row, detail={'study_id': row.study_id})
        events.publish_after(session, events.MeasurementsChanged(row.study_id))
    return _measurement_view(row)


def delete_measurement(measurement_id: int, *, by: Actor) -> None:
    """Remove a measurement."""
    require(by, Permission.MEASURE)
    with db.transaction() as session:
        row = session.get(Measurement, measurement_id)
        if row is None:
            raise NotFound('This measurement is not on file')
        audit.record(
            session,
            by,
            'measurement.delete',
            row,
            detail={'study_id': row.study_id, 'kind': row.kind, 'value': row.value, 'unit': row.unit},
        )
        session.delete(row)
        events.publish_after(session, events.MeasurementsChanged(row.study_id))


def measurements(study_id: int, *, by: Actor) -> list[MeasurementView]:
    """The study's measurements, oldest first."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        rows = session.exec(
            select(Measurement).where(Measurement.study_id == study_id).order_by(col(Measurement.id))
        ).all()
    return [_measurement_view(row) for row in rows]


def set_key_image(study_id: int, instance_id: int, frame: int, key: bool, *, note: str = '', by: Actor) -> bool:
    """Mark (or unmark) a frame as a key image for the report; returns whether it is a key image now."""
    require(by, Permission.MEASURE)
    frame = max(1, int(frame))
    with db.transaction() as session:
        instance_in_study(session, study_id, instance_id)
        row = session.exec(select(KeyImage).where(KeyImage.instance_id == instance_id, KeyImage.frame == frame)).first()
        if key and row is None:
            row = KeyImage(
                study_id=study_id,
                instance_id=instance_id,
                frame=frame,
                note=note.strip()[:200],
                created_by=by.username,
                created_at=clock.now(),
            )
            session.add(row)
            audit.record(session, by, 'key_image.add', row, detail={'study_id': study_id, 'frame': frame})
        elif not key and row is not None:
            audit.record(session, by, 'key_image.remove', row, detail={'study_id': study_id, 'frame': frame})
            session.delete(row)
        else:
            return key
        events.publish_after(session, events.MeasurementsChanged(study_id))
    return key


def key_images(study_id: int, *, by: Actor) -> list[KeyImage]:
    """The study's key images in the order they were chosen."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        return list(
            session.exec(select(KeyImage).where(KeyImage.study_id == study_id).order_by(col(KeyImage.id))).all()
        )


# ---------------------------------------------------------------- private helpers


def _series_view(row: Series, instances: list[Instance]) -> SeriesView:
    ordered = sorted(instances, key=lambda i: (i.instance_number is None, i.instance_number or 0, i.id or 0))
    views = tuple(
        InstanceView(
            i.id or 0,
            i.sop_instance_uid,
            i.instance_number,
            max(1, i.number_of_frames),
            i.rows,
            i.columns,
            i.file_path,
            from_attributes(i.attributes or {}),
        )
        for i in ordered
    )
    return SeriesView(
        row.id or 0,
        row.series_instance_uid,
        row.modality,
        row.series_number,
        row.description,
        row.thumbnail_path,
        views,
        row.body_part,
        plane_of(ordered[0].attributes.get(ORIENTATION_TAG) if ordered else None, row.description),
    )


ORIENTATION_TAG = '00200037'  # Image Orientation (Patient), as the metadata job indexes it (DICOM JSON)
PLANE_WORDS = {
    'sagittal': frozenset({'sag', 'sagittal'}),
    'coronal': frozenset({'cor', 'coronal'}),
    'axial': frozenset({'ax', 'axial', 'tra', 'trans', 'transverse'}),
}


def plane_of(orientation: Any, description: str = '') -> str:
    """A series' plane from its first image's indexed Image Orientation (Patient) (PS3.3 C.7.6.2.1.1): the
    patient axis the slice normal runs along; else a word of its description (SAG, COR, AX); else ''.

    Read from the index the metadata job fills, never from the files, so opening a study stays one query."""
    values = orientation.get('Value') if isinstance(orientation, dict) else None
    if isinstance(values, list) and len(values) == 6:
        try:
            (a, b, c), (d, e, f) = [float(v) for v in values[:3]], [float(v) for v in values[3:]]
        except (TypeError, ValueError):
            values = None
        else:
            normal = (abs(b * f - c * e), abs(c * d - a * f), abs(a * e - b * d))
            if max(normal) > 0.5:
                return ('sagittal', 'coronal', 'axial')[normal.index(max(normal))]
    words = set(description.lower().replace('_', ' ').split())
    for plane, names in PLANE_WORDS.items():
        if words & names:
            return plane
    return ''


def instance_in_study(session: Session, study_id: int, instance_id: int) -> None:
    """NotFound unless the instance belongs to the study (a measurement's or an annotation's image)."""
    found = session.exec(
        select(Instance.id).join(Series).where(Instance.id == instance_id, Series.study_id == study_id)
    ).first()
    if found is None:
        raise NotFound('No such image in this study')


def _measurement_view(row: Measurement) -> MeasurementView:
    return MeasurementView(
        row.id or 0,
        row.instance_id,
        row.frame,
        row.kind,
        list(row.points),
        row.value,
        row.unit,
        dict(row.stats),
        row.calibration,
        row.label,
        row.created_by,
        row.created_at,
    )
