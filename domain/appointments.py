"""Appointments and the day's status board: booking, the state machine and who may move a card.

The board's states: scheduled (booked) → waiting (checked in) → in-room → in-scan → review →
completed, plus cancelled and no-show. Images arriving, a study becoming ready and a report being
finalised move a card by themselves through the three functions at the end, called inside the
transaction of the study or report service that knows it happened. Staff move cards by hand through
`move()`, which asks domain.access for the permission each move needs.
"""

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from . import audit, centres, clock, db, events, short_ids
from .access import Actor, Permission, may, require
from .errors import N_, Conflict, InvalidInput, InvalidTransition, NotFound
from .models import Appointment, AppointmentCreate, Modality, Patient, Procedure, Study, display_name

log = logging.getLogger(__name__)

SCHEDULED, WAITING, IN_ROOM, IN_SCAN, REVIEW, COMPLETED = (
    'scheduled',
    'waiting',
    'in-room',
    'in-scan',
    'review',
    'completed',
)
CANCELLED, NO_SHOW = 'cancelled', 'no-show'
BOARD_ORDER = (SCHEDULED, WAITING, IN_ROOM, IN_SCAN, REVIEW, COMPLETED)
CLOSED = (COMPLETED, CANCELLED, NO_SHOW)
STATES = (*BOARD_ORDER, CANCELLED, NO_SHOW)

# The moves staff make by hand, and the permission each needs (reception checks in, the technician scans).
MOVES: dict[tuple[str, str], Permission] = {
    (SCHEDULED, WAITING): Permission.CHECK_IN,
    (WAITING, SCHEDULED): Permission.CHECK_IN,
    (WAITING, IN_ROOM): Permission.CHECK_IN,
    (IN_ROOM, WAITING): Permission.CHECK_IN,
    (SCHEDULED, NO_SHOW): Permission.CHECK_IN,
    (WAITING, NO_SHOW): Permission.CHECK_IN,
    (NO_SHOW, WAITING): Permission.CHECK_IN,
    (IN_ROOM, IN_SCAN): Permission.RUN_SCANS,
    (IN_SCAN, IN_ROOM): Permission.RUN_SCANS,
    (IN_SCAN, REVIEW): Permission.RUN_SCANS,
}
# The technician may also call a waiting patient in.
ALSO: dict[tuple[str, str], Permission] = {(WAITING, IN_ROOM): Permission.RUN_SCANS}
CANCELLABLE = (SCHEDULED, WAITING, IN_ROOM, NO_SHOW)
RESCHEDULABLE = (SCHEDULED, WAITING, NO_SHOW, CANCELLED)


@dataclass(frozen=True)
class Card:
    """An appointment as the board, the day view and the kiosk show it."""

    id: int
    accession_number: str
    short_id: str  # domain.short_ids ('' on a row from before them)
    state: str
    state_changed_at: datetime
    scheduled_at: datetime
    duration_minutes: int
    urgent: bool
    patient_id: int
    patient_name: str
    patient_initials: str
    clinic_patient_id: str
    procedure: str
    modality: str
    room: str
    modality_id: int | None
    notes: str


