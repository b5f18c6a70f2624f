"""The trash: a wrongly sent study or series deleted by an administrator, kept `trash_days`, restorable, then purged.

Nothing else in the product knows about the trash. Deleting takes the study (or series) and every row that depends
on it by foreign key out of the index (domain.trash_rows: series, instances, measurements, key images, reports,
forwards) and keeps them, as JSON, in one TrashItem row; its files (images, thumbnails, report PDFs) move under
PACS_DATA_DIR/trash/<item id>/ at their own relative paths (domain.trash_files). Every query of the index therefore
simply does not see it, and a restore puts back the same rows (same ids) and the same files at the same paths.
What an item records and shows is in domain.trash_records, what the trash refuses in domain.trash_rules, and the
recovery after a crash (`settle()`) in domain.trash_recovery.

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
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from . import audit, clock, db, events, studies, trash_files, trash_records, trash_recovery, trash_rows, trash_rules
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotFound
from .models import Appointment, Patient, Series, Study, TrashItem
from .trash_records import KEPT, RESTORING, SERIES, STUDY, TrashEntry
from .trash_recovery import settle

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- delete


def trash_study(study_id: int, *, by: Actor, reason: str) -> TrashEntry:
    """Move a study with its series, images, measurements, key images and reports to the trash (administrators)."""
    require(by, Permission.DELETE_STUDIES)
    reason = trash_rules.reason(reason)
    with db.transaction() as session:
        study = trash_rules.locked_study(session, study_id)
        trash_rules.refuse_held(session, study, moving=False)
        rows = trash_rows.collect(session, 'study', study_id)
        instances = rows.get('instance', [])
        item = TrashItem(
            kind=STUDY,
            study_id=study_id,
            study_instance_uid=study.study_instance_uid,
            patient_ref_id=study.patient_ref_id,
            summary=trash_records.summary(session, study),
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
        audit.record(
            session, by, 'study.trash', object_type='study', object_id=study_id, detail=trash_records.detail(item)
        )
        trash_records.publish(session, study_id, study.patient_ref_id, state='deleted')
    trash_recovery.settle_item(item.id or 0)
    log.info('study %s moved to the trash (item %s, %d images)', study_id, item.id, item.num_instances)
    return trash_records.entry(item, trash_records.trash_days())


def trash_series(series_id: int, *, by: Actor, reason: str) -> TrashEntry:
    """Move one series with its images (and their measurements and key images) to the trash (administrators)."""
    require(by, Permission.DELETE_STUDIES)
    reason = trash_rules.reason(reason)
    with db.transaction() as session:
        series = session.get(Series, series_id)
        if series is None:
            raise NotFound('No series {series_id}', series_id=series_id)
        study = trash_rules.locked_study(session, series.study_id)
        trash_rules.refuse_held(session, study, moving=False)
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
            summary=trash_records.summary(session, study, series),
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
        trash_records.count(session, study, series=-1, instances=-len(instances), size=-size)
        if study.state == studies.PROCESSING:
            # NOTE: the series may have been the work the study waited for (a broken image): ready if nothing is left
            studies._ready_if_done(session, study)
        audit.record(
            session, by, 'series.trash', object_type='series', object_id=series_id, detail=trash_records.detail(item)
        )
        trash_records.publish(session, study.id or 0, study.patient_ref_id, state=study.state)
    trash_recovery.settle_item(item.id or 0)
    log.info('series %s of study %s moved to the trash (item %s)', series_id, study.id, item.id)
    return trash_records.entry(item, trash_records.trash_days())


# ---------------------------------------------------------------- restore


def restore(item_id: int, *, by: Actor) -> int:
    """Bring an item back whole: the same rows and files at the same places; returns the study id."""
    require(by, Permission.DELETE_STUDIES)
    trash_recovery.settle_item(item_id)
    with db.transaction() as session:
        item = trash_rules.locked_item(session, item_id)
        if item.state != KEPT:
            raise Conflict('This item is being restored or deleted already')
        rows = trash_rows.loads(item.rows)
        trash_rules.refuse_collisions(session, item, rows)
        targets = {path: trash_files.free_target(item_id, path) for path in item.files}
        item.state, item.state_at = RESTORING, clock.now()
        item.summary = {**item.summary, 'restore_to': targets}
        session.add(item)
    try:
        trash_files.move_out(item_id, targets)  # on failure it has put back what it moved
    except BaseException:
        trash_recovery.set_state(item_id, RESTORING, KEPT)
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
            item = trash_rules.locked_item(session, item_id)
            moved = trash_rows.insert(session, rows)
            study_id = moved.get(('study', item.study_id), item.study_id)
            study = trash_rules.locked_study(session, study_id)
            if item.kind == SERIES:
                instances = rows.get('instance', [])
                size = sum(row['size_bytes'] for row in instances)
                trash_records.count(session, study, series=1, instances=len(instances), size=size, order=item.summary)
            detail = {**trash_records.detail(item), 'ids_changed': len(moved)}
            audit.record(
                session,
                by,
                f'{item.kind}.restore',
                object_type=item.kind,
                object_id=item.study_id if item.kind == STUDY else item.series_id,
                detail=detail,
            )
            session.delete(item)
            trash_records.publish(session, study_id, study.patient_ref_id, state=study.state)
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
    cutoff = clock.now() - timedelta(days=trash_records.trash_days())
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
        log.info('purged %d trash item(s) older than %d days', purged, trash_records.trash_days())
    return purged


def _purge(item_id: int, by: Actor, *, expired: bool) -> None:
    trash_recovery.settle_item(item_id)
    with db.transaction() as session:
        item = trash_rules.locked_item(session, item_id)
        if item.state != KEPT:
            raise Conflict('This item is being restored or deleted already')
        if trash_rules.patient_held(session, item.patient_ref_id):
            raise Conflict('The patient is under legal hold: what was deleted of theirs is kept until it is lifted')
        audit.record(
            session,
            by,
            'trash.purge',
            object_type='trash',
            object_id=item_id,
            detail={**trash_records.detail(item), 'expired': expired},
        )
        session.delete(item)
    trash_files.remove(item_id)
    log.info('trash item %s purged (%s %s)', item_id, item.kind, item.study_instance_uid)


# ---------------------------------------------------------------- reading


def items(*, by: Actor) -> list[TrashEntry]:
    """What the trash holds, newest first, with the days left before each is purged."""
    require(by, Permission.DELETE_STUDIES)
    days = trash_records.trash_days()
    with db.reading() as session:
        found = session.exec(
            select(TrashItem)
            .options(trash_recovery.WITHOUT_ROWS)
            .order_by(col(TrashItem.trashed_at).desc(), col(TrashItem.id))
        ).all()
    return [trash_records.entry(item, days) for item in found]


def hold_reason(study_id: int, *, by: Actor) -> str:
    """Why this study may not be deleted or moved ('' when it may)."""
    require(by, Permission.DELETE_STUDIES)
    with db.reading() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('No study {study_id}', study_id=study_id)
        try:
            trash_rules.refuse_held(session, study, moving=False)
        except Conflict as held:
            return str(held)
    return ''


# ---------------------------------------------------------------- move to another patient


def move_study(study_id: int, patient_id: int, *, by: Actor, reason: str) -> None:
    """File a wrongly matched study under another patient (administrators, with a reason); audited old → new."""
    require(by, Permission.DELETE_STUDIES)
    reason = trash_rules.reason(reason)
    with db.transaction() as session:
        study = trash_rules.locked_study(session, study_id)
        trash_rules.refuse_held(session, study, moving=True)
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
        study.centre_id = patient.centre_id  # a study belongs to its patient's centre (domain.centres)
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
        trash_records.publish(session, study_id, previous, state=study.state)
        events.publish_after(session, events.PatientChanged(patient.id or 0))
    log.info('study %s moved from patient %s to patient %s', study_id, previous, patient.id)
