"""The trash: a wrongly sent study or series deleted by an administrator, kept `trash_days`, restorable, then purged.

Nothing else in the product knows about the trash. Deleting takes the study (or series) and every row that depends
on it by foreign key out of the index (domain.trash_rows: series, instances, measurements, key images, reports,
forwards) and keeps them, as JSON, in one TrashItem row; its files (images, thumbnails, report PDFs) move under
PACS_DATA_DIR/trash/<item id>/ at their own relative paths (domain.trash_files). Every query of the index therefore
simply does not see it, and a restore puts back the same rows (same ids) and the same files at the same paths.

Order, so that a crash at any point leaves the index and the disk consistent:
- delete: ONE transaction writes the item (state `moving`, with the list of files), deletes the rows, fixes the
  counters and audits; then the files move; then the item becomes `kept`. A crash between leaves files the index no
  longer names at their old place and an item still `moving`: `settle()` (run by `purge_expired`, hourly, and by a
  restore or purge of that item) moves them on. A file is never in the trash while a row still names it.
- restore: a transaction checks that nothing was received again under the item's UIDs and marks it `restoring`;
  the files move back (never over another file); ONE transaction inserts the rows, fixes the counters, deletes the
  item and audits. If that fails the files go back into the trash and the item is `kept` again; after a crash,
  `settle()` does the same for an item `restoring` for over an hour. No row names a file before it is in place.
- purge: ONE transaction deletes the item and audits; then its folder goes. A folder left without its item
  (a crash in between) is removed by `settle()`.

A series whose study is left without series: the study stays (0 series, counters right), listed like any study,
so the administrator sees what is left and deletes it too if it was all wrong. Its counters (num_series,
num_instances, size_bytes) and ModalitiesInStudy always say what the index holds. Studies or patients under legal
hold are never deleted (nor moved to another patient). A study that arrives again with a deleted study's UID is
a new study: the deleted one can then no longer be restored (it would collide), only purged.

On SQLite an id is given again when the row with the highest id is deleted; a restore then gives such rows new ids
(their foreign keys follow) and a thumbnail or PDF named by that id a name of its own beside the taken one.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from . import audit, clock, db, events, options, studies, trash_files, trash_rows
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotFound
from .models import Appointment, Instance, Patient, Series, Study, TrashItem

log = logging.getLogger(__name__)

MOVING, KEPT, RESTORING = 'moving', 'kept', 'restoring'
STUDY, SERIES = 'study', 'series'
REASON_MAX = 500
_WITHOUT_ROWS = defer(TrashItem.rows)  # type: ignore[arg-type]  # megabytes for a large study: restore reads it
STALE = timedelta(hours=1)  # settle() finishes a move or undoes a restore left this long (a crash, not a live one)


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


# ---------------------------------------------------------------- delete


def trash_study(study_id: int, *, by: Actor, reason: str) -> TrashEntry:
    """Move a study with its series, images, measurements, key images and reports to the trash (administrators)."""
    require(by, Permission.DELETE_STUDIES)
    reason = _reason(reason)
    with db.transaction() as session:
        study = _locked_study(session, study_id)
        _refuse_held(session, study, moving=False)
        rows = trash_rows.collect(session, 'study', study_id)
        instances = rows.get('instance', [])
        item = TrashItem(
            kind=STUDY,
            study_id=study_id,
            study_instance_uid=study.study_instance_uid,
            patient_ref_id=study.patient_ref_id,
            summary=_summary(session, study),
            reason=reason,
            trashed_by=by.username[:64],
            num_series=len(rows.get('series', [])),
            num_instances=len(instances),
            size_bytes=sum(row['size_bytes'] for row in instances),
            files=trash_rows.files(rows),
            rows=trash_rows.dumps(rows),
        )
        session.add(item)
        session.flush()
        trash_rows.delete(session, rows)
        audit.record(session, by, 'study.trash', object_type='study', object_id=study_id, detail=_detail(item))
        _publish(session, study_id, study.patient_ref_id, state='deleted')
    _settle_item(item.id or 0)
    log.info('study %s moved to the trash (item %s, %d images)', study_id, item.id, item.num_instances)
    return _entry(item, _trash_days())


def trash_series(series_id: int, *, by: Actor, reason: str) -> TrashEntry:
    """Move one series with its images (and their measurements and key images) to the trash (administrators)."""
    require(by, Permission.DELETE_STUDIES)
    reason = _reason(reason)
    with db.transaction() as session:
        series = session.get(Series, series_id)
        if series is None:
            raise NotFound('No series {series_id}', series_id=series_id)
        study = _locked_study(session, series.study_id)
        _refuse_held(session, study, moving=False)
        rows = trash_rows.collect(session, 'series', series_id)
        instances = rows.get('instance', [])
        size = sum(row['size_bytes'] for row in instances)
        item = TrashItem(
            kind=SERIES,
            study_id=study.id or 0,
            series_id=series_id,
            study_instance_uid=study.study_instance_uid,
            series_instance_uid=series.series_instance_uid,
            patient_ref_id=study.patient_ref_id,
            summary=_summary(session, study, series),
            reason=reason,
            trashed_by=by.username[:64],
            num_series=1,
            num_instances=len(instances),
            size_bytes=size,
            files=trash_rows.files(rows),
            rows=trash_rows.dumps(rows),
        )
        session.add(item)
        session.flush()
        trash_rows.delete(session, rows)
        _count(session, study, series=-1, instances=-len(instances), size=-size)
        if study.state == studies.PROCESSING:
            # NOTE: the series may have been the work the study waited for (a broken image): ready if nothing is left
            studies._ready_if_done(session, study)
        audit.record(session, by, 'series.trash', object_type='series', object_id=series_id, detail=_detail(item))
        _publish(session, study.id or 0, study.patient_ref_id, state=study.state)
    _settle_item(item.id or 0)
    log.info('series %s of study %s moved to the trash (item %s)', series_id, study.id, item.id)
    return _entry(item, _trash_days())


# ---------------------------------------------------------------- restore


def restore(item_id: int, *, by: Actor) -> int:
    """Bring an item back whole: the same rows and files at the same places; returns the study id."""
    require(by, Permission.DELETE_STUDIES)
    _settle_item(item_id)
    with db.transaction() as session:
        item = _locked_item(session, item_id)
        if item.state != KEPT:
            raise Conflict('This item is being restored or deleted already')
        rows = trash_rows.loads(item.rows)
        _refuse_collisions(session, item, rows)
        targets = {path: trash_files.free_target(item_id, path) for path in item.files}
        item.state, item.state_at = RESTORING, clock.now()
        item.summary = {**item.summary, 'restore_to': targets}
        session.add(item)
    try:
        trash_files.move_out(item_id, targets)  # on failure it has put back what it moved
    except BaseException:
        _set_state(item_id, RESTORING, KEPT)
        raise
    try:
        study_id = _put_back(item_id, rows, targets, by)
    except Exception:
        _undo_restore(item_id, targets)
        raise
    trash_files.remove(item_id)
    return study_id


def _put_back(item_id: int, rows: trash_rows.Rows, targets: dict[str, str], by: Actor) -> int:
    trash_rows.rename_files(rows, {old: new for old, new in targets.items() if old != new})
    try:
        with db.transaction() as session:
            item = _locked_item(session, item_id)
            moved = trash_rows.insert(session, rows)
            study_id = moved.get(('study', item.study_id), item.study_id)
            study = _locked_study(session, study_id)
            if item.kind == SERIES:
                instances = rows.get('instance', [])
                size = sum(row['size_bytes'] for row in instances)
                _count(session, study, series=1, instances=len(instances), size=size, order=item.summary)
            detail = {**_detail(item), 'ids_changed': len(moved)}
            audit.record(
                session,
                by,
                f'{item.kind}.restore',
                object_type=item.kind,
                object_id=item.study_id if item.kind == STUDY else item.series_id,
                detail=detail,
            )
            session.delete(item)
            _publish(session, study_id, study.patient_ref_id, state=study.state)
    except IntegrityError:
        raise Conflict('An image of this item was received again meanwhile; it cannot be restored over it') from None
    log.info('trash item %s restored (%d rows under new ids)', item_id, len(moved))
    return study_id


def _undo_restore(item_id: int, targets: dict[str, str]) -> None:
    trash_files.move_back(item_id, targets)
    with db.transaction() as session:
        item = session.get(TrashItem, item_id)
        if item is not None and item.state == RESTORING:
            item.state, item.state_at = KEPT, clock.now()
            session.add(item)


# ---------------------------------------------------------------- purge


def purge(item_id: int, *, by: Actor) -> None:
    """Delete an item's rows and files for good ("Empty now"); audited."""
    require(by, Permission.DELETE_STUDIES)
    _purge(item_id, by, expired=False)


