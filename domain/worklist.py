"""The Modality Worklist as plain values: which booked examinations a scanner's query matches (PS3.4 K.6).

dicom/worklist.py turns a C-FIND identifier into a WorklistQuery and each WorklistItem back into a
response; the matching rules live here: universal matching for empty keys, wildcard matching (`*`,
`?`) for names and IDs, range matching for dates and times (PS3.4 C.2.2.2), and the Scheduled
Procedure Step sequence's keys matched like top-level ones. Without a date the query means today.
"""

import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any, NamedTuple

from anyascii import anyascii
from sqlalchemy import select
from sqlmodel import col

from . import appointments, audit, clock, db
from .access import Actor, Permission, require
from .errors import N_, InvalidInput
from .models import Appointment, Modality, Patient, Procedure
from .recent import remembered

log = logging.getLogger(__name__)

LISTED_STATES = {
    appointments.SCHEDULED: 'SCHEDULED',
    appointments.WAITING: 'ARRIVED',
    appointments.IN_ROOM: 'ARRIVED',
    appointments.IN_SCAN: 'STARTED',
}
UID_ROOT = '2.25.'


@dataclass(frozen=True)
class WorklistQuery:
    """The matching keys of a worklist query; '' (or None) matches everything."""

    patient_name: str = ''
    patient_id: str = ''
    accession_number: str = ''
    requested_procedure_id: str = ''
    modality: str = ''
    station_ae: str = ''
    step_status: str = ''
    date_from: date | None = None
    date_to: date | None = None
    time_from: time | None = None
    time_to: time | None = None


class WorklistItem(NamedTuple):
    """One scheduled procedure step, in DICOM's value formats (PN with carets, DA YYYYMMDD, TM HHMMSS).

    A named tuple: hundreds are made per query and a frozen dataclass's constructor cost more than the SQL.
    """

    patient_name: str
    patient_id: str
    birth_date: str
    sex: str
    accession_number: str
    requested_procedure_id: str
    requested_procedure_description: str
    study_instance_uid: str
    referring_physician: str
    step_id: str
    step_description: str
    procedure_code: str
    modality: str
    station_ae: str
    station_name: str
    start_date: str
    start_time: str
    step_status: str
    urgent: bool


def query(q: WorklistQuery, *, by: Actor) -> list[WorklistItem]:
    """The booked examinations a scanner's worklist query matches, by scheduled time (the query is audited)."""
    with answering(q, by=by) as items:
        return list(items)


@contextmanager
def answering(q: WorklistQuery, *, by: Actor) -> Iterator[Iterator[WorklistItem]]:
    """The matching examinations, made one by one as they are sent; the query is audited when the block ends.

    The listener answers inside the block: the first answers leave before the last are made, and the audit
    row is written while the scanner reads them rather than before the first one leaves.
    """
    require(by, Permission.QUERY_DICOM)
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise InvalidInput('The date range ends before it starts')
    first = q.date_from or (appointments.today() if q.date_to is None else q.date_to)
    last = q.date_to or (appointments.today() if q.date_from is None else date.max)
    start = appointments.day_bounds(first)[0]
    end = appointments.day_bounds(min(last, date(9999, 12, 30)))[1]
    # Plain columns rather than four entities per row: a day's list is hundreds of rows and building ORM
    # objects for each took most of the answer time.
    statement = (
        select(*_COLUMNS)
        .join(Patient, col(Patient.id) == Appointment.patient_id)
        .join(Procedure, col(Procedure.id) == Appointment.procedure_id, isouter=True)
        .join(Modality, col(Modality.id) == Appointment.modality_id, isouter=True)
        .where(
            col(Appointment.scheduled_at) >= start,
            col(Appointment.scheduled_at) < end,
            col(Appointment.state).in_(tuple(LISTED_STATES)),
        )
        .order_by(col(Appointment.scheduled_at), col(Appointment.id))
    )
    if q.modality and not _has_wildcard(q.modality):
        statement = statement.where(col(Procedure.modality) == q.modality)
    if q.accession_number and not _has_wildcard(q.accession_number):
        statement = statement.where(col(Appointment.accession_number) == q.accession_number)
    zone = appointments.local_zone()
    handed: list[WorklistItem] = []

    def matching(rows: Iterable[Any]) -> Iterator[WorklistItem]:
        for row in rows:
            item = _item(tuple(row), zone)
            if _matches(q, item):
                handed.append(item)
                yield item

    try:
        with db.reading() as session:
            # Rows are read as the answers go out (the index on scheduled_at keeps them in order without a sort).
            yield matching(session.execute(statement))
    finally:
        audit.record_alone(
            by,
            'worklist.query',
            object_type='worklist',
            object_id=by.username,
            detail={
                'matches': len(handed),
                'from': first.isoformat(),
                'to': last.isoformat(),
                'modality': q.modality,
                'station': q.station_ae,
            },
        )
        log.info('worklist query from %s matched %d steps', by.username, len(handed))


def study_uid_for(appointment: Appointment) -> str:
    """The Study Instance UID the scanner should use for this appointment (stable, unique per booking)."""
    return _study_uid(appointment.id or 0, appointment.accession_number, appointment.created_at)


