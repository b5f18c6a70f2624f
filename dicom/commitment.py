"""Storage Commitment Push Model SCP (PS3.4 J.3): the N-ACTION handler and the N-EVENT-REPORT that answers it.

The handler reads the Transaction UID and the Referenced SOP Sequence, has domain.commitment record the request and
queue its report job, and answers success (PS3.4 J.3.2.1.3: "received", not yet "committed"). The job (`report`)
commits an image only when it is indexed with the same SOP class and its file is on disk with the indexed SHA-256;
every other image is listed in the Failed SOP Sequence with its Failure Reason (0x0112 no such object, 0x0119
class/instance conflict, 0x0110 the file differs from the index). The report goes on the requesting association while
it is open in this process (PS3.4 J.3.3.1.2 note 1), else on a new association to the modality's entered host and
port, proposing the SCP role (PS3.4 J.3.3.1.3 note, PS3.7 D.3.3.4). A peer whose role may not store gets 0x0124.
"""

import hashlib
import logging
import weakref
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]
from sqlalchemy.exc import OperationalError

from domain import access, commitment, modalities, sealed
from domain.errors import InvalidInput, NotAllowed

from . import storage, transport

log = logging.getLogger(__name__)

SOP_CLASS = str(StorageCommitmentPushModel)  # 1.2.840.10008.1.20.1
SOP_INSTANCE = '1.2.840.10008.1.20.1.1'  # the well-known Storage Commitment Push Model SOP Instance (PS3.4 J.3.5)
REQUEST_COMMITMENT = 1  # Action Type ID (PS3.4 Table J.3-1)
ALL_COMMITTED, FAILURES_EXIST = 1, 2  # Event Type ID (PS3.4 Table J.3-2)
SUCCESS, PROCESSING_FAILURE, NO_SUCH_INSTANCE, INVALID_ARGUMENT = 0x0000, 0x0110, 0x0112, 0x0115
NO_SUCH_SOP_CLASS, NO_SUCH_ACTION, NOT_AUTHORISED, RESOURCE_LIMITATION = 0x0118, 0x0123, 0x0124, 0x0213
SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
TIMEOUT_S = 10  # connecting to and waiting on the modality when reporting


class ReportNotDelivered(Exception):
    """The modality could not be reached or did not accept the report (the job tries again)."""


class NoAddress(Exception):
    """The modality has no entered address to report to (retrying cannot help: the administrator must enter one)."""


def handlers() -> list[tuple[Any, Any]]:
    """The N-ACTION binding of the listener."""
    return [(evt.EVT_N_ACTION, on_n_action)]


def on_n_action(event: Any) -> tuple[int, Dataset | None]:
    """N-ACTION Request Storage Commitment: record it and answer "received" (PS3.4 J.3.2)."""
    request = event.request
    actor = _actor(event)
    if str(request.RequestedSOPClassUID) != SOP_CLASS:
        return NO_SUCH_SOP_CLASS, None
    if str(request.RequestedSOPInstanceUID) != SOP_INSTANCE:
        return NO_SUCH_INSTANCE, None
    if request.ActionTypeID != REQUEST_COMMITMENT:
        return NO_SUCH_ACTION, None
    try:
        info = event.action_information
        transaction_uid = str(info.get('TransactionUID', '') or '')
        references = [
            (str(item.get('ReferencedSOPClassUID', '') or ''), str(item.get('ReferencedSOPInstanceUID', '') or ''))
            for item in info.get('ReferencedSOPSequence') or []
        ]
    except Exception as error:  # an action information pydicom cannot decode
        log.warning('storage commitment from %s could not be read: %s', actor.username, type(error).__name__)
        return PROCESSING_FAILURE, None
    key = (actor.username[:16], transaction_uid.strip())
    _open[key] = event.assoc  # before the job is queued: it may run at once and look for this association
    try:
        commitment.received(transaction_uid, references, called_ae=str(event.assoc.acceptor.ae_title), by=actor)
    except (NotAllowed, InvalidInput, OperationalError) as error:
        _open.pop(key, None)
        status = {NotAllowed: NOT_AUTHORISED, InvalidInput: INVALID_ARGUMENT}.get(type(error), RESOURCE_LIMITATION)
        log.warning('storage commitment from %s refused with status 0x%04X: %s', actor.username, status, error)
        return status, None
    return SUCCESS, None


def report(request_id: int, *, fallback_ae: str = 'CLINICPACS') -> str | None:
    """Check the request's images and send its N-EVENT-REPORT; 'same' or 'new' association, None if none was owed.

    Raises ReportNotDelivered (the job retries) or NoAddress (it fails for good).
    """
    owed = commitment.pending(request_id)
    if owed is None:
        return None
    failed = unsafe_images(owed)
    info = event_information(owed, failed)
    event_type = FAILURES_EXIST if failed else ALL_COMMITTED
    how = 'same'
    assoc = _open.pop((owed.calling_ae, owed.transaction_uid), None)
    if assoc is None or not assoc.is_established or not _send_on(assoc, info, event_type):
        how = 'new'
        _send_on_new_association(owed, info, event_type, calling_ae=owed.called_ae or fallback_ae)
    commitment.reported(request_id, failed, how=how)
    return how


