"""Studies, series and instances as they arrive from modalities, and how they become ready to read.

An arriving image is recorded in one short transaction (`record_instance`) after its file is on disk.
Its study links to an appointment by Accession Number, else to a patient by Patient ID, else it waits
in the unmatched list. A study is *receiving* while images come in, *processing* once a quiet period
has passed (metadata and thumbnails are built by jobs), and *ready* when nothing is left to do.

Series.thumbnail_sha256 is None while a thumbnail is owed, '' when the series has no picture to show
(a report, an undecodable image) and the PNG's digest once it is built.
"""

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from . import appointments, audit, clock, db, events, short_ids, work
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput
from .models import Appointment, Instance, Patient, Series, Study

log = logging.getLogger(__name__)

RECEIVING, PROCESSING, READY = 'receiving', 'processing', 'ready'
STORED, PROCESSED, FAILED = 'stored', 'processed', 'failed'
METADATA_JOB, THUMBNAIL_JOB = 'extract_metadata', 'build_thumbnails'
UPDATE_EVERY_S = 1.0  # at most one StudyUpdated per study and second while images stream in


@dataclass(frozen=True)
class InstanceHeader:
    """What the index keeps of one arriving image's header (decoded, validated plain values)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str = ''
    patient_name: str = ''
    patient_id: str = ''
    patient_birth_date: str = ''
    patient_sex: str = ''
    accession_number: str = ''
    study_date: date | None = None
    study_time: str = ''
    study_id: str = ''
    study_description: str = ''
    referring_physician: str = ''
    modality: str = ''
    series_number: int | None = None
    series_description: str = ''
    body_part: str = ''
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int = 1
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredFile:
    """Where the arriving image's file now lies (relative to the data directory) and what it holds."""

    path: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording one image: 'stored', or 'duplicate' (the same file was already here)."""

    outcome: str
    instance_id: int
    series_id: int
    study_id: int
    new_study: bool = False


class DifferentDuplicate(Conflict):
    """A different file with a SOP Instance UID already stored: kept out of the index."""

    def __init__(self, sop_instance_uid: str, instance_id: int) -> None:
        super().__init__('A different image with the same SOP Instance UID is already stored')
        self.sop_instance_uid = sop_instance_uid
        self.instance_id = instance_id


@dataclass(frozen=True)
class SeriesSummary:
    id: int
    series_instance_uid: str
    modality: str
    series_number: int | None
    description: str
    num_instances: int
    thumbnail_path: str | None


@dataclass(frozen=True)
class StudySummary:
    """A study as the Studies and Unmatched screens list it."""

    id: int
    study_instance_uid: str
    state: str
    patient_ref_id: int | None
    patient_name: str
    patient_id: str
    clinic_patient_name: str | None
    appointment_id: int | None
    accession_number: str
    study_date: date | None
    description: str
    modalities: str
    num_series: int
    num_instances: int
    size_bytes: int
    source_ae: str
    last_arrival: Any
    series: tuple[SeriesSummary, ...] = ()
    urgent: bool = False
    short_id: str = ''

    @property
    def matched(self) -> bool:
        return self.patient_ref_id is not None


@dataclass(frozen=True)
class FileToRead:
    instance_id: int
    file_path: str


@dataclass(frozen=True)
class ThumbnailJob:
    series_id: int
    file_path: str  # the middle image of the series, relative to the data directory
    thumbnail_path: str  # where the PNG goes, relative to the data directory


# ---------------------------------------------------------------- arriving images


def record_instance(header: InstanceHeader, stored: StoredFile, *, by: Actor) -> Recorded:
    """Index one image whose file is already in place; commits before the modality hears success."""
    require(by, Permission.STORE_DICOM)
    for attempt in range(3):
        try:
            return _record(header, stored, by)
        except IntegrityError:
            # Another association created the same study or series a moment ago (PostgreSQL): read it now.
            if attempt == 2:
                raise
    raise AssertionError('unreachable')


def record_transfer(study_counts: dict[int, int], *, by: Actor) -> None:
    """Audit what one association or upload delivered: one event per study (IHE ATNA style)."""
    if not study_counts:
        return
    with db.transaction() as session:
        for study_id, count in study_counts.items():
            audit.record(
                session, by, 'study.receive', object_type='study', object_id=study_id, detail={'instances': count}
            )


def record_conflict(sop_instance_uid: str, kept_as: str, *, by: Actor) -> None:
    """Tell the administrator (audit trail) that a different file with a known UID was kept out."""
    with db.transaction() as session:
        audit.record(
            session,
            by,
            'instance.conflict',
            object_type='instance',
            object_id=sop_instance_uid,
            outcome='refused',
            detail={'kept_as': kept_as},
        )


def _record(header: InstanceHeader, stored: StoredFile, by: Actor) -> Recorded:
    now = clock.now()
    publish_update = False
    with db.transaction() as session:
        existing = session.exec(select(Instance).where(Instance.sop_instance_uid == header.sop_instance_uid)).first()
        if existing is not None:
            series = session.get(Series, existing.series_id)
            if existing.sha256 != stored.sha256:
                raise DifferentDuplicate(header.sop_instance_uid, existing.id or 0)
            return Recorded('duplicate', existing.id or 0, existing.series_id, series.study_id if series else 0)
        study = session.exec(select(Study).where(Study.study_instance_uid == header.study_instance_uid)).first()
        new_study = study is None
        if study is None:
            study = _new_study(session, header, by, now)
        series = session.exec(select(Series).where(Series.series_instance_uid == header.series_instance_uid)).first()
        if series is not None and series.study_id != study.id:
            raise InvalidInput('The series of this image belongs to another study')
        # Counters are added to in SQL (col = col + 1), not read and written back: images of one series arrive on
        # parallel associations, and on PostgreSQL two transactions would each write back the same count.
        if series is None:
            series = Series(
                study_id=study.id or 0,
                series_instance_uid=header.series_instance_uid,
                modality=header.modality[:16],
                series_number=header.series_number,
                description=header.series_description[:200],
                body_part=header.body_part[:64],
                num_instances=1,
            )
            study.num_series = Study.num_series + 1
            publish_update = True
        else:
            series.num_instances = Series.num_instances + 1
        session.add(series)
        session.flush()
        instance = Instance(
            series_id=series.id or 0,
            sop_instance_uid=header.sop_instance_uid,
            sop_class_uid=header.sop_class_uid,
            transfer_syntax_uid=header.transfer_syntax_uid,
            instance_number=header.instance_number,
            file_path=stored.path,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            rows=header.rows,
            columns=header.columns,
            number_of_frames=header.number_of_frames,
            attributes=header.attributes,
            received_at=now,
        )
        session.add(instance)
        study.num_instances = Study.num_instances + 1
        study.size_bytes = Study.size_bytes + stored.size_bytes
        study.last_arrival = now
        if header.modality and header.modality not in study.modalities.split('\\'):
            study.modalities = '\\'.join(m for m in (*study.modalities.split('\\'), header.modality) if m)[:64]
        if study.state != RECEIVING:
            study.state, study.ready_at, publish_update = RECEIVING, None, True
        session.add(study)
        session.flush()
        study_id = study.id or 0
        if new_study:
            events.publish_after(session, events.StudyArrived(study_id))
        elif publish_update or _due(study_id):
            events.publish_after(session, events.StudyUpdated(study_id, RECEIVING))
        result = Recorded('stored', instance.id or 0, series.id or 0, study_id, new_study)
    return result


def _new_study(session: Session, header: InstanceHeader, by: Actor, now: Any) -> Study:
    study = Study(
        study_instance_uid=header.study_instance_uid,
        patient_name=header.patient_name[:200],
        dicom_patient_id=header.patient_id[:64],
        patient_birth_date=header.patient_birth_date[:8],
        patient_sex=header.patient_sex[:16],
        accession_number=header.accession_number[:16],
        study_date=header.study_date,
        study_time=header.study_time[:16],
        study_id=header.study_id[:16],
        description=header.study_description[:200],
        referring_physician=header.referring_physician[:200],
        source_ae=by.username[:16],
        first_arrival=now,
        last_arrival=now,
        state=RECEIVING,
    )
    appointment = None
    if header.accession_number:
        appointment = session.exec(
            select(Appointment).where(Appointment.accession_number == header.accession_number)
        ).first()
    if appointment is not None:
        study.appointment_id, study.patient_ref_id, study.urgent = (
            appointment.id,
            appointment.patient_id,
            appointment.urgent,
        )
        appointments.images_arriving(session, appointment.id or 0)
    elif header.patient_id:
        patient = session.exec(select(Patient).where(Patient.patient_id == header.patient_id)).first()
        if patient is not None:
            study.patient_ref_id = patient.merged_into_id or patient.id
    study.short_id = short_ids.code_for_arrival(session, appointment)
    session.add(study)
    session.flush()
    audit.record(
        session,
        by,
        'study.arrive',
        study,
        detail={'study_instance_uid': study.study_instance_uid, 'matched': study.patient_ref_id is not None},
    )
    log.info(
        'study %s arrived from %s (%s)',
        study.id,
        by.username,
        'matched' if study.patient_ref_id is not None else 'unmatched',
    )
    return study


_last_update: dict[int, float] = {}
_update_lock = threading.Lock()


def _due(study_id: int) -> bool:
    """True at most once a second per study, so a streaming study does not flood every screen."""
    now = time.monotonic()
    with _update_lock:
        if now - _last_update.get(study_id, 0.0) < UPDATE_EVERY_S:
            return False
        if len(_last_update) > 10_000:
            _last_update.clear()
        _last_update[study_id] = now
        return True


# ---------------------------------------------------------------- processing (called by jobs)


def receiving_studies() -> Sequence[int]:
    """Studies still receiving (start-up decides them again)."""
    with db.reading() as session:
        return session.exec(select(Study.id).where(Study.state == RECEIVING)).all()  # type: ignore[return-value]


def overdue_decisions(quiet_seconds: float, margin_seconds: float, *, limit: int = 100) -> Sequence[int]:
    """Studies still receiving though their quiet period ended `margin_seconds` ago: the decision owed to them
    was lost (a broker that was down, a message out of retries, a process that died). The study's state and
    last arrival are the record of it; the sweeper decides them."""
    before = clock.now() - timedelta(seconds=quiet_seconds + margin_seconds)
    with db.reading() as session:
        return session.exec(  # type: ignore[return-value]
            select(Study.id)
            .where(Study.state == RECEIVING, col(Study.last_arrival) < before)
            .order_by(col(Study.last_arrival))
            .limit(limit)
        ).all()


def complete_if_quiet(study_id: int, quiet_seconds: float) -> float:
    """Move a study that received nothing for `quiet_seconds` to processing; else the seconds left to wait."""
    with db.transaction() as session:
        # The row lock makes two deciders (a queued decision and a sweeper, or two sweepers) decide it once.
        study = session.exec(select(Study).where(Study.id == study_id).with_for_update()).first()
        if study is None or study.state != RECEIVING:
            return 0.0
        last = _aware(study.last_arrival)
        left = (last + timedelta(seconds=quiet_seconds) - clock.now()).total_seconds()
        if left > 0:
            return left
        study.state = PROCESSING
        session.add(study)
        owed = session.exec(
            select(Series).where(
                Series.study_id == study_id,
                (col(Series.thumbnail_sha256).is_(None))
                | col(Series.id).in_(select(Instance.series_id).where(Instance.state == STORED)),
            )
        ).all()
        for series in owed:
            series.thumbnail_sha256 = None
            session.add(series)
            work.enqueue(session, METADATA_JOB, series.id or 0)
            work.enqueue(session, THUMBNAIL_JOB, series.id or 0)
        events.publish_after(session, events.StudyUpdated(study_id, PROCESSING))
        if not owed:
            _ready_if_done(session, study)
    log.info('study %s complete after a quiet period; %d series to process', study_id, len(owed))
    return 0.0


def instances_to_extract(series_id: int) -> Sequence[FileToRead]:
    """The images of a series whose metadata is still owed."""
    with db.reading() as session:
        rows = session.exec(
            select(Instance.id, Instance.file_path)
            .where(Instance.series_id == series_id, Instance.state == STORED)
            .order_by(col(Instance.id))
        ).all()
    return [FileToRead(row[0] or 0, row[1]) for row in rows]


def metadata_extracted(series_id: int, extracted: dict[int, dict[str, Any] | None]) -> None:
    """Keep each image's extracted attributes (None: its file could not be read) and mark it processed."""
    with db.transaction() as session:
        for instance_id, attributes in extracted.items():
            instance = session.get(Instance, instance_id)
            if instance is None or instance.state != STORED:
                continue
            if attributes is None:
                instance.state = FAILED
            else:
                instance.attributes = {**instance.attributes, **attributes}
                instance.state = PROCESSED
            session.add(instance)
        series = session.get(Series, series_id)
        study = session.get(Study, series.study_id) if series else None
        if study is not None:
            _ready_if_done(session, study)


