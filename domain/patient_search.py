"""Finding patients: the one search box (names in any order, fuzzy; IDs, phone, accession; study filters),
likely duplicates while typing, and a patient's timeline.

Names are compared folded: transliterated to ASCII (anyascii: Müller → muller, Иванов → ivanov), lower
case, punctuation dropped. `Patient.name_key` holds the folded family, given and middle names, family
first, so a family-name prefix is an index range on both SQLite and PostgreSQL.
"""

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from anyascii import anyascii
from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, SQLColumnExpression, Subquery, and_, delete, exists, func, intersect, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from . import appointments, db, short_ids
from .access import Actor, Permission, require
from .models import (
    Appointment,
    Modality,
    Patient,
    PatientCreate,
    PatientToken,
    Procedure,
    Report,
    Series,
    Study,
    display_name,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 25
FUZZY_POOL = 2000
STRONG_SCORE = 90  # a name this close with the same birth date (or phone) blocks registration until confirmed
SHOWN_SCORE = 75


@dataclass(frozen=True)
class SearchFilters:
    """The filters beside the search box; empty values match everything."""

    study_from: date | None = None
    study_to: date | None = None
    modality: str = ''


@dataclass(frozen=True)
class SearchPage:
    rows: Sequence[Patient]
    total: int
    offset: int
    limit: int
    fuzzy: bool = False  # no exact match: these are the closest names


@dataclass(frozen=True)
class Duplicate:
    """A patient on file who may be the one being typed in, and why."""

    id: int
    patient_id: str
    name: str
    birth_date: date | None
    phone: str
    score: int
    reasons: tuple[str, ...]
    strong: bool


@dataclass(frozen=True)
class TimelineEntry:
    """One dated thing in a patient's life at the clinic: an appointment, a study or a report."""

    at: datetime
    kind: str  # appointment, study, report
    object_id: int
    title: str
    state: str
    detail: str = ''
    thumbnails: tuple[int, ...] = field(default=())  # series ids with a thumbnail
    thumbnail_versions: tuple[str, ...] = field(default=())  # beside each: its content hash, for a cacheable URL


def fold(text: str) -> str:
    """Text as names are compared: ASCII, lower case, words separated by single spaces."""
    return ' '.join(re.sub(r'[^a-z0-9]+', ' ', anyascii(text or '').lower()).split())


def name_key(family: str, given: str, middle: str = '') -> str:
    """The folded name stored for search: family name first."""
    return ' '.join(part for part in (fold(family), fold(given), fold(middle)) if part)[:300]


def search(
    text: str = '', filters: SearchFilters | None = None, *, by: Actor, offset: int = 0, limit: int = PAGE_SIZE
) -> SearchPage:
    """Patients matching the search box and filters, by name; fuzzy names when nothing matches exactly."""
    require(by, Permission.VIEW_PATIENTS)
    filters = filters or SearchFilters()
    query = select(Patient).where(col(Patient.merged_into_id).is_(None))
    query = _with_filters(query, filters)
    text = text.strip()
    with db.reading() as session:
        if not text:
            return _page(session, query, offset, limit)
        ids = _exact_ids(session, text)
        if ids:
            return _page(session, query.where(col(Patient.id).in_(ids)), offset, limit)
        digits = _digits(text)
        if len(digits) >= 4 and len(digits) >= len(text.replace(' ', '')) - 2:
            return _page(session, query.where(_phone_matches(digits)), offset, limit)
        tokens = fold(text).split()
        if not tokens:
            return SearchPage([], 0, offset, limit)
        page = _token_page(session, query, tokens, offset, limit)
        if page.total:
            return page
        return _fuzzy(session, query, text, offset, limit)


def tokens_of(patient: Patient) -> set[str]:
    """The words (and phone digits) a patient is found by."""
    found = {word[:64] for word in patient.name_key.split()}
    digits = _digits(patient.phone)
    if len(digits) >= 6:
        found.add(f'#{digits[-7:]}')
    return found


def index_tokens(session: Session, patient: Patient) -> None:
    """Store the words a patient is found by (inside the caller's transaction, after name or phone changed)."""
    session.exec(delete(PatientToken).where(col(PatientToken.patient_id) == patient.id))
    for token in sorted(tokens_of(patient)):
        session.add(PatientToken(patient_id=patient.id or 0, token=token))


def duplicates(data: PatientCreate, *, by: Actor, exclude_id: int | None = None) -> list[Duplicate]:
    """Likely duplicates of what is being typed (fuzzy folded name, same birth date, same phone), best first."""
    require(by, Permission.VIEW_PATIENTS)
    birth = data.birth_date
    if isinstance(birth, str):
        try:
            birth = date.fromisoformat(birth.strip()) if birth.strip() else None
        except ValueError:
            birth = None
    values = {
        'family_name': data.family_name,
        'given_name': data.given_name,
        'middle_name': data.middle_name,
        'birth_date': birth,
        'phone': data.phone,
    }
    with db.reading() as session:
        return [d for d in duplicates_in(session, values) if d.id != exclude_id]


def duplicates_in(session: Session, values: Mapping[str, object]) -> list[Duplicate]:
    """The duplicate check inside a caller's session (registration uses it in its own transaction)."""
    family = fold(str(values.get('family_name') or ''))
    given = fold(str(values.get('given_name') or ''))
    birth = values.get('birth_date')
    phone = _digits(str(values.get('phone') or ''))
    if len(family) < 2 and not phone and birth is None:
        return []
    pools: list[SelectOfScalar[int] | SelectOfScalar[int | None]] = []
    family_words, given_words = family.split(), given.split()
    if family_words:
        pools.append(_pool([family_words[0][:3], *([given_words[0][:1]] if given_words else [])]))
        if given_words:
            pools.append(_pool([given_words[0][:3], family_words[0][:1]]))  # typed the other way round
    if birth is not None:
        pools.append(select(col(Patient.id)).where(Patient.birth_date == birth))
    if len(phone) >= 7:
        pools.append(select(PatientToken.patient_id).where(PatientToken.token == f'#{phone[-7:]}'))
    if not pools:
        return []
    candidate_ids: set[int | None] = set()
    for pool in pools:
        candidate_ids.update(session.exec(pool).all())
    # Plain columns, not ORM objects: a pool holds up to FUZZY_POOL candidates and only a few are shown.
    candidates = session.execute(
        select_columns(
            col(Patient.id),
            col(Patient.patient_id),
            col(Patient.family_name),
            col(Patient.given_name),
            col(Patient.middle_name),
            col(Patient.name_key),
            col(Patient.birth_date),
            col(Patient.phone),
        ).where(col(Patient.merged_into_id).is_(None), col(Patient.id).in_(list(candidate_ids)[:FUZZY_POOL]))
    ).all()
    typed = f'{family} {given}'.strip()
    found = []
    for patient in candidates:
        score = int(fuzz.token_sort_ratio(typed, patient.name_key)) if typed else 0
        same_birth = birth is not None and patient.birth_date == birth
        same_phone = len(phone) >= 6 and _digits(patient.phone).endswith(phone[-9:])
        reasons = tuple(
            reason
            for reason, hit in (('name', score >= SHOWN_SCORE), ('birth date', same_birth), ('phone', same_phone))
            if hit
        )
        if score < SHOWN_SCORE and not (same_phone and score >= 50) and not (same_birth and score >= 60):
            continue
        strong = score >= STRONG_SCORE and (same_birth or same_phone or birth is None)
        name = display_name(patient.family_name, patient.given_name, patient.middle_name)
        found.append(
            Duplicate(
                patient.id or 0,
                patient.patient_id,
                name,
                patient.birth_date,
                patient.phone,
                score + 10 * same_birth + 10 * same_phone,
                reasons,
                strong,
            )
        )
    found.sort(key=lambda d: -d.score)
    return found[:10]


def timeline(patient_id: int, *, by: Actor) -> list[TimelineEntry]:
    """Appointments, studies (with the series that have thumbnails) and reports of a patient, newest first."""
    require(by, Permission.VIEW_PATIENTS)
    entries: list[TimelineEntry] = []
    with db.reading() as session:
        rows = session.exec(
            select(Appointment, Procedure, Modality)
            .where(Appointment.patient_id == patient_id)
            .join(Procedure, col(Procedure.id) == Appointment.procedure_id, isouter=True)
            .join(Modality, col(Modality.id) == Appointment.modality_id, isouter=True)
        ).all()
        for appointment, procedure, modality in rows:
            title = procedure.name if procedure else 'Appointment'
            room = modality.room or modality.ae_title if modality else ''
            entries.append(
                TimelineEntry(
                    appointment.scheduled_at,
                    'appointment',
                    appointment.id or 0,
                    title,
                    appointment.state,
                    ' '.join(part for part in (appointment.short_id, appointment.accession_number, room) if part),
                )
            )
        studies = session.exec(select(Study).where(Study.patient_ref_id == patient_id)).all()
        study_ids = [s.id for s in studies]
        series = (
            session.exec(
                select(Series).where(col(Series.study_id).in_(study_ids)).order_by(col(Series.series_number))
            ).all()
            if study_ids
            else []
        )
        reports = session.exec(select(Report).where(col(Report.study_id).in_(study_ids))).all() if study_ids else []
    for study in studies:
        with_thumbnail = [s for s in series if s.study_id == study.id and s.thumbnail_path]
        thumbs = tuple(s.id or 0 for s in with_thumbnail)
        at = _study_time(study)
        entries.append(
            TimelineEntry(
                at,
                'study',
                study.id or 0,
                study.description or study.modalities or 'Study',
                study.state,
                ' '.join(part for part in (study.short_id, study.modalities, study.accession_number) if part),
                thumbs,
                tuple((s.thumbnail_sha256 or '')[:16] for s in with_thumbnail),
            )
        )
    for report in reports:
        at = report.signed_at or report.last_saved_at
        entries.append(
            TimelineEntry(
                at, 'report', report.id or 0, 'Addendum' if report.kind == 'addendum' else 'Report', report.state
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def thumbnail_path(series_id: int, *, by: Actor) -> str | None:
    """Where a series' thumbnail lies (relative to the data directory), if it has one."""
    require(by, Permission.VIEW_PATIENTS)
    with db.reading() as session:
        series = session.get(Series, series_id)
    return series.thumbnail_path if series else None


@dataclass(frozen=True)
class PatientThumbnail:
    """A series' thumbnail as a patient's timeline shows it: where it lies and its content hash."""

    path: str
    sha256: str


def patient_thumbnail(series_id: int, *, by: Actor) -> PatientThumbnail | None:
    """The thumbnail of a series of a study filed under a patient (what a patient's timeline shows), if it has one;
    None for a study not matched to any patient, which only the roles that see studies reach."""
    require(by, Permission.VIEW_PATIENTS)
    with db.reading() as session:
        row = session.exec(
            select(Series.thumbnail_path, Series.thumbnail_sha256)
            .join(Study, col(Study.id) == Series.study_id)
            .where(Series.id == series_id, col(Study.patient_ref_id).is_not(None))
        ).first()
    if row is None or not row[0]:
        return None
    return PatientThumbnail(row[0], row[1] or '')


def patient_of_appointment(appointment_id: int, *, by: Actor) -> int | None:
    """The patient an appointment is for (None once it is gone): whose page a change of it concerns."""
    require(by, Permission.VIEW_PATIENTS)
    with db.reading() as session:
        return session.exec(select(Appointment.patient_id).where(Appointment.id == appointment_id)).first()


# ---------------------------------------------------------------- helpers


def _exact_ids(session: Session, text: str) -> list[int]:
    """Patients an identifier names exactly: clinic Patient ID, national ID, an accession number or a short study ID
    (as typed: any case, with spaces or a dash)."""
    upper = text.upper()
    found = set(
        session.exec(
            select(Patient.id).where(or_(col(Patient.patient_id) == upper, col(Patient.national_id) == text))
        ).all()
    )
    found |= set(session.exec(select(Appointment.patient_id).where(Appointment.accession_number == upper)).all())
    found |= set(
        session.exec(
            select(Study.patient_ref_id).where(Study.accession_number == text, col(Study.patient_ref_id).is_not(None))
        ).all()
    )
    if code := short_ids.typed(text):
        found |= set(session.exec(select(Appointment.patient_id).where(Appointment.short_id == code)).all())
        found |= set(session.exec(select(Study.patient_ref_id).where(Study.short_id == code)).all())
    return [i for i in found if i is not None]


def _pool(prefixes: list[str]) -> SelectOfScalar[int]:
    """Up to FUZZY_POOL ids of patients with a name word starting with each prefix."""
    return select(_matching(prefixes).c.patient_id).limit(FUZZY_POOL)


def _phone_matches(digits: str) -> ColumnElement[bool]:
    if len(digits) >= 7:  # the last seven digits through the index, then the whole number
        return and_(
            col(Patient.id).in_(select(PatientToken.patient_id).where(PatientToken.token == f'#{digits[-7:]}')),
            _phone_digits().contains(digits),
        )
    return _phone_digits().contains(digits)


def _prefix(column: SQLColumnExpression[str], text: str) -> ColumnElement[bool]:
    # An index range instead of LIKE: both databases use the index on name_key for it.
    return and_(column >= text, column < text[:-1] + chr(ord(text[-1]) + 1))


def _with_filters(query: SelectOfScalar[Patient], filters: SearchFilters) -> SelectOfScalar[Patient]:
    if not (filters.study_from or filters.study_to or filters.modality):
        return query
    study: list[ColumnElement[bool]] = [col(Study.patient_ref_id) == Patient.id]
    booked: list[ColumnElement[bool]] = [
        col(Appointment.patient_id) == Patient.id,
        col(Appointment.state) != 'cancelled',
    ]
    if filters.study_from:
        study.append(col(Study.study_date) >= filters.study_from)
        booked.append(col(Appointment.scheduled_at) >= appointments.day_bounds(filters.study_from)[0])
    if filters.study_to:
        study.append(col(Study.study_date) <= filters.study_to)
        booked.append(col(Appointment.scheduled_at) < appointments.day_bounds(filters.study_to)[1])
    if filters.modality:
        modality = filters.modality.strip().upper()
        study.append(col(Study.modalities).contains(modality))
        booked.append(
            exists().where(col(Procedure.id) == Appointment.procedure_id, col(Procedure.modality) == modality)
        )
    return query.where(or_(exists().where(*study), exists().where(*booked)))


def _page(session: Session, query: SelectOfScalar[Patient], offset: int, limit: int) -> SearchPage:
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Patient.name_key), col(Patient.id)).offset(offset).limit(limit)).all()
    return SearchPage(rows, total, offset, limit)


