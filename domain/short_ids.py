"""Short study IDs: eight characters a person can read out on the phone, type and not mistake.

Every study, booked or pushed or uploaded, carries one. The alphabet leaves out 0/O and 1/I, so what is read
can only be written one way; 32 symbols to the power of 8 is about 10^12 codes, drawn at random (`secrets`), so a
code says nothing about when or where the study was made. A booked examination gets its code at booking; the
study that arrives for it takes the same code, so the slip handed to the patient names the study they get.

Codes are unique among studies and among appointments; before a code is given, both tables are asked, and the
unique indexes catch the one-in-10^12 race of two new codes alike at the same moment.
"""

import re
import secrets
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select

from . import centres
from .models import Appointment, Study

ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # no 0, O, 1, I
LENGTH = 8
_TYPED = re.compile(rf'^[{ALPHABET}]{{{LENGTH}}}$')


def new_code() -> str:
    """A random code (not yet checked against the database)."""
    return ''.join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def unused_code(session: Session) -> str:
    """A code no study and no appointment of any centre has."""
    while True:
        code = new_code()
        with centres.unscoped():  # unique across centres, whoever asks
            taken = (
                session.exec(select(Study.id).where(Study.short_id == code)).first()
                or session.exec(select(Appointment.id).where(Appointment.short_id == code)).first()
            )
        if taken is None:
            return code


def code_for_arrival(session: Session, appointment: Appointment | None) -> str:
    """The code of a study arriving now: its appointment's, unless a study already carries that one (a second
    study for one booking gets a code of its own)."""
    if appointment is not None and appointment.short_id:
        if session.exec(select(Study.id).where(Study.short_id == appointment.short_id)).first() is None:
            return appointment.short_id
    return unused_code(session)


def typed(text: str) -> str | None:
    """The code a person typed, in its canonical form (upper case, spaces and dashes dropped), or None when the
    text cannot be one."""
    code = re.sub(r'[\s-]', '', text).upper()
    return code if _TYPED.match(code) else None


def fill_missing(session: Session) -> int:
    """Give a code to every appointment and study without one (rows restored from an archive made before codes
    existed); a study takes its appointment's code where that is still free. Returns how many were given."""
    given = 0
    for appointment_id in session.exec(select(Appointment.id).where(_blank(Appointment.short_id))).all():
        session.execute(
            update(Appointment).where(col(Appointment.id) == appointment_id).values(short_id=unused_code(session))
        )
        given += 1
    for study_id, appointment_id in session.exec(select(Study.id, Study.appointment_id).where(_blank(Study.short_id))):
        appointment = session.get(Appointment, appointment_id) if appointment_id is not None else None
        session.execute(
            update(Study).where(col(Study.id) == study_id).values(short_id=code_for_arrival(session, appointment))
        )
        given += 1
    return given


def _blank(column: Any) -> ColumnElement[bool]:
    return or_(col(column).is_(None), func.length(col(column)) == 0)
