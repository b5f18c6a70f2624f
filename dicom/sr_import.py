"""Measurements out of the Structured Reports a scanner sends (TID 5000 OB-GYN, TID 5100 vascular, any numeric item).

Every numeric content item (NUM) of the document tree is read with its concept, number and UCUM unit; a value the
scanner marks as derived (a mean of several measurements: Derivation, DCM 121401) comes before the single
measurements of the same concept, so it is the one a report field takes. An SR that cannot be read is logged by its
instance id and left out: the report is still started, with nothing filled from it.
"""

import logging

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from domain import report_sr
from domain.access import Actor
from domain.sr_values import SrValue

from . import storage
from .parse import dicom_date

log = logging.getLogger(__name__)

DERIVATION = ('DCM', '121401')


def read(dataset: Dataset, instance_id: int = 0) -> list[SrValue]:
    """The document's numeric values, derived ones (means) first, each in document order."""
    source = _source(dataset)
    derived: list[SrValue] = []
    measured: list[SrValue] = []

    def walk(items: list[Dataset]) -> None:
        for item in items:
            if item.get('ValueType') == 'NUM' and (value := _numeric(item, source, instance_id)) is not None:
                (derived if _is_derived(item) else measured).append(value)
            if 'ContentSequence' in item:
                walk(item.ContentSequence)

    walk(list(dataset.get('ContentSequence', [])))
    return derived + measured


def study_values(study_id: int, *, by: Actor) -> list[SrValue]:
    """The numeric values of every Structured Report in the study."""
    values: list[SrValue] = []
    for instance_id, path in report_sr.sr_files(study_id, by=by):
        try:
            with storage.open_file(path) as file:
                values += read(dcmread(file, force=True), instance_id)
        except (OSError, InvalidDicomError, ValueError, TypeError, AttributeError, KeyError) as error:
            log.warning('structured report instance %s not read (%s)', instance_id, type(error).__name__)
    return values


def fill_report(report_id: int, study_id: int, *, by: Actor) -> list[str]:
    """Fill the draft's empty fields from the study's Structured Reports; the keys of the fields filled."""
    values = study_values(study_id, by=by)
    return report_sr.fill(report_id, values, by=by) if values else []


def _numeric(item: Dataset, source: str, instance_id: int) -> SrValue | None:
    names, measured = item.get('ConceptNameCodeSequence'), item.get('MeasuredValueSequence')
    if not names or not measured:
        return None  # a NUM without a value (TID 300's "no value" form)
    name, value = names[0], measured[0]
    try:
        number = float(value.NumericValue)
    except (AttributeError, TypeError, ValueError):
        return None
    units = value.get('MeasurementUnitsCodeSequence')
    return SrValue(
        code=f'{name.get("CodingSchemeDesignator", "")}:{name.get("CodeValue", "")}',
        meaning=str(name.get('CodeMeaning', '')),
        value=number,
        unit=str(units[0].get('CodeValue', '')) if units else '',
        source=source,
        instance_id=instance_id,
    )


def _is_derived(item: Dataset) -> bool:
    for child in item.get('ContentSequence', []):
        for name in child.get('ConceptNameCodeSequence', []):
            if (name.get('CodingSchemeDesignator'), name.get('CodeValue')) == DERIVATION:
                return True
    return False


def _source(dataset: Dataset) -> str:
    """Who measured: the device (manufacturer and model, else station name) and the document's date."""
    device = ' '.join(str(dataset.get(k, '')).strip() for k in ('Manufacturer', 'ManufacturerModelName')).strip()
    device = device or str(dataset.get('StationName', '')).strip()
    day = dicom_date(str(dataset.get('ContentDate', '') or dataset.get('StudyDate', '')))
    return ', '.join(part for part in (device or 'SR', day.isoformat() if day else '') if part)
