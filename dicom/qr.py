"""Query/Retrieve over DIMSE (PS3.4 Annex C): C-FIND, C-MOVE and C-GET, Patient Root and Study Root.

The identifier's keys become the same matching as QIDO-RS (domain.study_query); each answer carries the
keys that were asked for, filled from the index: the rows' columns, the related counts and SOP classes
(domain.study_counts), the header attributes the metadata job keeps (SeriesDate, SeriesTime, ...), our AE
title as RetrieveAETitle and InstanceAvailability ONLINE; a key the index cannot answer comes back empty
(PS3.4 C.2.2.1.2). Retrieve delivery (contexts, transcoding) is dicom/delivery.py. A C-MOVE destination
must be an entered modality (its host and port come from the modality list, never from the request). A peer
whose role may not query is refused with 0x0124 (Refused: Not Authorized, PS3.7 C.4); 0xA801 stays the C-MOVE
"destination unknown". Handlers run on association threads and yield as pynetdicom expects.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.events import Event

from domain import access, modalities, study_counts, study_query
from domain.errors import DomainError, NotAllowed

from . import delivery, transport

log = logging.getLogger(__name__)

PATIENT_ROOT_FIND, STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.1.1', '1.2.840.10008.5.1.4.1.2.2.1'
PATIENT_ROOT_MOVE, STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.1.2', '1.2.840.10008.5.1.4.1.2.2.2'
PATIENT_ROOT_GET, STUDY_ROOT_GET = '1.2.840.10008.5.1.4.1.2.1.3', '1.2.840.10008.5.1.4.1.2.2.3'
LEVELS = ('PATIENT', 'STUDY', 'SERIES', 'IMAGE')
MAX_MATCHES = 1000

PENDING, SUCCESS, CANCELLED = 0xFF00, 0x0000, 0xFE00
IDENTIFIER_MISMATCH, UNABLE_TO_PROCESS, NOT_AUTHORISED = 0xA900, 0xC000, 0x0124
NOT_KEYS = ('QueryRetrieveLevel', 'SpecificCharacterSet')
# Header attributes one image answers for its whole series (General Series, General Equipment: PS3.3 C.7.3.1, C.7.5.1)
SERIES_HEADER_KEYWORDS = (
    'SeriesDate',
    'SeriesTime',
    'Laterality',
    'ProtocolName',
    'OperatorsName',
    'PerformingPhysicianName',
    'PatientPosition',
    'Manufacturer',
    'ManufacturerModelName',
    'InstitutionName',
    'StationName',
)
SERIES_HEADER_TAGS = {f'{tag_for_keyword(keyword):08X}' for keyword in SERIES_HEADER_KEYWORDS}
EVERY_ANSWER = {'RetrieveAETitle', 'InstanceAvailability', 'SOPClassesInStudy'}  # not from a header


@dataclass
class _Match:
    """One answer's values by keyword, and the header attributes (DICOM JSON) of its series or image."""

    values: dict[str, Any]
    study_id: int | None = None
    series_id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def on_c_find(event: Event) -> Iterator[tuple[int, Dataset | None]]:
    """C-FIND at PATIENT, STUDY, SERIES or IMAGE level (PS3.4 C.4.1)."""
    identifier = event.identifier
    level = str(identifier.get('QueryRetrieveLevel', '')).upper()
    if level not in LEVELS:
        yield IDENTIFIER_MISMATCH, None
        return
    actor = _actor(event)
    asked = {element.keyword for element in identifier if element.keyword and element.keyword not in NOT_KEYS}
    try:
        rows = _completed(level, _matches(level, identifier, actor), asked, actor)
    except NotAllowed:
        yield NOT_AUTHORISED, None
        return
    except DomainError as error:
        log.warning('C-FIND from %s refused: %s', actor.username, error)
        yield UNABLE_TO_PROCESS, None
        return
    retrieve_ae = str(event.assoc.acceptor.ae_title).strip()
    for row in rows:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        row.values.update(RetrieveAETitle=retrieve_ae, InstanceAvailability='ONLINE')
        yield PENDING, _answer(identifier, level, row)
    yield SUCCESS, None


