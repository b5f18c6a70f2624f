"""The Modality Worklist as plain values: which booked examinations a scanner's query matches (PS3.4 K.6).

dicom/worklist.py turns a C-FIND identifier into a WorklistQuery and each WorklistItem back into a
response; the matching rules live here: universal matching for empty keys, wildcard matching (`*`,
`?`) for names and IDs, range matching for dates and times (PS3.4 C.2.2.2), and the Scheduled
Procedure Step sequence's keys matched like top-level ones. Without a date the query means today.
"""

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time

from anyascii import anyascii
from sqlmodel import col, select

from . import appointments, audit, db
from .access import Actor, Permission, require
from .errors import InvalidInput
from .models import Appointment, Modality, Patient, Procedure

log = logging.getLogger(__name__)

LISTED_STATES = {appointments.SCHEDULED: 'SCHEDULED', appointments.WAITING: 'ARRIVED',
                 appointments.IN_ROOM: 'ARRIVED', appointments.IN_SCAN: 'STARTED'}
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


@dataclass(frozen=True)
class WorklistItem:
    """One scheduled procedure step, in DICOM's value formats (PN with carets, DA YYYYMMDD, TM HHMMSS)."""

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
    require(by, Permission.QUERY_DICOM)
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise InvalidInput('The date range ends before it starts')
    first = q.date_from or (appointments.today() if q.date_to is None else q.date_to)
    last = q.date_to or (appointments.today() if q.date_from is None else date.max)
    start = appointments.day_bounds(first)[0]
    end = appointments.day_bounds(min(last, date(9999, 12, 30)))[1]
    statement = (select(Appointment, Patient, Procedure, Modality)
                 .join(Patient, col(Patient.id) == Appointment.patient_id)
                 .join(Procedure, col(Procedure.id) == Appointment.procedure_id, isouter=True)
                 .join(Modality, col(Modality.id) == Appointment.modality_id, isouter=True)
                 .where(col(Appointment.scheduled_at) >= start, col(Appointment.scheduled_at) < end,
                        col(Appointment.state).in_(tuple(LISTED_STATES)))
                 .order_by(col(Appointment.scheduled_at), col(Appointment.id)))
    if q.modality and not _has_wildcard(q.modality):
        statement = statement.where(col(Procedure.modality) == q.modality)
    if q.accession_number and not _has_wildcard(q.accession_number):
        statement = statement.where(col(Appointment.accession_number) == q.accession_number)
    with db.reading() as session:
        rows = session.exec(statement).all()
    items = [item for item in (_item(*row) for row in rows) if _matches(q, item)]
    audit.record_alone(by, 'worklist.query', object_type='worklist', object_id=by.username,
                       detail={'matches': len(items), 'from': first.isoformat(), 'to': last.isoformat(),
                               'modality': q.modality, 'station': q.station_ae})
    log.info('worklist query from %s matched %d steps', by.username, len(items))
    return items


def study_uid_for(appointment: Appointment) -> str:
    """The Study Instance UID the scanner should use for this appointment (stable, unique per booking)."""
    seed = f'clinicpacs:{appointment.id}:{appointment.accession_number}:{appointment.created_at.isoformat()}'
    return UID_ROOT + str(uuid.uuid5(uuid.NAMESPACE_OID, seed).int)


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
    name_ok = matches_pattern(q.patient_name, item.patient_name, fold=True) or \
        matches_pattern(q.patient_name, item.patient_name.rstrip('^'), fold=True)
    if not (name_ok and matches_pattern(q.patient_id, item.patient_id)
            and matches_pattern(q.accession_number, item.accession_number)
            and matches_pattern(q.requested_procedure_id, item.requested_procedure_id)
            and matches_pattern(q.modality, item.modality)
            and matches_pattern(q.station_ae, item.station_ae)
            and matches_pattern(q.step_status, item.step_status)):
        return False
    if q.time_from or q.time_to:
        at = time(int(item.start_time[:2]), int(item.start_time[2:4]), int(item.start_time[4:6]))
        if (q.time_from and at < q.time_from) or (q.time_to and at > q.time_to):
            return False
    return True


def _item(appointment: Appointment, patient: Patient, procedure: Procedure | None,
          modality: Modality | None) -> WorklistItem:
    local = appointments._utc(appointment.scheduled_at).astimezone(appointments.local_zone())
    name = '^'.join((patient.family_name, patient.given_name, patient.middle_name)).rstrip('^')
    return WorklistItem(
        patient_name=name, patient_id=patient.patient_id,
        birth_date=patient.birth_date.strftime('%Y%m%d') if patient.birth_date else '',
        sex=patient.sex if patient.sex in ('M', 'F', 'O') else '',
        accession_number=appointment.accession_number, requested_procedure_id=appointment.accession_number,
        requested_procedure_description=(procedure.name if procedure else '')[:64],
        study_instance_uid=study_uid_for(appointment), referring_physician=appointment.referring_physician,
        step_id=f'S{appointment.id:08d}', step_description=(procedure.name if procedure else '')[:64],
        procedure_code=procedure.code if procedure else '', modality=procedure.modality if procedure else '',
        station_ae=modality.ae_title if modality else '', station_name=(modality.room if modality else '')[:16],
        start_date=local.strftime('%Y%m%d'), start_time=local.strftime('%H%M%S'),
        step_status=LISTED_STATES.get(appointment.state, 'SCHEDULED'), urgent=appointment.urgent)


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
        raise InvalidInput(f'Not a DICOM {"date" if parse is date else "time"}: {text}') from error