def thumbnail_source(series_id: int) -> ThumbnailJob | None:
    """The middle image of a series whose thumbnail is owed; None when there is nothing to build."""
    with db.reading() as session:
        series = session.get(Series, series_id)
        if series is None or series.thumbnail_sha256 is not None:
            return None
        files = session.exec(
            select(Instance.file_path)
            .where(Instance.series_id == series_id, col(Instance.rows).is_not(None))
            .order_by(col(Instance.instance_number), col(Instance.id))
        ).all()
    if not files:
        return ThumbnailJob(series_id, '', f'thumbnails/{series_id}.png')
    return ThumbnailJob(series_id, files[len(files) // 2], f'thumbnails/{series_id}.png')


def thumbnail_ready(series_id: int, thumbnail_path: str | None, sha256: str) -> None:
    """Record the series' thumbnail ('' and None: it has no picture to show) and finish the study if done."""
    with db.transaction() as session:
        series = session.get(Series, series_id)
        if series is None:
            return
        series.thumbnail_path, series.thumbnail_sha256 = thumbnail_path, sha256
        session.add(series)
        study = session.get(Study, series.study_id)
        if study is not None:
            _ready_if_done(session, study)


def _ready_if_done(session: Session, study: Study) -> None:
    # The study's jobs (metadata, thumbnails) finish on parallel worker threads. Holding the study's row lock
    # while looking makes the last of them see what the others committed: on PostgreSQL, without it, two jobs
    # finishing together each saw the other's work as still owed and the study never became ready. (SQLite's
    # write transactions are serial already.)
    session.flush()
    session.refresh(study, with_for_update=True)
    if study.state != PROCESSING:
        return
    series_ids = select(Series.id).where(Series.study_id == study.id)
    waiting = session.exec(
        select(func.count()).where(col(Instance.series_id).in_(series_ids), Instance.state == STORED)
    ).one()
    owed = session.exec(
        select(func.count()).where(Series.study_id == study.id, col(Series.thumbnail_sha256).is_(None))
    ).one()
    if waiting or owed:
        return
    study.state, study.ready_at = READY, clock.now()
    session.add(study)
    if study.appointment_id is not None:
        appointments.study_ready(session, study.appointment_id)
    events.publish_after(session, events.StudyUpdated(study.id or 0, READY))
    events.publish_after(session, events.StudyReady(study.id or 0))
    log.info('study %s ready', study.id)


def pending_instances() -> int:
    """Instances acknowledged to a modality but not yet fully processed (metadata, thumbnails)."""
    with db.reading() as session:
        return session.exec(select(func.count()).where(Instance.state == STORED)).one()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite hands back naive UTC