def on_c_get(event: Event) -> Iterator[Any]:
    """C-GET: send the matching images back on the same association (PS3.4 C.4.3), in a syntax it accepted."""
    files = _files(event)
    if isinstance(files, int):  # the failure status; pynetdicom answers "0 sub-operations" with Success, so one
        yield 1
        yield files, None
        return
    yield len(files)
    yield from delivery.datasets(event, files, lambda: delivery.storage_scu_contexts(event.assoc))


def on_c_move(event: Event) -> Iterator[Any]:
    """C-MOVE: send the matching images to an entered modality (PS3.4 C.4.2), in a syntax it accepted."""
    target = modalities.destination(str(event.move_destination).strip())
    if target is None:
        log.warning(
            'C-MOVE from %s to unknown destination %s refused',
            event.assoc.requestor.ae_title,
            str(event.move_destination).strip(),
        )
        yield None, None
        return
    files = _files(event)
    destination: list[Any] = []  # the association pynetdicom opens to the destination, once it is accepted
    yield (
        *target,
        {
            'contexts': delivery.contexts(files if isinstance(files, list) else []),
            'evt_handlers': [
                # Nagle off and a quick ACK after every read, as on accepted associations: a destination that
                # leaves Nagle on (storescp, many PACS) otherwise holds each C-STORE-RSP for our delayed ACK (40 ms)
                *transport.tuned(),
                (evt.EVT_ACCEPTED, lambda accepted: destination.append(accepted.assoc)),
            ],
        },
    )
    if isinstance(files, int):
        # pynetdicom answers 0 sub-operations with Success, and with 1 it would first associate with the destination
        # only to send the refusal: a refused C-MOVE sends nothing (its refusal is audited by the domain).
        yield 0
        yield files, None
        return
    yield len(files)
    yield from delivery.datasets(event, files, lambda: delivery.storage_scu_contexts(destination[-1]))


def on_association_requested(event: Event) -> None:
    """A C-GET requestor's storage contexts are accepted in the transfer syntax it prefers (dicom/delivery.py)."""
    delivery.honour_retriever_order(event)


# ---------------------------------------------------------------- helpers


def _actor(event: Event) -> access.Actor:
    requestor = event.assoc.requestor
    return access.modality(str(requestor.ae_title).strip(), str(requestor.address))


def _match(identifier: Dataset) -> dict[str, str]:
    match: dict[str, str] = {}
    for element in identifier:
        if element.keyword in ('QueryRetrieveLevel', 'SpecificCharacterSet') or element.VR == 'SQ':
            continue
        value = element.value
        if value is None or value == '':
            continue
        if isinstance(value, pydicom.multival.MultiValue):
            value = '\\'.join(str(v) for v in value)
        match[element.keyword] = str(value)
    return match


def _matches(level: str, identifier: Dataset, actor: access.Actor) -> list[_Match]:
    match = _match(identifier)
    if level in ('PATIENT', 'STUDY'):
        rows = study_query.search_studies(match, by=actor, limit=MAX_MATCHES)
        found = [_Match(_study_values(study, patient), study_id=study.id) for study, patient in rows]
        if level == 'PATIENT':
            seen: dict[str, _Match] = {}
            for item in found:
                seen.setdefault(item.values['PatientID'], item)
            return list(seen.values())
        return found
    if level == 'SERIES':
        return [
            _Match({**_study_values(study, patient), **_series_values(series)}, study.id, series.id)
            for series, study, patient in study_query.search_series(match, by=actor, limit=MAX_MATCHES)
        ]
    return [
        _Match(
            {**_study_values(study, patient), **_series_values(series), **_instance_values(instance)},
            study.id,
            series.id,
            instance.attributes or {},
        )
        for instance, series, study, patient in study_query.search_instances(match, by=actor, limit=MAX_MATCHES)
    ]