def matches_pattern(pattern: str, value: str, *, fold: bool = False) -> bool:
    """Single-value or wildcard matching (PS3.4 C.2.2.2.1/4); `fold` compares person names without case/accents."""
    if pattern in ('', '*'):
        return True
    if fold:
        pattern, value = anyascii(pattern).upper(), anyascii(value).upper()
    if not _has_wildcard(pattern):
        return pattern == value
    regex = ''.join('.*' if ch == '*' else '.' if ch == '?' else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _matches(q: WorklistQuery, item: WorklistItem) -> bool:
    name_ok = matches_pattern(q.patient_name, item.patient_name, fold=True) or matches_pattern(
        q.patient_name, item.patient_name.rstrip('^'), fold=True
    )
    if not (
        name_ok
        and matches_pattern(q.patient_id, item.patient_id)
        and matches_pattern(q.accession_number, item.accession_number)
        and matches_pattern(q.requested_procedure_id, item.requested_procedure_id)
        and matches_pattern(q.modality, item.modality)
        and matches_pattern(q.station_ae, item.station_ae)
        and matches_pattern(q.step_status, item.step_status)
    ):
        return False
    if q.time_from or q.time_to:
        at = time(int(item.start_time[:2]), int(item.start_time[2:4]), int(item.start_time[4:6]))
        if (q.time_from and at < q.time_from) or (q.time_to and at > q.time_to):
            return False
    return True


_COLUMNS = (
    col(Appointment.id),
    col(Appointment.accession_number),
    col(Appointment.scheduled_at),
    col(Appointment.state),
    col(Appointment.urgent),
    col(Appointment.referring_physician),
    col(Appointment.created_at),
    col(Patient.family_name),
    col(Patient.given_name),
    col(Patient.middle_name),
    col(Patient.patient_id),
    col(Patient.birth_date),
    col(Patient.sex),
    col(Procedure.name),
    col(Procedure.code),
    col(Procedure.modality),
    col(Modality.ae_title),
    col(Modality.room),
)


@remembered(maxsize=4096)
def _item(row: tuple[Any, ...], zone: tzinfo | None) -> WorklistItem:
    """The step a row describes; remembered by its values for a few minutes, since scanners ask for the same day
    all day (its patient's name and birth date are not kept longer)."""
    (
        appointment_id,
        accession_number,
        scheduled_at,
        state,
        urgent,
        referring_physician,
        created_at,
        family_name,
        given_name,
        middle_name,
        patient_id,
        birth_date,
        sex,
        procedure_name,
        procedure_code,
        procedure_modality,
        ae_title,
        room,
    ) = row
    local = clock.as_utc(scheduled_at).astimezone(zone)
    name = '^'.join((family_name, given_name, middle_name)).rstrip('^')
    description = (procedure_name or '')[:64]
    return WorklistItem(
        patient_name=name,
        patient_id=patient_id,
        birth_date=f'{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}' if birth_date else '',
        sex=sex if sex in ('M', 'F', 'O') else '',
        accession_number=accession_number,
        requested_procedure_id=accession_number,
        requested_procedure_description=description,
        study_instance_uid=_study_uid(appointment_id, accession_number, created_at),
        referring_physician=referring_physician,
        step_id=f'S{appointment_id:08d}',
        step_description=description,
        procedure_code=procedure_code or '',
        modality=procedure_modality or '',
        station_ae=ae_title or '',
        station_name=(room or '')[:16],
        start_date=f'{local.year:04d}{local.month:02d}{local.day:02d}',
        start_time=f'{local.hour:02d}{local.minute:02d}{local.second:02d}',
        step_status=LISTED_STATES.get(state, 'SCHEDULED'),
        urgent=urgent,
    )


def _study_uid(appointment_id: int, accession_number: str, created_at: datetime) -> str:
    seed = f'clinicpacs:{appointment_id}:{accession_number}:{created_at.isoformat()}'
    return UID_ROOT + str(uuid.uuid5(uuid.NAMESPACE_OID, seed).int)


def _has_wildcard(text: str) -> bool:
    return '*' in text or '?' in text


def parse_range(value: str, parse: 'type[date] | type[time]') -> tuple[object, object]:
    """A DICOM range 'A-B', '-B', 'A-' or single value 'A' as (from, to) of dates or times (PS3.4 C.2.2.2.5)."""
    value = value.strip()
    if not value:
        return None, None
    low, dash, high = value.partition('-')
    low_value = _parse_one(low, parse) if low else None
    high_value = _parse_one(high, parse) if high else None
    if not dash:
        return low_value, low_value
    return low_value, high_value


def _parse_one(text: str, parse: 'type[date] | type[time]') -> object:
    text = text.strip()
    try:
        if parse is date:
            return datetime.strptime(text, '%Y%m%d').date()
        digits = text.replace(':', '').split('.')[0]
        return time(int(digits[:2]), int(digits[2:4] or 0), int(digits[4:6] or 0))
    except ValueError as error:
        wrong = N_('Not a DICOM date: {text}') if parse is date else N_('Not a DICOM time: {text}')
        raise InvalidInput(wrong, text=text) from error
