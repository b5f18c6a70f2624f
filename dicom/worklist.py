"""Modality Worklist C-FIND (PS3.4 K.6): a scanner asks for today's booked examinations.

`on_c_find_worklist` is a pynetdicom C-FIND handler (a generator of (status, identifier) pairs) for the
Modality Worklist Information Model; the SCP's C-FIND handler hands worklist requests to it. Matching
is domain.worklist's; this module turns the request into a plain query and each matching step into the
elements of its answer, which dicom/find_responses.py encodes and sends in bulk.
"""

import functools
import logging
from collections.abc import Callable, Iterator
from datetime import date, time
from typing import Any, TypeVar

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import evt
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]
from sqlalchemy.exc import OperationalError

from domain import access, worklist
from domain.errors import DomainError, InvalidInput, NotAllowed
from domain.recent import remembered

from . import find_responses
from .find_responses import Element

log = logging.getLogger(__name__)

SOP_CLASS = ModalityWorklistInformationFind
SUCCESS, CANCELLED = 0x0000, 0xFE00
OUT_OF_RESOURCES, IDENTIFIER_MISMATCH, UNABLE_TO_PROCESS = 0xA700, 0xA900, 0xC000
REFUSED = 0x0124  # Refused: Not authorized (PS3.7 C.4.1.1.4)


def on_c_find_worklist(event: Any) -> Iterator[tuple[int, Dataset | None]]:
    """Answer a worklist query with one pending response per matching scheduled step, then success."""
    requestor = event.assoc.requestor
    actor = access.modality(requestor.ae_title.strip(), requestor.address)
    try:
        identifier = event.identifier
        query = to_query(identifier)
        encoded = answer_encoder(identifier, explicit_vr=not event.context.transfer_syntax.is_implicit_VR)
    except InvalidInput as error:
        log.warning('worklist query from %s refused: %s', actor.username, error)
        yield IDENTIFIER_MISMATCH, None
        return
    except Exception as error:  # a dataset pydicom cannot decode at all
        log.warning('worklist query from %s could not be read: %s', actor.username, type(error).__name__)
        yield UNABLE_TO_PROCESS, None
        return
    try:
        with worklist.answering(query, by=actor) as items:
            # Encoded as they are sent: the scanner reads the first answers while the rest are made.
            sent = find_responses.send_pending(event, map(encoded, items))
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
    date_from, date_to = _range(_text(step, 'ScheduledProcedureStepStartDate'), date)
    time_from, time_to = _range(_text(step, 'ScheduledProcedureStepStartTime'), time)
    return worklist.WorklistQuery(
        patient_name=_text(identifier, 'PatientName'),
        patient_id=_text(identifier, 'PatientID'),
        accession_number=_text(identifier, 'AccessionNumber'),
        requested_procedure_id=_text(identifier, 'RequestedProcedureID'),
        modality=_text(step, 'Modality'),
        station_ae=_text(step, 'ScheduledStationAETitle'),
        step_status=_text(step, 'ScheduledProcedureStepStatus'),
        date_from=date_from,
        date_to=date_to,
        time_from=time_from,
        time_to=time_to,
    )


def answer_encoder(request: Dataset, *, explicit_vr: bool) -> Callable[[worklist.WorklistItem], bytes]:
    """The encoded answer to this request for a scheduled step.

    Scanners ask the same question all day: the answer for an unchanged step (the key holds every value it
    is made from) is encoded once and remembered for a few minutes (domain.recent.LIFETIME).
    """
    shape = _shape(request)
    return lambda item: _encoded(shape, explicit_vr, item)


def response_plan(request: Dataset) -> Callable[[worklist.WorklistItem], list[Element]]:
    """What each answer to this request holds: the keys it asked for, filled from a scheduled step.

    Keys we do not hold come back zero-length (PS3.4 C.2.2.1.3); an empty Scheduled Procedure Step item asks
    for all of the step's keys.
    """
    slots = _plan(_shape(request))
    return lambda item: _answer(slots, item)


def full_item(item: worklist.WorklistItem) -> Dataset:
    """Every attribute a scheduled step has, as a worklist file would hold it (the benchmark's reference SCP)."""
    everything = Dataset()
    for keyword in _TOP:
        everything.add_new(keyword_tag(keyword), _TOP[keyword][0], None)
    everything.RequestedProcedureCodeSequence = Sequence([])
    everything.ScheduledProcedureStepSequence = Sequence([])
    return as_dataset(response_plan(everything)(item))


