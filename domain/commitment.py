"""Storage Commitment, push model (PS3.4 J.3): a modality asks the clinic to keep the images it sent.

A request (N-ACTION) becomes a CommitmentRequest row and a database job (REPORT_JOB) in one transaction, so a
crash loses no answer. The job checks each referenced image (dicom/commitment.py: indexed here, and its file on
disk with the indexed checksum), and sends the N-EVENT-REPORT on the requesting association while it is open, else
on a new association to the modality's entered address (never one taken from the request). Both the request and
the report are audited; a peer whose role may not store is refused.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from . import audit, clock, db, work
from .access import Actor, Permission, require, system
from .errors import InvalidInput
from .models import CommitmentRequest, Instance

log = logging.getLogger(__name__)

REPORT_JOB = 'commitment_report'
PENDING, REPORTED = 'pending', 'reported'
# Failure Reason (0008,1197) values (PS3.3 C.14.1.1): what the report says of an image that is not committed.
PROCESSING_FAILURE, NO_SUCH_OBJECT, CLASS_MISMATCH = 0x0110, 0x0112, 0x0119
MAX_REFERENCES = 10_000  # one request; a modality commits a study or a few at a time
_CHUNK = 500  # UIDs per IN (...) when reading the index


@dataclass(frozen=True)
class Indexed:
    """What the index holds of one referenced image."""

    sop_class_uid: str
    file_path: str
    sha256: str


@dataclass(frozen=True)
class PendingReport:
    """A request whose report is still owed: what was asked for and what the index knows of it."""

    request_id: int
    transaction_uid: str
    calling_ae: str
    called_ae: str
    references: tuple[tuple[str, str], ...]  # (SOP Class UID, SOP Instance UID) as the modality sent them
    indexed: dict[str, Indexed]  # SOP Instance UID -> its index row (only those indexed)


def received(
    transaction_uid: str, references: Sequence[tuple[str, str]], *, called_ae: str, by: Actor
) -> CommitmentRequest:
    """Record a modality's request for storage commitment and queue its report (PS3.4 J.3.2.1.3)."""
    require(by, Permission.STORE_DICOM)
    transaction_uid = transaction_uid.strip()
    if not transaction_uid or len(transaction_uid) > 64:
        raise InvalidInput('The request has no usable Transaction UID')
    cleaned = [(str(sop_class).strip(), str(sop_instance).strip()) for sop_class, sop_instance in references]
    if not cleaned or len(cleaned) > MAX_REFERENCES:
        raise InvalidInput('The request references no images, or too many')
    if any(not uid or len(uid) > 64 for pair in cleaned for uid in pair):
        raise InvalidInput('A referenced image has no usable SOP Class or Instance UID')
    with db.transaction() as session:
        request = CommitmentRequest(
            transaction_uid=transaction_uid,
            calling_ae=by.username[:16],
            called_ae=called_ae.strip()[:16],
            address=by.address[:64],
            referenced=[list(pair) for pair in cleaned],
        )
        session.add(request)
        session.flush()
        work.enqueue(session, REPORT_JOB, request.id or 0)
        detail = {'transaction_uid': transaction_uid, 'instances': len(cleaned)}
        audit.record(session, by, 'dicom.commitment.request', request, detail=detail)
    log.info('storage commitment %s from %s: %d images', request.id, by.username, len(cleaned))
    return request


def pending(request_id: int) -> PendingReport | None:
    """The request and the index rows of its images; None once reported (or gone)."""
    with db.reading() as session:
        request = session.get(CommitmentRequest, request_id)
        if request is None or request.state != PENDING:
            return None
        references = tuple((str(pair[0]), str(pair[1])) for pair in request.referenced)
        uids = sorted({uid for _, uid in references})
        indexed: dict[str, Indexed] = {}
        for start in range(0, len(uids), _CHUNK):
            rows = session.exec(
                select(Instance.sop_instance_uid, Instance.sop_class_uid, Instance.file_path, Instance.sha256).where(
                    col(Instance.sop_instance_uid).in_(uids[start : start + _CHUNK])
                )
            ).all()
            indexed.update({row[0]: Indexed(row[1], row[2], row[3]) for row in rows})
    return PendingReport(
        request_id, request.transaction_uid, request.calling_ae, request.called_ae, references, indexed
    )


def reported(request_id: int, failed: Sequence[tuple[str, str, int]], *, how: str) -> None:
    """The modality acknowledged the report ('same' or 'new' association): the transaction is closed."""
    with db.transaction() as session:
        request = session.get(CommitmentRequest, request_id)
        if request is None or request.state != PENDING:
            return
        request.state, request.reported_how, request.reported_at = REPORTED, how, clock.now()
        request.failed = [list(item) for item in failed]
        session.add(request)
        detail = {
            'transaction_uid': request.transaction_uid,
            'calling_ae': request.calling_ae,
            'committed': len(request.referenced) - len(failed),
            'failed': len(failed),
            'association': how,
        }
        audit.record(session, system('storage commitment'), 'dicom.commitment.report', request, detail=detail)
    log.info('storage commitment %s reported (%d failed, %s association)', request_id, len(failed), how)