def purge_expired(*, by: Actor) -> int:
    """Finish what a crash left (settle), then purge every item older than `trash_days`; returns how many."""
    require(by, Permission.DELETE_STUDIES)
    settle()
    cutoff = clock.now() - timedelta(days=_trash_days())
    with db.reading() as session:
        due = session.exec(
            select(TrashItem.id)
            .where(TrashItem.trashed_at < cutoff, TrashItem.state == KEPT)
            .order_by(col(TrashItem.id))
        ).all()
    purged = 0
    for item_id in due:
        try:
            _purge(item_id or 0, by, expired=True)
        except (NotFound, Conflict):  # restored or purged by someone else meanwhile, or its patient now held
            continue
        purged += 1
    if purged:
        log.info('purged %d trash item(s) older than %d days', purged, _trash_days())
    return purged


def _purge(item_id: int, by: Actor, *, expired: bool) -> None:
    _settle_item(item_id)
    with db.transaction() as session:
        item = _locked_item(session, item_id)
        if item.state != KEPT:
            raise Conflict('This item is being restored or deleted already')
        if _patient_held(session, item.patient_ref_id):
            raise Conflict('The patient is under legal hold: what was deleted of theirs is kept until it is lifted')
        audit.record(
            session,
            by,
            'trash.purge',
            object_type='trash',
            object_id=item_id,
            detail={**_detail(item), 'expired': expired},
        )
        session.delete(item)
    trash_files.remove(item_id)
    log.info('trash item %s purged (%s %s)', item_id, item.kind, item.study_instance_uid)