def unsafe_images(owed: commitment.PendingReport) -> list[tuple[str, str, int]]:
    """The referenced images the clinic cannot commit to keep, each with its Failure Reason (PS3.3 C.14.1.1)."""
    failed: list[tuple[str, str, int]] = []
    for sop_class, sop_instance in owed.references:
        row = owed.indexed.get(sop_instance)
        if row is None:
            failed.append((sop_class, sop_instance, commitment.NO_SUCH_OBJECT))
        elif row.sop_class_uid != sop_class:
            failed.append((sop_class, sop_instance, commitment.CLASS_MISMATCH))
        elif (problem := _file_problem(row)) is not None:
            failed.append((sop_class, sop_instance, problem))
    return failed


def event_information(owed: commitment.PendingReport, failed: list[tuple[str, str, int]]) -> Dataset:
    """The N-EVENT-REPORT's Event Information (PS3.4 Table J.3-2): committed and failed images."""
    not_committed = {uid for _, uid, _ in failed}
    info = Dataset()
    info.TransactionUID = owed.transaction_uid
    if owed.called_ae:
        info.RetrieveAETitle = owed.called_ae
    committed = [(cls, uid) for cls, uid in owed.references if uid not in not_committed]
    if committed:
        info.ReferencedSOPSequence = [_item(cls, uid) for cls, uid in committed]
    if failed:
        items = []
        for cls, uid, reason in failed:
            item = _item(cls, uid)
            item.FailureReason = reason
            items.append(item)
        info.FailedSOPSequence = items
    return info


# ---------------------------------------------------------------- helpers

# (calling AE title, Transaction UID) -> the association the request came on, while this process holds it
_open: 'weakref.WeakValueDictionary[tuple[str, str], Association]' = weakref.WeakValueDictionary()


def _actor(event: Any) -> access.Actor:
    requestor = event.assoc.requestor
    return access.modality(str(requestor.ae_title).strip(), str(requestor.address))


def _item(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def _file_problem(row: commitment.Indexed) -> int | None:
    """None when the image's file is on disk with the indexed checksum, else the failure reason."""
    digest = hashlib.sha256()
    try:
        with storage.open_file(row.file_path) as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return commitment.NO_SUCH_OBJECT
    except sealed.Tampered:  # kept encrypted at rest, and damaged since: never confirmed
        return commitment.PROCESSING_FAILURE
    return None if row.sha256 and digest.hexdigest() == row.sha256 else commitment.PROCESSING_FAILURE


def _send_on(assoc: Association, info: Dataset, event_type: int) -> bool:
    """Report on the requesting association; False when it ended or the modality did not accept it there."""
    previous = assoc.dimse_timeout
    assoc.dimse_timeout = TIMEOUT_S  # a modality releasing meanwhile never answers: do not wait a whole minute
    try:
        status, _ = assoc.send_n_event_report(info, event_type, SOP_CLASS, SOP_INSTANCE)
    except (RuntimeError, ValueError) as error:  # the association ended, or has no context for the class
        log.info('storage commitment report not sent on the same association: %s', error)
        return False
    finally:
        assoc.dimse_timeout = previous
    return int(getattr(status, 'Status', -1)) == SUCCESS


def _send_on_new_association(
    owed: commitment.PendingReport, info: Dataset, event_type: int, *, calling_ae: str
) -> None:
    target = modalities.destination(owed.calling_ae)
    if target is None:
        raise NoAddress(f'the modality {owed.calling_ae} has no entered address to send the commitment report to')
    host, port = target
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    ae.add_requested_context(SOP_CLASS, SYNTAXES)
    # As association requestor the clinic proposes the SCP role for the class (PS3.4 J.3.3.1.3, PS3.7 D.3.3.4).
    assoc = ae.associate(
        host,
        port,
        ae_title=owed.calling_ae,
        ext_neg=[build_role(SOP_CLASS, scp_role=True)],
        evt_handlers=transport.tuned(),
    )
    if not assoc.is_established:
        raise ReportNotDelivered(f'{owed.calling_ae} at {host}:{port} did not accept an association')
    try:
        status, _ = assoc.send_n_event_report(info, event_type, SOP_CLASS, SOP_INSTANCE)
    finally:
        assoc.release()
    code = int(getattr(status, 'Status', -1))
    if code != SUCCESS:
        raise ReportNotDelivered(f'{owed.calling_ae} answered the commitment report with 0x{code & 0xFFFF:04X}')