def book(data: AppointmentCreate, *, by: Actor) -> Appointment:
    """Book a patient for a procedure in a room at a time; the appointment gets its Accession Number."""
    require(by, Permission.BOOK_APPOINTMENTS)
    problems = {}
    if data.patient_id is None:
        problems['patient_id'] = N_('Choose the patient')
    if data.procedure_id is None:
        problems['procedure_id'] = N_('Choose the procedure')
    if data.modality_id is None:
        problems['modality_id'] = N_('Choose the room')
    if data.scheduled_at is None:
        problems['scheduled_at'] = N_('Choose the date and time')
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    with db.transaction() as session:
        patient = session.get(Patient, data.patient_id)
        if patient is None or patient.merged_into_id is not None:
            raise NotFound('No such patient')
        procedure = session.get(Procedure, data.procedure_id)
        if procedure is None or not procedure.active:
            raise InvalidInput('This procedure is not offered', {'procedure_id': 'inactive'})
        modality = session.get(Modality, data.modality_id)
        if modality is None or not modality.active:
            raise InvalidInput('This room is not in use', {'modality_id': 'inactive'})
        _check_centre(modality, patient.centre_id)
        duration = data.duration_minutes or procedure.duration_minutes
        if not 1 <= duration <= 24 * 60:
            raise InvalidInput('The duration is 1 to 1440 minutes', {'duration_minutes': 'range'})
        start = clock.as_utc(data.scheduled_at)  # type: ignore[arg-type]
        _check_free(session, modality.id or 0, start, duration, None, urgent=data.urgent)
        appointment = Appointment(
            patient_id=patient.id or 0,
            procedure_id=procedure.id,
            modality_id=modality.id,
            accession_number=uuid.uuid4().hex[:16],
            short_id=short_ids.unused_code(session),
            scheduled_at=start,
            duration_minutes=duration,
            urgent=data.urgent,
            referring_physician=data.referring_physician.strip()[:100],
            notes=data.notes.strip()[:1000],
            created_by=by.username,
            state_changed_at=clock.now(),
        )
        session.add(appointment)
        session.flush()
        appointment.accession_number = accession_for(appointment.id or 0)
        audit.record(
            session,
            by,
            'appointment.book',
            appointment,
            detail={
                'patient': patient.id,
                'accession': appointment.accession_number,
                'procedure': procedure.code,
                'modality': modality.ae_title,
                'at': start.isoformat(),
                'urgent': data.urgent,
            },
        )
        events.publish_after(session, events.AppointmentChanged(appointment.id or 0, SCHEDULED))
    log.info('appointment %s booked (%s)', appointment.id, appointment.accession_number)
    return appointment


def accession_for(appointment_id: int) -> str:
    """The Accession Number of an appointment (DICOM SH: at most 16 characters)."""
    return f'A{appointment_id:08d}'


def reschedule(appointment_id: int, when: datetime, *, by: Actor, modality_id: int | None = None) -> Appointment:
    """Move an appointment to another time (and room); a cancelled or missed one is booked again."""
    require(by, Permission.BOOK_APPOINTMENTS)
    with _audited_refusals(by, appointment_id), db.transaction() as session:
        appointment = _get(session, appointment_id)
        if appointment.state not in RESCHEDULABLE:
            raise _refuse(session, by, appointment, 'reschedule', N_('An examination under way cannot be rescheduled'))
        room = modality_id or appointment.modality_id
        if modality_id is not None and (moved_to := session.get(Modality, modality_id)) is not None:
            _check_centre(moved_to, appointment.centre_id)
        start = clock.as_utc(when)
        _check_free(session, room or 0, start, appointment.duration_minutes, appointment.id, urgent=appointment.urgent)
        detail = {
            'from': appointment.scheduled_at.isoformat(),
            'to': start.isoformat(),
            'state': appointment.state,
            'modality_from': appointment.modality_id,
            'modality_to': room,
        }
        appointment.scheduled_at, appointment.modality_id = start, room
        _set_state(session, appointment, SCHEDULED)
        audit.record(session, by, 'appointment.reschedule', appointment, detail=detail)
    return appointment


def cancel(appointment_id: int, *, by: Actor, reason: str = '') -> Appointment:
    """Cancel an appointment that has not started."""
    require(by, Permission.CHECK_IN)
    with _audited_refusals(by, appointment_id), db.transaction() as session:
        appointment = _get(session, appointment_id)
        if appointment.state not in CANCELLABLE:
            raise _refuse(
                session, by, appointment, 'cancel', N_('An examination under way or done cannot be cancelled')
            )
        previous = appointment.state
        _set_state(session, appointment, CANCELLED)
        audit.record(
            session, by, 'appointment.cancel', appointment, detail={'from': previous, 'reason': reason.strip()[:200]}
        )
    return appointment


def no_show(appointment_id: int, *, by: Actor) -> Appointment:
    """The patient did not come."""
    return move(appointment_id, NO_SHOW, by=by)


