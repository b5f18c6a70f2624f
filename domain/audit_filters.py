"""Which audit events an administrator asks for: days, user, patient, action and result, as SQL conditions.

A patient's events are those about the patient's record itself, the records merged into it, and its appointments,
studies and their reports: the objects the trail names by id.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from .errors import N_, InvalidInput, NotFound
from .models import Appointment, AuditEvent, Patient, Report, Study

OUTCOMES = ('success', 'failure', 'denied', 'refused', 'locked')


@dataclass(frozen=True)
class AuditFilter:
    """What the administrator asks for; empty means any. Days are the clinic's local days, both inclusive (a
    datetime is taken as the exact moment instead: `since` inclusive, `until` exclusive)."""

    username: str = ''
    action: str = ''
    object_id: str = ''
    patient: str = ''  # the clinic's Patient ID
    outcome: str = ''
    since: date | None = None
    until: date | None = None

    def described(self) -> dict[str, str]:
        """The filter as the export's audit event records it (only what was asked)."""
        return {
            key: value.isoformat() if isinstance(value, date) else value for key, value in asdict(self).items() if value
        }


def where(session: Session, asked: AuditFilter) -> list[ColumnElement[bool]]:
    """The conditions on AuditEvent for this filter; a patient ID not on file or days in the wrong order are refused."""
    conditions: list[ColumnElement[bool]] = []
    if asked.username.strip():
        conditions.append(col(AuditEvent.username).ilike(f'%{_like(asked.username.strip())}%', escape='\\'))
    if asked.action.strip():
        conditions.append(col(AuditEvent.action).ilike(f'%{_like(asked.action.strip())}%', escape='\\'))
    if asked.object_id.strip():
        conditions.append(col(AuditEvent.object_id) == asked.object_id.strip())
    if asked.outcome:
        if asked.outcome not in OUTCOMES:
            message = N_('Unknown result {outcome}', outcome=asked.outcome)
            raise InvalidInput(message, {'outcome': message})
        conditions.append(col(AuditEvent.outcome) == asked.outcome)
    start, end = _moment(asked.since, last=False), _moment(asked.until, last=True)
    if start is not None and end is not None and end <= start:
        message = N_('The last day comes before the first')
        raise InvalidInput(message, {'until': message})
    if start is not None:
        conditions.append(col(AuditEvent.at) >= start)
    if end is not None:
        conditions.append(col(AuditEvent.at) < end)
    if asked.patient.strip():
        conditions.append(about_patient(session, patient_key(session, asked.patient.strip())))
    return conditions


def about_patient(session: Session, key: int) -> ColumnElement[bool]:
    """Events about one patient's record: the record, records merged into it, its appointments, studies, reports."""
    patients = [key, *session.exec(select(Patient.id).where(Patient.merged_into_id == key)).all()]
    studies = session.exec(select(Study.id).where(col(Study.patient_ref_id).in_(patients))).all()
    reports = session.exec(select(Report.id).where(col(Report.study_id).in_(studies))).all() if studies else []
    appointments = session.exec(select(Appointment.id).where(col(Appointment.patient_id).in_(patients))).all()
    objects = {'patient': patients, 'study': studies, 'report': reports, 'appointment': appointments}
    parts = [
        and_(col(AuditEvent.object_type) == kind, col(AuditEvent.object_id).in_([str(i) for i in ids]))
        for kind, ids in objects.items()
        if ids
    ]
    return or_(*parts) if parts else false()


def patient_key(session: Session, patient_id: str) -> int:
    """The row id of the patient with this clinic Patient ID (NotFound otherwise)."""
    found = session.exec(select(Patient.id).where(Patient.patient_id == patient_id)).first()
    if found is None:
        raise NotFound('No patient with the ID {patient_id}', patient_id=patient_id)
    return found


def parse_day(text: str, field: str) -> date | None:
    """A day typed as YYYY-MM-DD (empty: none); InvalidInput names the field otherwise."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = N_('Write the day as YYYY-MM-DD')
        raise InvalidInput(message, {field: message}) from None


def as_filter(values: Mapping[str, Any]) -> AuditFilter:
    """An AuditFilter from plain texts (a form or a query string), its days parsed."""

    def text(name: str) -> str:
        return str(values.get(name) or '').strip()

    return AuditFilter(
        username=text('username'),
        action=text('action'),
        object_id=text('object_id'),
        patient=text('patient'),
        outcome=text('outcome'),
        since=parse_day(text('since'), 'since'),
        until=parse_day(text('until'), 'until'),
    )


# ---------------------------------------------------------------- helpers


def _moment(day: date | None, *, last: bool) -> datetime | None:
    """A bound in UTC: a local day's start (`last`: the next day's start), or a given moment as it is."""
    if day is None:
        return None
    if isinstance(day, datetime):
        return day if day.tzinfo is None else day.astimezone(UTC)
    start = datetime.combine(day + timedelta(days=1) if last else day, time(0, 0), tzinfo=_local_zone())
    return start.astimezone(UTC)


def _local_zone() -> tzinfo:
    """The clinic's time zone (the server's), as domain.appointments.local_zone says."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def _like(text: str) -> str:
    """A typed text matched literally inside ILIKE (its % and _ are not wildcards)."""
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
