"""Searching the image index the DICOM way (QIDO-RS, C-FIND): keyword = value with the standard matching.

Matching follows PS3.4 C.2.2.2: single value, wildcard (* and ?), list of UIDs (comma or backslash
separated), and date ranges (YYYYMMDD-YYYYMMDD, open at either end). Person names and descriptions match
without regard to case or accents in any script: the pattern is folded like the `*_folded` columns
(domain.folding) and compared with them; other values match in their exact case.
A matched study answers with the clinic's patient (name and ID); it can also be found by what the
modality sent. Attributes the index does not hold are ignored (PS3.18 8.3.4.1).
"""

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, false, or_, union
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from . import audit, db, folding
from .access import Actor, Permission, require
from .models import Instance, Patient, Series, Study

log = logging.getLogger(__name__)

MAX_RESULTS = 1000

_ANY, _EQUALS = folding.Piece('*', wildcard=True), folding.Piece('=')
_LIKE_WILDCARD = {'*': '%', '?': '_'}
_LIKE_ESCAPES = str.maketrans({'\\': '\\\\', '%': '\\%', '_': '\\_'})
_GLOB_ESCAPES = str.maketrans({'*': '[*]', '?': '[?]', '[': '[[]'})
_patient, _study = aliased(Patient), aliased(Study)  # in subqueries, apart from the rows answered


def search_studies(match: dict[str, str], *, by: Actor, limit: int = 100, offset: int = 0) -> list[tuple[Any, ...]]:
    """Studies matching the keys: (study, clinic patient or None) rows."""
    require(by, Permission.QUERY_DICOM)
    query = select(Study, Patient).join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
    query = query.where(*_study_conditions(match)).order_by(col(Study.study_date).desc(), col(Study.id).desc())
    return _run(query, by, 'studies', limit, offset)


def search_series(
    match: dict[str, str], *, by: Actor, study_uid: str = '', limit: int = 100, offset: int = 0
) -> list[tuple[Any, ...]]:
    """Series matching the keys (within one study if given): (series, study, patient) rows."""
    require(by, Permission.QUERY_DICOM)
    query = (
        select(Series, Study, Patient)
        .join(Study, col(Study.id) == col(Series.study_id))
        .join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
    )
    if study_uid:
        query = query.where(Study.study_instance_uid == study_uid)
    query = query.where(*_study_conditions(match), *_series_conditions(match)).order_by(
        col(Study.id), col(Series.series_number), col(Series.id)
    )
    return _run(query, by, 'series', limit, offset)


def search_instances(
    match: dict[str, str], *, by: Actor, study_uid: str = '', series_uid: str = '', limit: int = 100, offset: int = 0
) -> list[tuple[Any, ...]]:
    """Instances matching the keys (within a study/series if given): (instance, series, study, patient) rows."""
    require(by, Permission.QUERY_DICOM)
    query = (
        select(Instance, Series, Study, Patient)
        .join(Series, col(Series.id) == col(Instance.series_id))
        .join(Study, col(Study.id) == col(Series.study_id))
        .join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
    )
    if study_uid:
        query = query.where(Study.study_instance_uid == study_uid)
    if series_uid:
        query = query.where(Series.series_instance_uid == series_uid)
    query = query.where(*_study_conditions(match), *_series_conditions(match), *_instance_conditions(match)).order_by(
        col(Series.id), col(Instance.instance_number), col(Instance.id)
    )
    return _run(query, by, 'instances', limit, offset)


def files_to_retrieve(match: dict[str, str], *, by: Actor) -> list[tuple[str, str, str]]:
    """The stored files a C-MOVE or C-GET identifier names (path, SOP class, transfer syntax), audited."""
    require(by, Permission.QUERY_DICOM)
    query = (
        select(Instance.file_path, Instance.sop_class_uid, Instance.transfer_syntax_uid)
        .join(Series, col(Series.id) == col(Instance.series_id))
        .join(Study, col(Study.id) == col(Series.study_id))
        .join(Patient, col(Patient.id) == col(Study.patient_ref_id), isouter=True)
        .where(*_study_conditions(match), *_series_conditions(match), *_instance_conditions(match))
        .order_by(col(Series.id), col(Instance.instance_number), col(Instance.id))
    )
    with db.reading() as session:
        files = [(row[0], row[1], row[2]) for row in session.exec(query).all()]
    audit.record_alone(
        by, 'dicom.retrieve', object_type='instances', object_id=str(len(files)), detail={'instances': len(files)}
    )
    return files


def _run(query: Any, by: Actor, level: str, limit: int, offset: int) -> list[tuple[Any, ...]]:
    limit = max(1, min(limit, MAX_RESULTS))
    with db.reading() as session:
        rows = [tuple(row) for row in session.exec(query.offset(max(offset, 0)).limit(limit)).all()]
    if by.is_user or by.role == 'modality':
        audit.record_alone(
            by, 'dicom.query', object_type=level, object_id=str(len(rows)), detail={'results': len(rows)}
        )
    return rows