def _token_page(
    session: Session, query: SelectOfScalar[Patient], tokens: list[str], offset: int, limit: int
) -> SearchPage:
    """A page of the patients with a name word starting with each token.

    The matching ids come from the token index alone (intersected), are sorted here, and only the page's rows
    are read: PostgreSQL otherwise walks the whole name index hoping to meet the few matches early.
    """
    matches = _matching(tokens)
    keyed = session.execute(
        query.with_only_columns(col(Patient.id), col(Patient.name_key)).join(
            matches, matches.c.patient_id == Patient.id
        )
    ).all()
    ordered = sorted(keyed, key=lambda row: (row[1], row[0]))
    ids = [row[0] for row in ordered[offset : offset + limit]]
    rows = {p.id: p for p in session.exec(select(Patient).where(col(Patient.id).in_(ids))).all()} if ids else {}
    return SearchPage([rows[i] for i in ids if i in rows], len(ordered), offset, limit)


def _matching(tokens: list[str]) -> Subquery:
    """The ids of patients with a name word starting with each token, as a subquery (column patient_id)."""
    selects = [select(PatientToken.patient_id).where(_prefix(col(PatientToken.token), token)) for token in tokens]
    return (intersect(*selects) if len(selects) > 1 else selects[0].distinct()).subquery()


