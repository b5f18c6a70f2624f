"""Modality Worklist C-FIND (PS3.4 K.6): a scanner asks for today's booked examinations.

`on_c_find_worklist` is a pynetdicom C-FIND handler (a generator of (status, identifier) pairs) for the
Modality Worklist Information Model; the SCP's C-FIND handler hands worklist requests to it. Matching
is domain.worklist's; this module turns the request into a plain query and each matching step into the
elements of its answer, which dicom/find_responses.py encodes and sends in bulk.
"""

import logging
from collections.abc import Callable, Iterator
from datetime import date, time
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import evt
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]
from sqlalchemy.exc import OperationalError

from domain import access, worklist
from domain.errors import DomainError, InvalidInput, NotAllowed

from . import find_responses
from .find_responses import Element

log = logging.getLogger(__name__)

SOP_CLASS = ModalityWorklistInformationFind
SUCCESS, CANCELLED = 0x0000, 0xFE00
OUT_OF_RESOURCES, IDENTIFIER_MISMATCH, UNABLE_TO_PROCESS, REFUSED = 0xA700, 0xA900, 0xC000, 0xA801


def on_c_find_worklist(event: Any) -> Iterator[tuple[int, Dataset | None]]:
    """Answer a worklist query with one pending response per matching scheduled step, then success."""
    requestor = event.assoc.requestor
    actor = access.modality(requestor.ae_title.strip(), requestor.address)
    try:
        identifier = event.identifier
        query = to_query(identifier)
    except InvalidInput as error:
        log.warning('worklist query from %s refused: %s', actor.username, error)
        yield IDENTIFIER_MISMATCH, None
        return
    except Exception as error:  # a dataset pydicom cannot decode at all
        log.warning('worklist query from %s could not be read: %s', actor.username, type(error).__name__)
        yield UNABLE_TO_PROCESS, None
        return
    plan = response_plan(identifier)
    explicit_vr = not event.context.transfer_syntax.is_implicit_VR
    try:
        with worklist.answering(query, by=actor) as items:
            # Encoded as they are sent: the scanner reads the first answers while the rest are made.
            answers = (find_responses.encode_identifier(plan(item), explicit_vr=explicit_vr) for item in items)
            sent = find_responses.send_pending(event, answers)
    except NotAllowed:
        yield REFUSED, None
        return
    except DomainError as error:
        log.warning('worklist query from %s refused: %s', actor.username, error)
        yield IDENTIFIER_MISMATCH, None
        return
    except OperationalError:
        log.warning('worklist query from %s: database unavailable', actor.username, exc_info=True)
        yield OUT_OF_RESOURCES, None
        return
    yield (SUCCESS if sent else CANCELLED), None


def handlers() -> list[tuple[Any, Any]]:
    """The event handlers a stand-alone worklist SCP binds (tests and the benchmark)."""
    return [(evt.EVT_C_FIND, on_c_find_worklist)]


def to_query(identifier: Dataset) -> worklist.WorklistQuery:
    """The plain-valued query a C-FIND identifier asks (keys of the Scheduled Procedure Step sequence included)."""
    if 'QueryRetrieveLevel' in identifier and identifier.QueryRetrieveLevel not in ('', None):
        raise InvalidInput('A worklist query has no Query/Retrieve Level')
    step = Dataset()
    if 'ScheduledProcedureStepSequence' in identifier:
        sequence = identifier.ScheduledProcedureStepSequence
        if len(sequence) > 1:
            raise InvalidInput('The Scheduled Procedure Step Sequence holds at most one item in a query')
        if len(sequence) == 1:
            step = sequence[0]
    date_from, date_to = worklist.parse_range(_text(step, 'ScheduledProcedureStepStartDate'), date)
    time_from, time_to = worklist.parse_range(_text(step, 'ScheduledProcedureStepStartTime'), time)
    return worklist.WorklistQuery(
        patient_name=_text(identifier, 'PatientName'), patient_id=_text(identifier, 'PatientID'),
        accession_number=_text(identifier, 'AccessionNumber'),
        requested_procedure_id=_text(identifier, 'RequestedProcedureID'),
        modality=_text(step, 'Modality'), station_ae=_text(step, 'ScheduledStationAETitle'),
        step_status=_text(step, 'ScheduledProcedureStepStatus'),
        date_from=date_from, date_to=date_to, time_from=time_from, time_to=time_to)  # type: ignore[arg-type]


def response_plan(request: Dataset) -> Callable[[worklist.WorklistItem], list[Element]]:
    """What each answer to this request holds: the keys it asked for, filled from a scheduled step.

    Keys we do not hold come back zero-length (PS3.4 C.2.2.1.3); an empty Scheduled Procedure Step item asks
    for all of the step's keys. The plan is made once per query and applied to every matching step.
    """
    slots = _slots(request)
    return lambda item: _fill(slots, item)


