"""A draft report filled from the measurements the scanner sent as a Structured Report (domain.sr_values)."""

import logging

from sqlmodel import col, select

from . import audit, db, drafting, report_ownership
from .access import Actor, Permission, require
from .models import Instance, ReportTemplate, Series
from .sr_values import SrValue, matches
from .templates import definition

log = logging.getLogger(__name__)

SR_CLASSES = '1.2.840.10008.5.1.4.1.1.88.'  # the SOP Class UIDs of Structured Report storage (PS3.4 B.5) begin so


def sr_files(study_id: int, *, by: Actor) -> list[tuple[int, str]]:
    """The study's Structured Reports: (instance id, stored file path), oldest first."""
    require(by, Permission.READ_IMAGES)
    with db.reading() as session:
        rows = session.exec(
            select(Instance.id, Instance.file_path)
            .join(Series, col(Series.id) == Instance.series_id)
            .where(Series.study_id == study_id, col(Instance.sop_class_uid).startswith(SR_CLASSES))
            .order_by(col(Instance.id))
        ).all()
    return [(instance_id or 0, path) for instance_id, path in rows]


def fill(report_id: int, values: list[SrValue], *, by: Actor) -> list[str]:
    """Put the SR values into the draft's number fields that are still empty (never over what a doctor typed);
    audited with the fields filled and the SR instances they came from. Returns the keys of the fields filled."""
    require(by, Permission.WRITE_REPORTS)
    with db.transaction() as session:
        report = report_ownership.authors_draft(session, report_id, by)
        template = session.get(ReportTemplate, report.template_id)
        assert template is not None
        found = matches(values, definition(template).fields())
        filled = drafting.into_draft(session, report, {key: match.text for key, match in found.items()})
        if not filled:
            return []
        instances = sorted({found[key].value.instance_id for key in filled})
        audit.record(session, by, 'report.import', report, detail={'fields': sorted(filled), 'instances': instances})
    log.info('report %s: %d fields filled from the structured report', report_id, len(filled))
    return sorted(filled)
