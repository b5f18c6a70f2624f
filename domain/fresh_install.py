"""Whether this install is still fresh: nothing clinical on file and no user but its first admin.

Only a fresh install may be restored from the admin page (ui/restore_page.py): a restore replaces every table, and
on a fresh one that loses nothing but the first admin's account (the backup brings its own users).
"""

import logging

from sqlalchemy import func, select
from sqlmodel import SQLModel

from . import db
from .access import Actor, Permission, require
from .errors import N_, Conflict
from .models import Appointment, Instance, Patient, Report, Study, User

log = logging.getLogger(__name__)

CLINICAL: tuple[type[SQLModel], ...] = (Patient, Appointment, Study, Instance, Report)


class NotFresh(Conflict):
    """The install already holds clinical data or more users than its first admin."""

    def __init__(self) -> None:
        super().__init__(
            N_('This install already holds patients, studies or reports: restore it from the command line')
        )


def is_fresh(*, by: Actor) -> bool:
    """True while no patient, appointment, study, image or report is on file and at most one user exists."""
    require(by, Permission.MANAGE_SETTINGS)
    with db.reading() as session:
        for model in CLINICAL:
            if session.execute(select(model.id).limit(1)).first() is not None:  # type: ignore[attr-defined]
                return False
        return (session.execute(select(func.count()).select_from(User)).scalar() or 0) <= 1


def require_fresh(*, by: Actor) -> None:
    """Refuse (NotFresh) unless the install is fresh."""
    if not is_fresh(by=by):
        raise NotFresh()
