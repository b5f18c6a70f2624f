"""Modality Performed Procedure Steps (PS3.4 F.7): the scanner says when a booked examination starts and ends.

N-CREATE (IN PROGRESS) moves the matching card to In-Scan, N-SET COMPLETED moves it on towards Review
and DISCONTINUED back to In-Room, so the technician touches nothing. The step is found by its SOP
Instance UID; the appointment by the Accession Number in the Scheduled Step Attributes Sequence.
"""

import logging
from typing import Any

from sqlmodel import select

from . import appointments, audit, clock, db
from .access import Actor, Permission, require
from .errors import Conflict, InvalidInput, NotFound
from .models import Appointment, PerformedStep

log = logging.getLogger(__name__)

IN_PROGRESS, COMPLETED, DISCONTINUED = 'IN PROGRESS', 'COMPLETED', 'DISCONTINUED'
FINAL = (COMPLETED, DISCONTINUED)


class StepExists(Conflict):
    """N-CREATE for a SOP Instance UID already on file (status 0x0111)."""


class NoSuchStep(NotFound):
    """N-SET for a step never created (status 0x0112)."""


class StepFinal(Conflict):
    """N-SET on a step already COMPLETED or DISCONTINUED (status 0x0110, PS3.4 F.7.2.2.2 'may no longer be updated')."""


def started(
    sop_instance_uid: str, accession_number: str, attributes: dict[str, Any], *, status: str, by: Actor
) -> PerformedStep:
    """Record a new performed step (N-CREATE); its status must be IN PROGRESS."""
    require(by, Permission.STORE_DICOM)
    if not sop_instance_uid or len(sop_instance_uid) > 64:
        raise InvalidInput('The step has no usable SOP Instance UID')
    if status != IN_PROGRESS:
        raise InvalidInput('A new step must be IN PROGRESS, not {status}', status=status or 'empty')
    with db.transaction() as session:
        if session.exec(select(PerformedStep.id).where(PerformedStep.sop_instance_uid == sop_instance_uid)).first():
            raise StepExists('This performed procedure step already exists')
        appointment = (
            session.exec(select(Appointment).where(Appointment.accession_number == accession_number)).first()
            if accession_number
            else None
        )
        step = PerformedStep(
            sop_instance_uid=sop_instance_uid,
            status=status,
            source_ae=by.username[:16],
            appointment_id=appointment.id if appointment else None,
            attributes=attributes,
        )
        session.add(step)
        audit.record(
            session,
            by,
            'mpps.create',
            step,
            detail={'uid': sop_instance_uid, 'accession': accession_number, 'appointment': step.appointment_id},
        )
        if appointment is not None:
            appointments.scan_started(session, appointment.id or 0)
    if appointment is None:
        log.warning('MPPS %s from %s names no known accession number', sop_instance_uid, by.username)
    return step


def updated(sop_instance_uid: str, status: str, attributes: dict[str, Any], *, by: Actor) -> PerformedStep:
    """Change a performed step (N-SET); COMPLETED and DISCONTINUED are final."""
    require(by, Permission.STORE_DICOM)
    if status and status not in (IN_PROGRESS, *FINAL):
        raise InvalidInput('Unknown step status {status}', status=status)
    with db.transaction() as session:
        step = session.exec(select(PerformedStep).where(PerformedStep.sop_instance_uid == sop_instance_uid)).first()
        if step is None:
            raise NoSuchStep('No such performed procedure step')
        if step.status in FINAL:
            raise StepFinal('This performed procedure step is finished and may no longer be updated')
        previous = step.status
        step.status = status or step.status
        step.attributes = {**step.attributes, **attributes}
        step.updated_at = clock.now()
        session.add(step)
        audit.record(
            session, by, 'mpps.update', step, detail={'uid': sop_instance_uid, 'from': previous, 'to': step.status}
        )
        if step.appointment_id is not None:
            if step.status == COMPLETED:
                appointments.scan_completed(session, step.appointment_id)
            elif step.status == DISCONTINUED:
                appointments.scan_discontinued(session, step.appointment_id)
    log.info('MPPS %s from %s: %s -> %s', sop_instance_uid, by.username, previous, step.status)
    return step