def _fuzzy(session: Session, query: SelectOfScalar[Patient], text: str, offset: int, limit: int) -> SearchPage:
    """Closest names: candidates share each word's first letters (two, then one), rapidfuzz ranks them."""
    tokens = fold(text).split()
    typed = ' '.join(tokens)
    best: dict[int, tuple[float, Patient]] = {}
    for letters in (2, 1):
        matches = _matching([token[:letters] for token in tokens])
        pool = session.exec(query.join(matches, matches.c.patient_id == Patient.id).limit(FUZZY_POOL)).all()
        for patient in pool:
            score = max(
                fuzz.token_sort_ratio(typed, patient.name_key), fuzz.token_set_ratio(typed, patient.name_key) - 5
            )
            if score >= SHOWN_SCORE - 10:
                best[patient.id or 0] = (score, patient)
        if best:
            break
    ranked = [p for _, p in sorted(best.values(), key=lambda sp: (-sp[0], sp[1].name_key))]
    return SearchPage(ranked[offset : offset + limit], len(ranked), offset, limit, fuzzy=True)


def _phone_digits() -> SQLColumnExpression[str]:
    """The stored phone number without its punctuation, as SQL (phones keep the formatting staff typed)."""
    expression: SQLColumnExpression[str] = col(Patient.phone)
    for mark in (' ', '-', '(', ')', '.', '+', '/'):
        expression = func.replace(expression, mark, '')
    return expression


def _digits(text: str) -> str:
    return ''.join(ch for ch in text if ch.isdigit())


def _study_time(study: Study) -> datetime:
    """When the study was made: its DICOM date and time when sent, else when its first image arrived."""
    digits = ''.join(ch for ch in study.study_time if ch.isdigit())
    if study.study_date is not None and len(digits) >= 4:
        moment = datetime.combine(
            study.study_date, time(int(digits[:2]) % 24, int(digits[2:4]) % 60), tzinfo=appointments.local_zone()
        )
        return moment.astimezone(UTC)
    if (
        study.study_date is not None
        and study.first_arrival.astimezone(appointments.local_zone()).date() != study.study_date
    ):
        return appointments.day_bounds(study.study_date)[0]
    return study.first_arrival
