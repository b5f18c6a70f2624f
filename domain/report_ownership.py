"""Who writes a draft: only its author changes or finalises it; a colleague takes it over, an admin reassigns it.

A draft belongs to `Report.author_id`. Every service that changes a draft calls `check_author` inside its
transaction and refuses anyone else, so a colleague who opens the draft (a page, a stale tab, a crafted call)
can read it but not save, finalise or delete it. Changing hands is explicit and audited: a radiologist takes
the draft over ('report.take_over'), or an administrator reassigns it to a radiologist ('report.reassign');
both publish ReportChanged, which the author's open editor follows to turn read-only.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from . import audit, db, events
from .access import Actor, Permission, require
from .errors import N_, InvalidInput, InvalidTransition, NotAllowed, NotFound
from .models import AuditEvent, Report, User

log = logging.getLogger(__name__)

DRAFT = 'draft'  # NOTE: reporting.DRAFT (reporting imports this module)
TAKE_OVER, REASSIGN = 'report.take_over', 'report.reassign'


class NotTheAuthor(NotAllowed):
    """The draft is someone else's: its author wrote it, or it was taken over or reassigned since."""


@dataclass(frozen=True)
class Handover:
    """A draft changing hands: who moved it, from whom, to whom and when."""

    action: str  # report.take_over or report.reassign
    at: datetime
    by_id: int | None
    from_id: int | None
    to_id: int | None


def take_over(report_id: int, *, by: Actor) -> Report:
    """A radiologist takes a colleague's draft to finish it themselves (audited; the author's editor is told)."""
    require(by, Permission.FINALISE_REPORTS)
    return _hand_over(report_id, by.user_id or 0, by=by, action=TAKE_OVER)


def reassign(report_id: int, user_id: int, *, by: Actor) -> Report:
    """An administrator gives a draft to another radiologist (audited; the author's editor is told)."""
    require(by, Permission.ASSIGN_STUDIES)
    return _hand_over(report_id, user_id, by=by, action=REASSIGN)


def authors_draft(session: Session, report_id: int, by: Actor) -> Report:
    """The draft report, locked for the change its author is about to make (a suggestion or an import into it);
    refused when it is no draft or not theirs."""
    report = session.exec(select(Report).where(Report.id == report_id).with_for_update()).first()
    if report is None or report.kind != 'report':
        raise NotFound('No report {report_id}', report_id=report_id)
    if report.state != 'draft':
        raise InvalidTransition('A final report cannot be changed; add an addendum')
    check_author(session, report, by)
    return report


def check_author(session: Session, report: Report, by: Actor) -> None:
    """Refuse unless the actor wrote this draft (call inside the transaction that changes it)."""
    if by.user_id is not None and by.user_id == report.author_id:
        return
    author = session.get(User, report.author_id)
    name = (author.full_name or author.username) if author else ''
    raise NotTheAuthor(
        N_('This draft is being written by {name}; only its author may change or finalise it', name=name)
    )


@contextmanager
def refusals_audited(by: Actor, action: str, report_id: int) -> Iterator[None]:
    """Audit a refusal raised inside the block once its transaction has rolled back."""
    try:
        yield
    except NotAllowed:
        log.warning('refused %s of report %s for user %s', action, report_id, by.user_id)
        audit.record_refusal(by, action, object_type='report', object_id=report_id)
        raise


def handovers(session: Session, report_id: int) -> list[Handover]:
    """Every take-over and reassignment of a report, oldest first (shown on the report page)."""
    rows = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == 'report',
            AuditEvent.object_id == str(report_id),
            col(AuditEvent.action).in_([TAKE_OVER, REASSIGN]),
            AuditEvent.outcome == 'success',
        )
        .order_by(col(AuditEvent.id))
    ).all()
    return [Handover(e.action, e.at, e.user_id, e.detail.get('from'), e.detail.get('to')) for e in rows]


# ---------------------------------------------------------------- helpers


def _hand_over(report_id: int, user_id: int, *, by: Actor, action: str) -> Report:
    with db.transaction() as session:
        report = session.exec(select(Report).where(Report.id == report_id).with_for_update()).first()
        if report is None or report.kind != 'report':
            raise NotFound('No report {report_id}', report_id=report_id)
        if report.state != DRAFT:
            raise InvalidTransition('A final report cannot be changed; add an addendum')
        target = session.get(User, user_id)
        if target is None or not target.active or target.role != 'radiologist':
            raise InvalidInput('A draft is given only to an active radiologist')
        previous = report.author_id
        if previous == user_id:
            return report
        report.author_id = user_id
        session.add(report)
        audit.record(session, by, action, report, detail={'from': previous, 'to': user_id})
        events.publish_after(session, events.ReportChanged(report.id or 0, report.study_id, report.state))
    log.info(
        'report %s moved from user %s to user %s (%s by user %s)', report_id, previous, user_id, action, by.user_id
    )
    return report