# ---------------------------------------------------------------- recovery after a crash


def settle() -> int:
    """Finish moves and undo restores a crash left behind, and remove folders whose item is gone; returns how many
    items or folders it put right."""
    fixed = 0
    folders = trash_files.folders()  # before the items: a folder is made only after its item is committed
    stale = clock.now() - STALE
    with db.reading() as session:
        items = session.exec(select(TrashItem).options(_WITHOUT_ROWS)).all()
    known = {item.id for item in items}
    for item in items:
        if item.state == MOVING or (item.state == RESTORING and _aware(item.state_at) < stale):
            _settle_item(item.id or 0, restoring_too=True)
            fixed += 1
    for folder in folders:
        if folder not in known:
            trash_files.remove(folder)
            log.info('removed trash/%s: its item was purged before the crash', folder)
            fixed += 1
    return fixed


def _settle_item(item_id: int, *, restoring_too: bool = False) -> None:
    with db.reading() as session:
        item = session.get(TrashItem, item_id, options=[_WITHOUT_ROWS])
    if item is None:
        return
    if item.state == MOVING:
        trash_files.move_in(item_id, item.files)
        trash_files.drop_caches(item.files)
        _set_state(item_id, MOVING, KEPT)
    elif item.state == RESTORING and restoring_too:
        trash_files.move_back(item_id, item.summary.get('restore_to') or {path: path for path in item.files})
        _set_state(item_id, RESTORING, KEPT)
        log.warning('trash item %s: a restore left unfinished was undone', item_id)


def _set_state(item_id: int, old: str, new: str) -> None:
    with db.transaction() as session:
        item = session.get(TrashItem, item_id)
        if item is not None and item.state == old:
            item.state, item.state_at = new, clock.now()
            session.add(item)


# ---------------------------------------------------------------- reading


def items(*, by: Actor) -> list[TrashEntry]:
    """What the trash holds, newest first, with the days left before each is purged."""
    require(by, Permission.DELETE_STUDIES)
    days = _trash_days()
    with db.reading() as session:
        found = session.exec(
            select(TrashItem).options(_WITHOUT_ROWS).order_by(col(TrashItem.trashed_at).desc(), col(TrashItem.id))
        ).all()
    return [_entry(item, days) for item in found]


def hold_reason(study_id: int, *, by: Actor) -> str:
    """Why this study may not be deleted or moved ('' when it may)."""
    require(by, Permission.DELETE_STUDIES)
    with db.reading() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('No study {study_id}', study_id=study_id)
        try:
            _refuse_held(session, study, moving=False)
        except Conflict as held:
            return str(held)
    return ''


# ---------------------------------------------------------------- move to another patient


def move_study(study_id: int, patient_id: int, *, by: Actor, reason: str) -> None:
    """File a wrongly matched study under another patient (administrators, with a reason); audited old → new."""
    require(by, Permission.DELETE_STUDIES)
    reason = _reason(reason)
    with db.transaction() as session:
        study = _locked_study(session, study_id)
        _refuse_held(session, study, moving=True)
        patient = session.get(Patient, patient_id)
        if patient is not None and patient.merged_into_id is not None:
            patient = session.get(Patient, patient.merged_into_id)
        if patient is None:
            raise NotFound('No patient {patient_id}', patient_id=patient_id)
        previous = study.patient_ref_id
        if previous == patient.id:
            raise InvalidInput('The study is already filed under this patient')
        appointment_id = study.appointment_id
        if appointment_id is not None:
            booked_for = session.get(Appointment, appointment_id)
            if booked_for is not None and booked_for.patient_id != patient.id:
                study.appointment_id = None  # the booking was the other patient's: the link goes with the mistake
        study.patient_ref_id = patient.id
        session.add(study)
        audit.record(
            session,
            by,
            'study.move',
            study,
            detail={
                'from_patient': previous,
                'to_patient': patient.id,
                'appointment_unlinked': appointment_id if study.appointment_id is None else None,
                'study_instance_uid': study.study_instance_uid,
                'reason': reason,
            },
        )
        events.publish_after(session, events.StudyMatched(study_id, patient.id or 0))
        _publish(session, study_id, previous, state=study.state)
        events.publish_after(session, events.PatientChanged(patient.id or 0))
    log.info('study %s moved from patient %s to patient %s', study_id, previous, patient.id)


