"""The audit trail, filtered as the administrator asks, as CSV with the DICOM audit vocabulary (PS3.15 A.5).

The export is itself audited ("audit log used"). It holds the events that matched when it was asked for, newest
first, at most MAX_ROWS, and is written in batches as it is sent. Every text cell that a spreadsheet would take
for a formula (= + - @, tab, carriage return first) gets a leading apostrophe: user names, object ids and details
come from outside (a failed sign-in records the name that was typed).
"""

import csv
import io
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from . import audit, audit_changes, audit_filters, audit_vocabulary, clock, db
from .access import Actor, Permission, require
from .audit_filters import AuditFilter
from .models import AuditEvent

log = logging.getLogger(__name__)

MAX_ROWS = 100_000
BATCH = 2_000
HEADER = (
    'id',
    'time_utc',
    'user',
    'role',
    'action',
    'object_type',
    'object_id',
    'outcome',
    'address',
    'changes',
    'detail',
    'dicom_event_id',
    'dicom_event_action_code',
    'dicom_event_type_code',
    'dicom_event_outcome_indicator',
)
FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')


@dataclass(frozen=True)
class AuditCsv:
    """An export ready to send: its file name, how many events it holds, and its bytes as they are written."""

    filename: str
    rows: int
    capped: bool  # more events matched than MAX_ROWS
    chunks: Iterator[bytes]


def prepare(filters: AuditFilter, *, by: Actor, max_rows: int = MAX_ROWS) -> AuditCsv:
    """The filtered trail as CSV (administrators); the export is audited before a byte is sent."""
    require(by, Permission.VIEW_AUDIT)
    with db.reading() as session:
        conditions = audit_filters.where(session, filters)
        total, head = session.exec(select(func.count(), func.max(AuditEvent.id)).where(*conditions)).one()
    rows = min(total, max_rows)
    detail = {'filters': filters.described(), 'rows': rows, 'capped': total > max_rows}
    audit.record_alone(by, 'audit.export', object_type='audit', detail=detail)
    log.info('audit trail exported by user %s: %d events', by.user_id, rows)
    filename = f'audit-{clock.now():%Y%m%d-%H%M%S}.csv'
    return AuditCsv(filename, rows, total > max_rows, _chunks(conditions, head or 0, rows))


def cell(value: object) -> str:
    """One CSV cell: text a spreadsheet would run as a formula is neutralised with a leading apostrophe."""
    text = '' if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def line(event: AuditEvent) -> list[str]:
    """One event's cells, in HEADER's order."""
    terms = audit_vocabulary.classify(event.action, event.outcome)
    changes = audit_changes.changes_of(event.action, event.object_id, event.detail)
    return [
        cell(value)
        for value in (
            event.id,
            clock.as_utc(event.at).isoformat(timespec='seconds'),
            event.username,
            event.role,
            event.action,
            event.object_type,
            event.object_id,
            event.outcome,
            event.address,
            audit_changes.as_text(changes),
            json.dumps(event.detail, ensure_ascii=False, sort_keys=True, default=str) if event.detail else '',
            terms.event_id,
            terms.action_code,
            terms.type_code or '',
            terms.outcome,
        )
    ]


# ---------------------------------------------------------------- helpers


def _chunks(conditions: Sequence[Any], head: int, rows: int) -> Iterator[bytes]:
    """The header, then the events up to `head` (what matched when asked), newest first, a batch at a time."""
    yield '\ufeff'.encode() + _encode([list(HEADER)])  # the byte order mark: spreadsheets then read UTF-8
    below, left = head + 1, rows
    while left > 0:
        with db.reading() as session:
            batch = session.exec(
                select(AuditEvent)
                .where(*conditions, col(AuditEvent.id) < below)
                .order_by(col(AuditEvent.id).desc())
                .limit(min(BATCH, left))
            ).all()
        if not batch:
            return
        yield _encode([line(event) for event in batch])
        below, left = batch[-1].id or 0, left - len(batch)


def _encode(lines: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator='\r\n').writerows(lines)
    return buffer.getvalue().encode()
