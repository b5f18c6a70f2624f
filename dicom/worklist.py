"""Modality Worklist C-FIND (PS3.4 K.6): a scanner asks for today's booked examinations.

`on_c_find_worklist` is a pynetdicom C-FIND handler (a generator of (status, identifier) pairs) for the
Modality Worklist Information Model; the SCP's C-FIND handler hands worklist requests to it. Matching
is domain.worklist's; this module only converts between datasets and plain values.
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

log = logging.getLogger(__name__)

SOP_CLASS = ModalityWorklistInformationFind
PENDING, SUCCESS, CANCELLED = 0xFF00, 0x0000, 0xFE00
OUT_OF_RESOURCES, IDENTIFIER_MISMATCH, UNABLE_TO_PROCESS, REFUSED = 0xA700, 0xA900, 0xC000, 0xA801
STEP_KEYS = ('Modality', 'ScheduledStationAETitle', 'ScheduledProcedureStepStartDate',
             'ScheduledProcedureStepStartTime', 'ScheduledProcedureStepStatus')


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
    try:
        items = worklist.query(query, by=actor)
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
    dul = getattr(event.assoc, 'dul', None)
    delay = getattr(dul, '_run_loop_delay', None)
    if delay is not None:
        # NOTE: pynetdicom's DUL thread naps 1 ms whenever its queue is empty, i.e. between every two of our pending
        # responses; keep it awake while the answers stream out (a few ms), then let it nap again.
        dul._run_loop_delay = 0.0  # type: ignore[union-attr]
    try:
        for item in items:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, to_response(identifier, item)
        yield SUCCESS, None
    finally:
        if delay is not None:
            dul._run_loop_delay = delay  # type: ignore[union-attr]


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


def to_response(request: Dataset, item: worklist.WorklistItem) -> Dataset:
    """A response holding the keys the query asked for, filled from the scheduled step.

    Built element by element from the tables below rather than through a full dataset per item: a day's
    worklist is hundreds of responses and pydicom's keyword machinery dominated the answer time.
    """
    response = Dataset()
    response.SpecificCharacterSet = 'ISO_IR 192'
    for element in request:
        keyword = element.keyword
        if keyword in ('SpecificCharacterSet', ''):
            continue
        if keyword == 'ScheduledProcedureStepSequence':
            asked = element.value[0] if len(element.value) else None
            response.add_new(element.tag, 'SQ', Sequence([_step(asked, item)]))
        elif keyword in _TOP:
            vr, value = _TOP[keyword]
            response.add_new(element.tag, vr, value(item))
        elif keyword == 'RequestedProcedureCodeSequence':
            response.add_new(element.tag, 'SQ', Sequence([_code(item)]))
        else:
            response.add_new(element.tag, element.VR, None)  # asked for but not held: zero length (PS3.4 C.2.2.1.3)
    return response


def full_item(item: worklist.WorklistItem) -> Dataset:
    """Every attribute a scheduled step has, as a worklist file would hold it (the benchmark's reference SCP)."""
    ds = Dataset()
    for keyword, (vr, value) in _TOP.items():
        ds.add_new(keyword_tag(keyword), vr, value(item))
    ds.RequestedProcedureCodeSequence = Sequence([_code(item)])
    ds.ScheduledProcedureStepSequence = Sequence([_step(None, item)])
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


def _step(asked: Dataset | None, item: worklist.WorklistItem) -> Dataset:
    """The Scheduled Procedure Step item: the keys asked for, or all of them for an empty item."""
    answer = Dataset()
    keys = [inner.keyword for inner in asked] if asked is not None and len(asked) else [*_STEP,
                                                                                        'ScheduledProtocolCodeSequence']
    tags = {inner.keyword: inner for inner in asked} if asked is not None else {}
    for keyword in keys:
        if keyword in _STEP:
            vr, value = _STEP[keyword]
            answer.add_new(keyword_tag(keyword), vr, value(item))
        elif keyword == 'ScheduledProtocolCodeSequence':
            answer.add_new(keyword_tag(keyword), 'SQ', Sequence([_code(item)]))
        elif keyword:
            answer.add_new(tags[keyword].tag, tags[keyword].VR, None)
    return answer


def _code(item: worklist.WorklistItem) -> Dataset:
    code = Dataset()
    code.CodeValue = item.procedure_code[:16]
    code.CodingSchemeDesignator = '99CLINICPACS'
    code.CodeMeaning = item.requested_procedure_description
    return code


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
