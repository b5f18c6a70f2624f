"""What a diagnostic centre's staff are told when the reading group finalises one of their reports (issue 18)."""

from dataclasses import dataclass

from sqlmodel import col, select

from . import db, reporting
from .access import Actor, Permission, require
from .models import Report, Study


@dataclass(frozen=True)
class FinalNotice:
    """A report of the caller's centre that has just become final: its study's short ID and description."""

    report_id: int
    short_id: str
    description: str


def finalised(report_id: int, *, by: Actor) -> FinalNotice | None:
    """The notice for this report if the caller's centre owns it and it is final (else None: nothing to tell)."""
    require(by, Permission.VIEW_REPORTS)
    with db.reading() as session:
        row = session.exec(
            select(Report.state, Study.short_id, Study.description)
            .join(Study, col(Study.id) == Report.study_id)
            .where(Report.id == report_id)
        ).first()
    if row is None or row[0] != reporting.FINAL:
        return None
    return FinalNotice(report_id, row[1] or '', row[2])