# ---------------------------------------------------------------- helpers


def _reason(reason: str) -> str:
    reason = (reason or '').strip()
    if not reason:
        raise InvalidInput('Say why (a reason is required)', {'reason': 'required'})
    if len(reason) > REASON_MAX:
        raise InvalidInput('The reason is too long (at most {count} characters)', count=REASON_MAX)
    return reason


def _locked_study(session: Session, study_id: int) -> Study:
    study = session.exec(select(Study).where(Study.id == study_id).with_for_update()).first()
    if study is None:
        raise NotFound('No study {study_id}', study_id=study_id)
    return study


def _locked_item(session: Session, item_id: int) -> TrashItem:
    item = session.exec(select(TrashItem).where(TrashItem.id == item_id).with_for_update()).first()
    if item is None:
        raise NotFound('No item {item_id} in the trash', item_id=item_id)
    return item


def _refuse_held(session: Session, study: Study, *, moving: bool) -> None:
    if study.legal_hold:
        if moving:
            raise Conflict('This study is under legal hold: it cannot be moved to another patient')
        raise Conflict('This study is under legal hold: it cannot be deleted')
    if _patient_held(session, study.patient_ref_id):
        if moving:
            raise Conflict('The patient is under legal hold: their studies cannot be moved to another patient')
        raise Conflict('The patient is under legal hold: their studies cannot be deleted')


def _patient_held(session: Session, patient_id: int | None) -> bool:
    """True when the patient, or the record they were merged into, is under legal hold."""
    patient = session.get(Patient, patient_id) if patient_id is not None else None
    if patient is not None and not patient.legal_hold and patient.merged_into_id is not None:
        patient = session.get(Patient, patient.merged_into_id)
    return patient is not None and patient.legal_hold


def _refuse_collisions(session: Session, item: TrashItem, rows: trash_rows.Rows) -> None:
    """Refuse a restore over a study, series or image received again since the item was deleted."""
    if item.kind == SERIES:
        study = session.get(Study, item.study_id)
        if study is None or study.study_instance_uid != item.study_instance_uid:
            held = session.exec(
                select(TrashItem.id).where(TrashItem.kind == STUDY, TrashItem.study_id == item.study_id)
            ).first()
            if held is not None:
                raise Conflict('The study of this series is in the trash too: restore the study first')
            raise Conflict('The study of this series is no longer on file; the series cannot be restored')
    elif session.exec(select(Study.id).where(Study.study_instance_uid == item.study_instance_uid)).first():
        raise Conflict(
            'The study was received again since it was deleted (Study Instance UID {uid}); it cannot be restored',
            uid=item.study_instance_uid,
        )
    series_uids = [row['series_instance_uid'] for row in rows.get('series', [])]
    if series_uids and session.exec(select(Series.id).where(col(Series.series_instance_uid).in_(series_uids))).first():
        raise Conflict('A series of this item was received again since it was deleted; it cannot be restored')
    sop_uids = [row['sop_instance_uid'] for row in rows.get('instance', [])]
    for start in range(0, len(sop_uids), trash_rows.CHUNK):
        chunk = sop_uids[start : start + trash_rows.CHUNK]
        if session.exec(select(Instance.id).where(col(Instance.sop_instance_uid).in_(chunk))).first():
            raise Conflict('An image of this item was received again since it was deleted; it cannot be restored')


def _count(
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


def _summary(session: Session, study: Study, series: Series | None = None) -> dict[str, Any]:
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


def _detail(item: TrashItem) -> dict[str, Any]:
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


def _publish(session: Session, study_id: int, patient_id: int | None, *, state: str) -> None:
    events.publish_after(session, events.StudyUpdated(study_id, state))
    if patient_id is not None:
        events.publish_after(session, events.PatientChanged(patient_id))


def _entry(item: TrashItem, days: int) -> TrashEntry:
    age = clock.now() - _aware(item.trashed_at)
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


def _trash_days() -> int:
    return int(options.get('trash_days'))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite hands back naive UTC
