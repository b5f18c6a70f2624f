"""Measurements a scanner sent as a DICOM Structured Report, and the report template fields they belong in.

dicom/sr_import.py reads the numeric content items (NUM) of an SR (TID 5000 OB-GYN, TID 5100 vascular, or any
generic numeric item) into `SrValue`s; here they are matched to a template's number fields: by the item's concept
code when it is one we know (LOINC), otherwise by its code meaning against the field's key, aliases and labels, as a
viewer measurement's label is (domain.report_measurements).
"""

from dataclasses import dataclass

from . import report_measurements
from .templates import FieldDef


@dataclass(frozen=True)
class SrValue:
    """One numeric content item of an SR."""

    code: str  # scheme:value, e.g. 'LN:11820-8'
    meaning: str  # the code's meaning as the scanner sent it, e.g. 'Biparietal Diameter'
    value: float
    unit: str  # UCUM code of the measurement units, e.g. 'mm', '/min'
    source: str  # who measured it, for the reader: device and date of the SR
    instance_id: int = 0  # the SR's instance in the index


# What a known concept is called in the templates' aliases (LOINC codes of TID 5000's biometry and TID 5100's
# vascular measurements; DCM codes of the same where scanners send those).
CONCEPT_NAMES = {
    'LN:11820-8': 'BPD',
    'LN:11984-2': 'HC',
    'LN:11979-2': 'AC',
    'LN:11963-6': 'FL',
    'LN:11957-8': 'CRL',
    'LN:11948-7': 'FHR',
    'LN:11727-5': 'EFW',
    'LN:11726-7': 'PSV',
    'LN:11653-3': 'EDV',
    'LN:12023-9': 'RI',
    'LN:12008-0': 'PI',
}
# UCUM codes as the templates write the unit
UNIT_NAMES = {'/min': 'bpm', '{H.B.}/min': 'bpm', '{beats}/min': 'bpm'}


@dataclass(frozen=True)
class Match:
    """An SR value for a field: written in the field's unit, and where it came from."""

    text: str
    value: SrValue


def matches(values: list[SrValue], fields: list[FieldDef]) -> dict[str, Match]:
    """Field key -> the SR value that belongs in it, for every number field an SR value names (the first wins)."""
    numbers = [spec for spec in fields if spec.type == 'number']
    found: dict[str, Match] = {}
    for value in values:
        key = report_measurements.matching_field(CONCEPT_NAMES.get(value.code, value.meaning), numbers)
        key = key or report_measurements.matching_field(value.meaning, numbers)
        if key is None or key in found:
            continue
        spec = next(spec for spec in numbers if spec.key == key)
        unit = UNIT_NAMES.get(value.unit, value.unit)
        found[key] = Match(report_measurements.as_field_value(value.value, unit, spec.unit), value)
    return found