def move(appointment_id: int, state: str, *, by: Actor) -> Appointment:
    """Move a card on the board by hand; a move the role may not make, or that skips steps, is refused and audited."""
    require(by, Permission.VIEW_BOARD)
    with _audited_refusals(by, appointment_id), db.transaction() as session:
        appointment = _get(session, appointment_id)
        step = (appointment.state, state)
        needed = [p for p in (MOVES.get(step), ALSO.get(step)) if p is not None]
        if not needed:
            raise _refuse(
                session,
                by,
                appointment,
                state,
                N_('A card cannot move from {current} to {state}', current=appointment.state, state=state),
            )
        if not any(may(by, permission) for permission in needed):
            raise _refuse(session, by, appointment, state, N_('Your role may not move a card to {state}', state=state))
        previous = appointment.state
        _set_state(session, appointment, state)
        audit.record(session, by, 'appointment.move', appointment, detail={'from': previous, 'to': state})
    log.info('appointment %s moved from %s to %s by %s', appointment_id, previous, state, by.username)
    return appointment


def set_urgent(appointment_id: int, urgent: bool, *, by: Actor) -> Appointment:
    """Mark an appointment (and any study already linked to it) urgent or not."""
    require(by, Permission.BOOK_APPOINTMENTS)
    with db.transaction() as session:
        appointment = _get(session, appointment_id)
        appointment.urgent = urgent
        session.add(appointment)
        session.exec(update(Study).where(col(Study.appointment_id) == appointment_id).values(urgent=urgent))
        audit.record(session, by, 'appointment.urgent', appointment, detail={'urgent': urgent})
        events.publish_after(session, events.AppointmentChanged(appointment_id, appointment.state))
    return appointment


def day(on: date, *, by: Actor, modality_id: int | None = None, include_closed: bool = True) -> list[Card]:
    """Every appointment of a (local) day, by time: the board, the day view per room and the kiosk read this."""
    require(by, Permission.VIEW_SCHEDULE)
    start, end = day_bounds(on)
    query = _cards().where(col(Appointment.scheduled_at) >= start, col(Appointment.scheduled_at) < end)
    if modality_id is not None:
        query = query.where(Appointment.modality_id == modality_id)
    if not include_closed:
        query = query.where(col(Appointment.state).not_in((CANCELLED, NO_SHOW)))
    with db.reading() as session:
        rows = session.execute(query.order_by(col(Appointment.scheduled_at), col(Appointment.id))).all()
    return [_card(row) for row in rows]


def card(appointment_id: int, *, by: Actor) -> Card:
    """One appointment as a card."""
    require(by, Permission.VIEW_SCHEDULE)
    with db.reading() as session:
        row = session.execute(_cards().where(Appointment.id == appointment_id)).first()
    if row is None:
        raise NotFound('No such appointment')
    return _card(row)


def rooms(*, by: Actor) -> Sequence[Modality]:
    """The rooms (modalities) appointments can be booked into: a centre's staff see their centre's and the shared
    ones (a room of no centre)."""
    require(by, Permission.VIEW_SCHEDULE)
    query = select(Modality).where(col(Modality.active).is_(True))
    if by.centres is not None:
        query = query.where(or_(col(Modality.centre_id).is_(None), col(Modality.centre_id).in_(sorted(by.centres))))
    with db.reading() as session:
        return session.exec(query.order_by(col(Modality.room), col(Modality.ae_title))).all()


def _check_centre(room: Modality, centre_id: int | None) -> None:
    """A centre's room takes its own centre's patients only (its scanner's worklist would not offer another's)."""
    if room.centre_id is not None and centre_id is not None and room.centre_id != centre_id:
        raise InvalidInput('This room belongs to another centre', {'modality_id': 'centre'})


def allowed_moves(state: str, by: Actor) -> list[str]:
    """The states this actor may move a card to from `state` (the board offers these buttons)."""
    found = [to for (frm, to), permission in MOVES.items() if frm == state and may(by, permission)]
    found += [to for (frm, to), permission in ALSO.items() if frm == state and may(by, permission) and to not in found]
    return found


