"""Measurements taken in the viewer as report values: which template field a label names, in that field's unit."""

from .templates import FieldDef

LENGTH_UNITS = {'mm': 1.0, 'cm': 10.0, 'm': 1000.0}


def matching_field(label: str, numbers: list[FieldDef]) -> str | None:
    """The key of the number field a measurement's label names (by key, alias or label in any language)."""
    wanted = label.strip().lower()
    for spec in numbers:
        names = {spec.key.lower(), *(a.lower() for a in spec.aliases), *(v.lower() for v in spec.label.values())}
        if wanted in names:
            return spec.key
    return None


def as_field_value(value: float, unit: str, wanted: str) -> str:
    """A measured length written in the field's unit with one decimal (other units are taken as they are)."""
    if unit in LENGTH_UNITS and wanted in LENGTH_UNITS:
        value = value * LENGTH_UNITS[unit] / LENGTH_UNITS[wanted]
    return f'{value:.1f}'.rstrip('0').rstrip('.')