def full_item(item: worklist.WorklistItem) -> Dataset:
    """Every attribute a scheduled step has, as a worklist file would hold it (the benchmark's reference SCP)."""
    everything = Dataset()
    for keyword in _TOP:
        everything.add_new(keyword_tag(keyword), _TOP[keyword][0], None)
    everything.RequestedProcedureCodeSequence = Sequence([])
    everything.ScheduledProcedureStepSequence = Sequence([])
    return as_dataset(response_plan(everything)(item))


def as_dataset(elements: list[Element]) -> Dataset:
    """The pydicom data set holding the same elements (files and tests)."""
    ds = Dataset()
    for tag, vr, value in elements:
        ds.add_new(tag, vr, Sequence([as_dataset(item) for item in value or ()]) if vr == 'SQ' else value)
    return ds


_TOP: dict[str, tuple[str, Callable[[worklist.WorklistItem], Any]]] = {
    'PatientName': ('PN', lambda i: i.patient_name),
    'PatientID': ('LO', lambda i: i.patient_id),
    'PatientBirthDate': ('DA', lambda i: i.birth_date),
    'PatientSex': ('CS', lambda i: i.sex),
    'AccessionNumber': ('SH', lambda i: i.accession_number),
    'RequestedProcedureID': ('SH', lambda i: i.requested_procedure_id),
    'RequestedProcedureDescription': ('LO', lambda i: i.requested_procedure_description),
    'StudyInstanceUID': ('UI', lambda i: i.study_instance_uid),
    'ReferringPhysicianName': ('PN', lambda i: i.referring_physician),
    'RequestedProcedurePriority': ('CS', lambda i: 'STAT' if i.urgent else 'ROUTINE'),
}
_STEP: dict[str, tuple[str, Callable[[worklist.WorklistItem], Any]]] = {
    'Modality': ('CS', lambda i: i.modality),
    'ScheduledStationAETitle': ('AE', lambda i: i.station_ae),
    'ScheduledStationName': ('SH', lambda i: i.station_name),
    'ScheduledProcedureStepStartDate': ('DA', lambda i: i.start_date),
    'ScheduledProcedureStepStartTime': ('TM', lambda i: i.start_time),
    'ScheduledProcedureStepID': ('SH', lambda i: i.step_id),
    'ScheduledProcedureStepDescription': ('LO', lambda i: i.step_description),
    'ScheduledProcedureStepStatus': ('CS', lambda i: i.step_status),
    'ScheduledPerformingPhysicianName': ('PN', lambda _i: ''),
}


Slot = tuple[int, str, Callable[[worklist.WorklistItem], Any]]
_CHARSET = 0x00080005


def _slots(request: Dataset) -> list[Slot]:
    slots: list[Slot] = [(_CHARSET, 'CS', lambda _i: 'ISO_IR 192')]
    for element in request:
        keyword = element.keyword
        if keyword in ('SpecificCharacterSet', ''):
            continue
        if keyword == 'ScheduledProcedureStepSequence':
            step = _step_slots(element.value[0] if len(element.value) else None)
            slots.append((element.tag, 'SQ', lambda i, step=step: [_fill(step, i)]))
        elif keyword in _TOP:
            slots.append((element.tag, *_TOP[keyword]))
        elif keyword == 'RequestedProcedureCodeSequence':
            slots.append((element.tag, 'SQ', lambda i: [_code(i)]))
        else:
            slots.append((element.tag, element.VR, _nothing))
    return slots


def _step_slots(asked: Dataset | None) -> list[Slot]:
    """The Scheduled Procedure Step item's slots: the keys asked for, or all of them for an empty item."""
    if asked is None or not len(asked):
        return [*((keyword_tag(keyword), *_STEP[keyword]) for keyword in _STEP),
                (keyword_tag('ScheduledProtocolCodeSequence'), 'SQ', lambda i: [_code(i)])]
    slots: list[Slot] = []
    for inner in asked:
        if inner.keyword in _STEP:
            slots.append((inner.tag, *_STEP[inner.keyword]))
        elif inner.keyword == 'ScheduledProtocolCodeSequence':
            slots.append((inner.tag, 'SQ', lambda i: [_code(i)]))
        elif inner.keyword:
            slots.append((inner.tag, inner.VR, _nothing))
    return slots


def _fill(slots: list[Slot], item: worklist.WorklistItem) -> list[Element]:
    return [(tag, vr, value(item)) for tag, vr, value in slots]


def _code(item: worklist.WorklistItem) -> list[Element]:
    return [(0x00080100, 'SH', item.procedure_code[:16]), (0x00080102, 'SH', '99CLINICPACS'),
            (0x00080104, 'LO', item.requested_procedure_description)]


def _nothing(_item: worklist.WorklistItem) -> None:
    return None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ''
    return str(value).strip()


def keyword_tag(keyword: str) -> int:
    """The tag of a dictionary keyword."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return tag