def local_zone() -> tzinfo:
    """The clinic's time zone (the server's)."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() with no argument always attaches the local zone
    return zone


def day_bounds(on: date) -> tuple[datetime, datetime]:
    """The start and end of a local day, in UTC."""
    start = datetime.combine(on, time(0, 0), tzinfo=local_zone())
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def today() -> date:
    """The clinic's local date now."""
    return clock.now().astimezone(local_zone()).date()


def local_now() -> datetime:
    """The clinic's local time now (the domain clock, so tests that move it see it)."""
    return clock.now().astimezone(local_zone())


def next_slot(step_minutes: int = 15) -> datetime:
    """The next quarter hour from now: where a new booking starts unless reception picks another time."""
    now = local_now()
    start = now.replace(minute=0, second=0, microsecond=0)
    return start + timedelta(minutes=(now.minute // step_minutes + 1) * step_minutes)


def minutes_in_state(card: Card, now: datetime | None = None) -> int:
    """Whole minutes a card has spent in its current state (never negative)."""
    return max(0, int(((now or clock.now()) - card.state_changed_at).total_seconds() // 60))


def is_step_back(state: str, to: str) -> bool:
    """Whether a move goes back along the board (undoing a check-in, a call-in or a scan start)."""
    return state in BOARD_ORDER and to in BOARD_ORDER and BOARD_ORDER.index(to) < BOARD_ORDER.index(state)


# ---------------------------------------------------------------- moved by the system


def images_arriving(session: Session, appointment_id: int) -> None:
    """The first images of the booked examination arrived: the scan is under way (no MPPS needed)."""
    _advance(session, appointment_id, IN_SCAN, before=(SCHEDULED, WAITING, IN_ROOM))


def study_ready(session: Session, appointment_id: int) -> None:
    """The study is complete and processed: the card waits for the doctor's review."""
    _advance(session, appointment_id, REVIEW, before=(SCHEDULED, WAITING, IN_ROOM, IN_SCAN))


def report_finalised(session: Session, appointment_id: int) -> None:
    """The report is final: the examination is completed."""
    _advance(session, appointment_id, COMPLETED, before=(SCHEDULED, WAITING, IN_ROOM, IN_SCAN, REVIEW))


def scan_started(session: Session, appointment_id: int) -> None:
    """The modality reported its performed procedure step IN PROGRESS (MPPS N-CREATE)."""
    _advance(session, appointment_id, IN_SCAN, before=(SCHEDULED, WAITING, IN_ROOM))


def scan_completed(session: Session, appointment_id: int) -> None:
    """The modality reported the step COMPLETED (MPPS N-SET): the card goes on towards Review."""
    _advance(session, appointment_id, REVIEW, before=(SCHEDULED, WAITING, IN_ROOM, IN_SCAN))


def scan_discontinued(session: Session, appointment_id: int) -> None:
    """The modality reported the step DISCONTINUED: the patient is back in the room, the scan not done."""
    _advance(session, appointment_id, IN_ROOM, before=(IN_SCAN,))


def _advance(session: Session, appointment_id: int, state: str, *, before: tuple[str, ...]) -> None:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.state not in before:
        return
    log.info('appointment %s moves from %s to %s by itself', appointment_id, appointment.state, state)
    appointment.state, appointment.state_changed_at = state, clock.now()
    session.add(appointment)
    events.publish_after(session, events.AppointmentChanged(appointment_id, state))


# ---------------------------------------------------------------- helpers


def _get(session: Session, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound('No such appointment')
    return appointment


def _set_state(session: Session, appointment: Appointment, state: str) -> None:
    appointment.state, appointment.state_changed_at = state, clock.now()
    session.add(appointment)
    events.publish_after(session, events.AppointmentChanged(appointment.id or 0, state))


def _refuse(session: Session, by: Actor, appointment: Appointment, to: str, message: str) -> InvalidTransition:
    """The error for a refused change; `_audited_refusals` records it once the transaction has rolled back."""
    log.warning('appointment %s: %s refused %s -> %s', appointment.id, by.username, appointment.state, to)
    error = InvalidTransition(message)
    error.detail = {'from': appointment.state, 'to': to}  # type: ignore[attr-defined]
    return error


@contextmanager
def _audited_refusals(by: Actor, appointment_id: int) -> Iterator[None]:
    # NOTE: outside the write transaction: SQLite lets one writer at a time, so a nested audit would wait on it.
    try:
        yield
    except InvalidTransition as error:
        audit.record_refusal(
            by,
            'appointment.move',
            object_type='appointment',
            object_id=appointment_id,
            detail=getattr(error, 'detail', {}),
        )
        raise


def _check_free(
    session: Session, modality_id: int, start: datetime, minutes: int, own_id: int | None, *, urgent: bool
) -> None:
    if urgent:
        return  # an urgent examination may be squeezed in
    end = start + timedelta(minutes=minutes)
    with centres.unscoped():  # a room shared by centres is busy whichever centre booked it
        others = session.exec(
            select(Appointment).where(
                Appointment.modality_id == modality_id,
                col(Appointment.state).not_in((CANCELLED, NO_SHOW)),
                col(Appointment.scheduled_at) < end,
                col(Appointment.scheduled_at) > start - timedelta(hours=24),
            )
        ).all()
    for other in others:
        if other.id != own_id and clock.as_utc(other.scheduled_at) + timedelta(minutes=other.duration_minutes) > start:
            local = clock.as_utc(other.scheduled_at).astimezone(local_zone())
            raise Conflict(
                'The room is booked at {time} ({accession})', time=f'{local:%H:%M}', accession=other.accession_number
            )


# A card's columns only: the board reads a whole day of cards on every view, and loading four ORM objects per
# appointment was a fifth of the web process's CPU with 100 staff (bench/uiload.py, py-spy).
_CARD_COLUMNS: tuple[Any, ...] = (
    col(Appointment.id),
    col(Appointment.accession_number),
    col(Appointment.short_id),
    col(Appointment.state),
    col(Appointment.state_changed_at),
    col(Appointment.scheduled_at),
    col(Appointment.duration_minutes),
    col(Appointment.urgent),
    col(Appointment.modality_id),
    col(Appointment.notes),
    col(Patient.id).label('patient_id'),
    col(Patient.family_name),
    col(Patient.given_name),
    col(Patient.middle_name),
    col(Patient.patient_id).label('clinic_patient_id'),
    col(Procedure.name).label('procedure'),
    col(Procedure.modality).label('procedure_modality'),
    col(Modality.modality).label('room_modality'),
    col(Modality.room),
    col(Modality.ae_title),
)


def _cards() -> Any:
    """The SELECT of cards (its rows for `_card`), every appointment until narrowed."""
    return (
        select_columns(*_CARD_COLUMNS)
        .join(Patient, col(Patient.id) == Appointment.patient_id)
        .join(Procedure, col(Procedure.id) == Appointment.procedure_id, isouter=True)
        .join(Modality, col(Modality.id) == Appointment.modality_id, isouter=True)
    )


def _card(row: Any) -> Card:
    # unpacked in _CARD_COLUMNS' order: a row's attributes by name cost a lookup each, a day has hundreds of cards
    (
        id_,
        accession_number,
        short_id,
        state,
        state_changed_at,
        scheduled_at,
        duration_minutes,
        urgent,
        modality_id,
        notes,
        patient_id,
        family_name,
        given_name,
        middle_name,
        clinic_patient_id,
        procedure,
        procedure_modality,
        room_modality,
        room,
        ae_title,
    ) = row
    initials = ''.join(part[:1].upper() + '.' for part in (given_name, family_name) if part)
    return Card(
        id=id_ or 0,
        accession_number=accession_number,
        short_id=short_id or '',
        state=state,
        state_changed_at=clock.as_utc(state_changed_at),
        scheduled_at=clock.as_utc(scheduled_at),
        duration_minutes=duration_minutes,
        urgent=urgent,
        patient_id=patient_id or 0,
        patient_name=display_name(family_name, given_name, middle_name),
        patient_initials=initials,
        clinic_patient_id=clinic_patient_id,
        procedure=procedure or '',
        modality=procedure_modality if procedure is not None else (room_modality or ''),
        room=(room or ae_title) if ae_title is not None else '',
        modality_id=modality_id,
        notes=notes,
    )
