"""Modality Performed Procedure Step SCP (PS3.4 F.7): N-CREATE and N-SET handlers.

Thin handlers: they read the few attributes the clinic uses into plain values and call domain.mpps,
which moves the board's card. Refusals get the standard DIMSE statuses and a log line.
"""

import logging
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep  # type: ignore[attr-defined]
from sqlalchemy.exc import OperationalError

from domain import access, mpps
from domain.errors import InvalidInput, NotAllowed

log = logging.getLogger(__name__)

SOP_CLASS = ModalityPerformedProcedureStep
SUCCESS = 0x0000
PROCESSING_FAILURE, INVALID_ATTRIBUTE_VALUE, NO_SUCH_INSTANCE, DUPLICATE_INSTANCE = 0x0110, 0x0106, 0x0112, 0x0111
MISSING_ATTRIBUTE, NO_SUCH_SOP_CLASS, REFUSED, OUT_OF_RESOURCES = 0x0120, 0x0118, 0x0124, 0x0213
KEPT = (
    'PerformedStationAETitle',
    'PerformedProcedureStepStartDate',
    'PerformedProcedureStepStartTime',
    'PerformedProcedureStepEndDate',
    'PerformedProcedureStepEndTime',
    'PerformedProcedureStepID',
    'PerformedProcedureStepDescription',
    'Modality',
    'PerformedProcedureStepDiscontinuationReasonCodeSequence',
)


def on_n_create(event: Any) -> tuple[int, Dataset | None]:
    """A modality starts a performed procedure step."""
    actor = _actor(event)
    if event.request.AffectedSOPClassUID != SOP_CLASS:
        return NO_SUCH_SOP_CLASS, None
    uid = str(event.request.AffectedSOPInstanceUID or '')
    try:
        ds = event.attribute_list
        status = str(ds.get('PerformedProcedureStepStatus', '')).strip()
        sequence = ds.get('ScheduledStepAttributesSequence') or []
        accession = str(sequence[0].get('AccessionNumber', '')).strip() if len(sequence) else ''
        attributes = _plain(ds)
    except Exception as error:  # an attribute list pydicom cannot decode
        log.warning('MPPS N-CREATE %s from %s could not be read: %s', uid, actor.username, type(error).__name__)
        return PROCESSING_FAILURE, None
    if not uid:
        log.warning('MPPS N-CREATE from %s without an SOP Instance UID', actor.username)
        return MISSING_ATTRIBUTE, None
    if not status:
        log.warning('MPPS N-CREATE %s from %s without a status', uid, actor.username)
        return MISSING_ATTRIBUTE, None
    return _call(
        lambda: mpps.started(uid, accession, attributes, status=status, by=actor), 'N-CREATE', uid, actor, answer=ds
    )


def on_n_set(event: Any) -> tuple[int, Dataset | None]:
    """A modality updates (completes or discontinues) a performed procedure step."""
    actor = _actor(event)
    uid = str(event.request.RequestedSOPInstanceUID or '')
    try:
        ds = event.modification_list
        status = str(ds.get('PerformedProcedureStepStatus', '')).strip()
        attributes = _plain(ds)
    except Exception as error:
        log.warning('MPPS N-SET %s from %s could not be read: %s', uid, actor.username, type(error).__name__)
        return PROCESSING_FAILURE, None
    return _call(lambda: mpps.updated(uid, status, attributes, by=actor), 'N-SET', uid, actor, answer=ds)


def handlers() -> list[tuple[Any, Any]]:
    """The event handlers a stand-alone MPPS SCP binds (tests)."""
    return [(evt.EVT_N_CREATE, on_n_create), (evt.EVT_N_SET, on_n_set)]


def _call(action: Any, message: str, uid: str, actor: access.Actor, *, answer: Dataset) -> tuple[int, Dataset | None]:
    try:
        action()
    except mpps.StepExists:
        status = DUPLICATE_INSTANCE
    except mpps.NoSuchStep:
        status = NO_SUCH_INSTANCE
    except mpps.StepFinal:
        status = PROCESSING_FAILURE
    except InvalidInput:
        status = INVALID_ATTRIBUTE_VALUE
    except NotAllowed:
        status = REFUSED
    except OperationalError:
        status = OUT_OF_RESOURCES
    else:
        return SUCCESS, answer
    log.warning('MPPS %s %s from %s refused with status 0x%04X', message, uid, actor.username, status)
    return status, None


def _actor(event: Any) -> access.Actor:
    requestor = event.assoc.requestor
    return access.modality(requestor.ae_title.strip(), requestor.address)


def _plain(ds: Dataset) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for keyword in KEPT:
        if keyword in ds and ds[keyword].VR != 'SQ':
            kept[keyword] = str(ds[keyword].value or '')
    return kept