def _completed(level: str, rows: list[_Match], asked: set[str], actor: access.Actor) -> list[_Match]:
    """The answers with what the rows themselves do not hold, looked up only when asked for."""
    if not rows:
        return rows
    if level == 'PATIENT' and asked & {f'NumberOfPatientRelated{what}' for what in ('Studies', 'Series', 'Instances')}:
        totals = study_counts.patient_totals([row.values['PatientID'] for row in rows], by=actor)
        for row in rows:
            total = totals.get(row.values['PatientID'], study_counts.PatientTotals())
            row.values.update(
                NumberOfPatientRelatedStudies=total.studies,
                NumberOfPatientRelatedSeries=total.series,
                NumberOfPatientRelatedInstances=total.instances,
            )
    if 'SOPClassesInStudy' in asked:
        classes = study_counts.sop_classes_in_studies([row.study_id for row in rows if row.study_id], by=actor)
        for row in rows:
            row.values['SOPClassesInStudy'] = classes.get(row.study_id or 0) or ''
    if level == 'SERIES' and asked - set(rows[0].values) - EVERY_ANSWER:
        headers = study_counts.series_attributes([row.series_id for row in rows if row.series_id], by=actor)
        for row in rows:
            held = headers.get(row.series_id or 0, {})
            row.attributes = {tag: value for tag, value in held.items() if tag in SERIES_HEADER_TAGS}
    return rows


def _study_values(study: Any, patient: Any) -> dict[str, Any]:
    return {
        'PatientName': f'{patient.family_name}^{patient.given_name}'.rstrip('^') if patient else study.patient_name,
        'PatientID': patient.patient_id if patient else study.dicom_patient_id,
        'PatientBirthDate': patient.birth_date.strftime('%Y%m%d')
        if patient and patient.birth_date
        else study.patient_birth_date,
        'PatientSex': study.patient_sex,
        'StudyInstanceUID': study.study_instance_uid,
        'StudyDate': study.study_date.strftime('%Y%m%d') if study.study_date else '',
        'StudyTime': study.study_time,
        'AccessionNumber': study.accession_number,
        'StudyID': study.study_id,
        'StudyDescription': study.description,
        'ReferringPhysicianName': study.referring_physician,
        'ModalitiesInStudy': study.modalities,
        'NumberOfStudyRelatedSeries': study.num_series,
        'NumberOfStudyRelatedInstances': study.num_instances,
    }


def _series_values(series: Any) -> dict[str, Any]:
    return {
        'SeriesInstanceUID': series.series_instance_uid,
        'Modality': series.modality,
        'SeriesNumber': series.series_number,
        'SeriesDescription': series.description,
        'BodyPartExamined': series.body_part,
        'NumberOfSeriesRelatedInstances': series.num_instances,
    }


def _instance_values(instance: Any) -> dict[str, Any]:
    return {
        'SOPInstanceUID': instance.sop_instance_uid,
        'SOPClassUID': instance.sop_class_uid,
        'InstanceNumber': instance.instance_number,
        'Rows': instance.rows,
        'Columns': instance.columns,
        'NumberOfFrames': instance.number_of_frames,
        'AvailableTransferSyntaxUID': instance.transfer_syntax_uid,
    }


def _answer(identifier: Dataset, level: str, row: _Match) -> Dataset:
    answer = Dataset()
    answer.SpecificCharacterSet = 'ISO_IR 192'
    answer.QueryRetrieveLevel = level
    for element in identifier:
        keyword = element.keyword
        if not keyword or keyword in NOT_KEYS or element.VR == 'SQ':
            continue
        if keyword not in row.values and (held := _attribute(row.attributes, keyword)) is not None:
            answer.add(held)
            continue
        value = row.values.get(keyword)
        if keyword == 'ModalitiesInStudy' and value:
            value = [part for part in str(value).split('\\') if part]
        setattr(answer, keyword, '' if value is None else value)
    return answer


def _attribute(attributes: dict[str, Any], keyword: str) -> DataElement | None:
    """An element of the header attributes kept as DICOM JSON (PS3.18 F.2), or None when not held."""
    tag = tag_for_keyword(keyword)
    held = attributes.get(f'{tag:08X}') if tag is not None else None
    if tag is None or not held:
        return None
    try:
        return Dataset.from_json({f'{tag:08X}': held})[tag]
    except (KeyError, TypeError, ValueError):
        return None


def _files(event: Event) -> list[tuple[str, str, str]] | int:
    """The stored files to send, or the failure status of a retrieve that sends nothing."""
    identifier = event.identifier
    level = str(identifier.get('QueryRetrieveLevel', '')).upper()
    if level not in LEVELS:
        return IDENTIFIER_MISMATCH
    try:
        return study_query.files_to_retrieve(_match(identifier), by=_actor(event))
    except NotAllowed:
        return NOT_AUTHORISED
    except DomainError as error:
        log.warning('retrieve from %s refused: %s', event.assoc.requestor.ae_title, error)
        return IDENTIFIER_MISMATCH
