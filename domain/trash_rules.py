"""What the trash refuses: a delete without a reason, anything under legal hold, a restore over what was received
again (domain.trash); and the row locks its steps take."""

from sqlmodel import Session, col, select

from . import trash_rows
from .errors import Conflict, InvalidInput, NotFound
from .models import Instance, Patient, Series, Study, TrashItem
from .trash_records import SERIES, STUDY

REASON_MAX = 500


def reason(text: str) -> str:
    """The reason given, trimmed; refused when empty or over REASON_MAX characters."""
    given = (text or '').strip()
    if not given:
        raise InvalidInput('Say why (a reason is required)', {'reason': 'required'})
    if len(given) > REASON_MAX:
        raise InvalidInput('The reason is too long (at most {count} characters)', count=REASON_MAX)
    return given


def locked_study(session: Session, study_id: int) -> Study:
    """The study, its row locked for this transaction (NotFound when it is not in the index)."""
    study = session.exec(select(Study).where(Study.id == study_id).with_for_update()).first()
    if study is None:
        raise NotFound('No study {study_id}', study_id=study_id)
    return study


def locked_item(session: Session, item_id: int) -> TrashItem:
    """The trash item, its row locked for this transaction (NotFound when it is gone)."""
    item = session.exec(select(TrashItem).where(TrashItem.id == item_id).with_for_update()).first()
    if item is None:
        raise NotFound('No item {item_id} in the trash', item_id=item_id)
    return item


def refuse_held(session: Session, study: Study, *, moving: bool) -> None:
    """Refuse to delete (or move) a study under legal hold, or one of a patient under legal hold."""
    if study.legal_hold:
        if moving:
            raise Conflict('This study is under legal hold: it cannot be moved to another patient')
        raise Conflict('This study is under legal hold: it cannot be deleted')
    if patient_held(session, study.patient_ref_id):
        if moving:
            raise Conflict('The patient is under legal hold: their studies cannot be moved to another patient')
        raise Conflict('The patient is under legal hold: their studies cannot be deleted')


def patient_held(session: Session, patient_id: int | None) -> bool:
    """True when the patient, or the record they were merged into, is under legal hold."""
    patient = session.get(Patient, patient_id) if patient_id is not None else None
    if patient is not None and not patient.legal_hold and patient.merged_into_id is not None:
        patient = session.get(Patient, patient.merged_into_id)
    return patient is not None and patient.legal_hold


def refuse_collisions(session: Session, item: TrashItem, rows: trash_rows.Rows) -> None:
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