def as_dataset(elements: list[Element]) -> Dataset:
    """The pydicom data set holding the same elements (the benchmark's worklist files)."""
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
# The keys a request asks for, as a hashable value: (tag, keyword, VR, the keys of a sequence's first item).
Shape = tuple[tuple[int, str, str, 'Shape | None'], ...]
_CHARSET = 0x00080005


def _shape(request: Dataset) -> Shape:
    return tuple(
        (
            int(element.tag),
            element.keyword,
            element.VR,
            _shape(element.value[0]) if element.VR == 'SQ' and len(element.value) else None,
        )
        for element in request
    )


@remembered(maxsize=4096)
def _encoded(shape: Shape, explicit_vr: bool, item: worklist.WorklistItem) -> bytes:
    return find_responses.encode_identifier(_answer(_plan(shape), item), explicit_vr=explicit_vr)


def _answer(slots: list[Slot], item: worklist.WorklistItem) -> list[Element]:
    """The filled slots, with Specific Character Set when a value goes beyond ASCII (PS3.3 C.12.1.1.2, type 1C)."""
    elements = _fill(slots, item)
    if not _plain_ascii(elements):
        elements.insert(0, (_CHARSET, 'CS', 'ISO_IR 192'))
    return elements


def _plain_ascii(elements: list[Element]) -> bool:
    for _tag, vr, value in elements:
        if vr == 'SQ':
            if not all(_plain_ascii(item) for item in value or ()):
                return False
        elif isinstance(value, str) and not value.isascii():
            return False
    return True


@functools.lru_cache(maxsize=64)
def _plan(shape: Shape) -> list[Slot]:
    slots: list[Slot] = []
    for tag, keyword, vr, inner in shape:
        if keyword in ('SpecificCharacterSet', ''):
            continue
        if keyword == 'ScheduledProcedureStepSequence':
            step = _step_slots(inner)
            slots.append((tag, 'SQ', functools.partial(_step_item, step)))
        elif keyword in _TOP:
            slots.append((tag, *_TOP[keyword]))
        elif keyword == 'RequestedProcedureCodeSequence':
            slots.append((tag, 'SQ', lambda i: [_code(i)]))
        else:
            slots.append((tag, vr, _nothing))
    return slots


def _step_slots(asked: Shape | None) -> list[Slot]:
    """The Scheduled Procedure Step item's slots: the keys asked for, or all of them for an empty item."""
    if not asked:
        return [
            *((keyword_tag(keyword), *_STEP[keyword]) for keyword in _STEP),
            (keyword_tag('ScheduledProtocolCodeSequence'), 'SQ', lambda i: [_code(i)]),
        ]
    slots: list[Slot] = []
    for tag, keyword, vr, _inner in asked:
        if keyword in _STEP:
            slots.append((tag, *_STEP[keyword]))
        elif keyword == 'ScheduledProtocolCodeSequence':
            slots.append((tag, 'SQ', lambda i: [_code(i)]))
        elif keyword:
            slots.append((tag, vr, _nothing))
    return slots


def _fill(slots: list[Slot], item: worklist.WorklistItem) -> list[Element]:
    return [(tag, vr, value(item)) for tag, vr, value in slots]


def _step_item(slots: list[Slot], item: worklist.WorklistItem) -> list[list[Element]]:
    return [_fill(slots, item)]


def _code(item: worklist.WorklistItem) -> list[Element]:
    return [
        (0x00080100, 'SH', item.procedure_code[:16]),
        (0x00080102, 'SH', '99CLINICPACS'),
        (0x00080104, 'LO', item.requested_procedure_description),
    ]


def _nothing(_item: worklist.WorklistItem) -> None:
    return None


Moment = TypeVar('Moment', date, time)


def _range(value: str, kind: type[Moment]) -> tuple[Moment | None, Moment | None]:
    """A date or time range of the query (PS3.4 C.2.2.2.5), as domain.worklist parses it."""
    low, high = worklist.parse_range(value, kind)
    return (low if isinstance(low, kind) else None), (high if isinstance(high, kind) else None)


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
