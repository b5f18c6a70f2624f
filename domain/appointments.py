"""Appointments and the day's status board: booking, the state machine and who may move a card.

The board's states: scheduled (booked) → waiting (checked in) → in-room → in-scan → review →
completed, plus cancelled and no-show. Images arriving, a study becoming ready and a report being
finalised move a card by themselves through the three functions at the end, called inside the
transaction of the study or report service that knows it happened.
"""

import logging

from sqlmodel import Session

from . import clock, events
from .models import Appointment

log = logging.getLogger(__name__)

SCHEDULED, WAITING, IN_ROOM, IN_SCAN, REVIEW, COMPLETED = 'scheduled', 'waiting', 'in-room', 'in-scan', 'review', \
    'completed'
CANCELLED, NO_SHOW = 'cancelled', 'no-show'
BOARD_ORDER = (SCHEDULED, WAITING, IN_ROOM, IN_SCAN, REVIEW, COMPLETED)
CLOSED = (COMPLETED, CANCELLED, NO_SHOW)


def images_arriving(session: Session, appointment_id: int) -> None:
    """The first images of the booked examination arrived: the scan is under way (no MPPS needed)."""
    _advance(session, appointment_id, IN_SCAN, before=(SCHEDULED, WAITING, IN_ROOM))


def study_ready(session: Session, appointment_id: int) -> None:
    """The study is complete and processed: the card waits for the doctor's review."""
    _advance(session, appointment_id, REVIEW, before=(SCHEDULED, WAITING, IN_ROOM, IN_SCAN))


def report_finalised(session: Session, appointment_id: int) -> None:
    """The report is final: the examination is completed."""
    _advance(session, appointment_id, COMPLETED, before=(SCHEDULED, WAITING, IN_ROOM, IN_SCAN, REVIEW))


def _advance(session: Session, appointment_id: int, state: str, *, before: tuple[str, ...]) -> None:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.state not in before:
        return
    log.info('appointment %s moves from %s to %s by itself', appointment_id, appointment.state, state)
    appointment.state, appointment.state_changed_at = state, clock.now()
    session.add(appointment)
    events.publish_after(session, events.AppointmentChanged(appointment_id, state))