def _study_conditions(match: dict[str, str]) -> list[Any]:
    conditions: list[Any] = []
    for key, value in match.items():
        if value in {'', '*'}:
            continue
        if key == 'PatientName':
            conditions.append(col(Study.id).in_(_named(value)))
        elif key == 'PatientID':
            conditions.append(or_(_text(Study.dicom_patient_id, value), _text(Patient.patient_id, value)))
        elif key == 'StudyInstanceUID':
            conditions.append(col(Study.study_instance_uid).in_(_uids(value)))
        elif key == 'AccessionNumber':
            conditions.append(_text(Study.accession_number, value))
        elif key == 'StudyID':
            conditions.append(_text(Study.study_id, value))
        elif key == 'StudyDescription':
            conditions.append(_folded(Study.description_folded, value))
        elif key == 'ReferringPhysicianName':
            conditions.append(_person_name(Study.referring_physician_folded, value))
        elif key == 'PatientSex':
            conditions.append(_text(Study.patient_sex, value))
        elif key == 'PatientBirthDate':
            conditions.append(_text(Study.patient_birth_date, value))
        elif key == 'StudyDate':
            conditions.append(_date_range(Study.study_date, value))
        elif key == 'ModalitiesInStudy':
            wanted = [part for part in value.replace(',', '\\').split('\\') if part]
            conditions.append(exists().where(col(Series.study_id) == Study.id, col(Series.modality).in_(wanted)))
    return conditions


def _series_conditions(match: dict[str, str]) -> list[Any]:
    conditions: list[Any] = []
    for key, value in match.items():
        if value in {'', '*'}:
            continue
        if key == 'SeriesInstanceUID':
            conditions.append(col(Series.series_instance_uid).in_(_uids(value)))
        elif key == 'Modality':
            conditions.append(_text(Series.modality, value))
        elif key == 'SeriesNumber':
            conditions.append(Series.series_number == _number(value))
        elif key == 'SeriesDescription':
            conditions.append(_folded(Series.description_folded, value))
        elif key == 'BodyPartExamined':
            conditions.append(_text(Series.body_part, value))
    return conditions


def _instance_conditions(match: dict[str, str]) -> list[Any]:
    conditions: list[Any] = []
    for key, value in match.items():
        if value in {'', '*'}:
            continue
        if key == 'SOPInstanceUID':
            conditions.append(col(Instance.sop_instance_uid).in_(_uids(value)))
        elif key == 'SOPClassUID':
            conditions.append(col(Instance.sop_class_uid).in_(_uids(value)))
        elif key == 'InstanceNumber':
            conditions.append(Instance.instance_number == _number(value))
    return conditions


def _text(column: Any, value: str) -> Any:
    """Single value or wildcard matching, exact in case (IDs, codes, dates as text)."""
    if not folding.has_wildcard(value):
        return column == value
    return _matches(column, folding.pattern_pieces(value, folded=False))


def _named(value: str) -> Any:
    """The ids of studies whose sent name or whose clinic patient's name matches: a union of two index lookups
    (an OR across the outer join would make both databases read every study)."""
    by_patient = select(_patient.id).where(_person_name(_patient.dicom_name_folded, value))
    return union(
        select(_study.id).where(_person_name(_study.patient_name_folded, value)),
        select(_study.id).where(col(_study.patient_ref_id).in_(by_patient)),
    )


def _person_name(column: Any, value: str) -> Any:
    """A folded person-name column (domain.folding) against a pattern, without regard to case or accents.

    A pattern without `=` matches the whole name or its first (alphabetic) component group; one written in
    ideographs, kana or Hangul also matches the second and third groups (PS3.5 6.2.1.2), so `山田*` finds
    `Yamada^Tarou=山田^太郎=やまだ^たろう`.
    """
    pieces = folding.person_name_pieces(value)
    rest, one_group = [_EQUALS, _ANY], [_ANY, _EQUALS]
    arms = [_matches(column, pieces), _matches(column, [*pieces, *rest])]
    if folding.ideographic_or_phonetic(pieces):
        arms += [_matches(column, [*one_group, *pieces]), _matches(column, [*one_group, *pieces, *rest])]
    return or_(*arms)


def _folded(column: Any, value: str) -> Any:
    """A folded text column (descriptions) against a pattern, without regard to case or accents."""
    return _matches(column, folding.pattern_pieces(value))


def _matches(column: Any, pieces: list[folding.Piece]) -> Any:
    """`column` matching a DICOM pattern: equality for a single value; else GLOB on SQLite (case-exact, and served by
    the column's index for a literal prefix, unlike SQLite's case-insensitive LIKE), LIKE elsewhere (PostgreSQL's
    varchar_pattern_ops index serves its prefix in any locale)."""
    if not any(piece.wildcard for piece in pieces):
        return column == ''.join(piece.text for piece in pieces)
    if db.engine().dialect.name == 'sqlite':
        glob = ''.join(p.text if p.wildcard else p.text.translate(_GLOB_ESCAPES) for p in pieces)
        return column.op('GLOB', is_comparison=True)(glob)
    like = ''.join(_LIKE_WILDCARD[p.text] if p.wildcard else p.text.translate(_LIKE_ESCAPES) for p in pieces)
    return column.like(like, escape='\\')


def _uids(value: str) -> Sequence[str]:
    return [part.strip() for part in value.replace(',', '\\').split('\\') if part.strip()]


def _number(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return -1  # matches nothing


def _date_range(column: Any, value: str) -> Any:
    start_text, dash, end_text = value.partition('-')
    start, end = _date(start_text), _date(end_text)
    if not dash:
        return column == start if start else false()
    parts = []
    if start:
        parts.append(column >= start)
    if end:
        parts.append(column <= end)
    return and_(*parts) if parts else column.is_not(None)


def _date(text: str) -> date | None:
    digits = text.strip().replace('.', '')
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) == 8 else None
    except ValueError:
        return None
