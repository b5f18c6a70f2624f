"""Checks on a report's structured values: what is missing, what is not a number, what is out of range.

Nothing here refuses a draft: a draft keeps whatever was typed and the editor shows the flags beside the
fields. Only finalising refuses, listing what is missing or unreadable.
"""

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import obstetrics, richtext
from .errors import N_
from .templates import FieldDef, TemplateDefinition, label


@dataclass(frozen=True)
class Flag:
    """A problem with one field's value, shown beside the field."""

    key: str
    kind: str  # not-a-number, out-of-range, unknown-choice
    value: str
    low: float | None = None
    high: float | None = None

    def message(self, language: str = 'en') -> str:
        """The flag in words (English; `N_` keeps its values so the screen can translate it)."""
        if self.kind == 'not-a-number':
            return N_('Not a number')
        if self.kind == 'out-of-range':
            return N_('Outside the normal range {low}–{high}', low=number_text(self.low), high=number_text(self.high))
        return N_('Not one of the choices')


def parse_number(value: Any) -> float | None:
    """A typed number (decimal comma allowed) or None when the text is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    text = str(value or '').strip().replace(',', '.').replace(' ', '')
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def is_blank(value: Any) -> bool:
    """True when nothing was entered."""
    return value is None or (isinstance(value, str) and not value.strip())


def flags(definition: TemplateDefinition, values: dict[str, Any]) -> list[Flag]:
    """Every value that is not a number where one is expected, outside its normal range, or not a choice."""
    found = []
    for field in definition.fields():
        value = values.get(field.key)
        if is_blank(value):
            continue
        if field.type == 'number':
            number = parse_number(value)
            if number is None:
                found.append(Flag(field.key, 'not-a-number', str(value)))
            elif field.normal is not None and not field.normal[0] <= number <= field.normal[1]:
                found.append(Flag(field.key, 'out-of-range', str(value), field.normal[0], field.normal[1]))
        elif field.type == 'choice' and str(value) not in {c.value for c in field.choices}:
            found.append(Flag(field.key, 'unknown-choice', str(value)))
    return found


def missing(definition: TemplateDefinition, values: dict[str, Any], impression: str, language: str = 'en') -> list[str]:
    """The labels of required fields left empty, and the impression if it is empty."""
    gaps = [label(f.label, language) for f in definition.fields() if f.required and is_blank(values.get(f.key))]
    if richtext.is_empty(impression):
        gaps.append('Impression')
    return gaps


def unreadable(definition: TemplateDefinition, values: dict[str, Any], language: str = 'en') -> list[str]:
    """The labels of fields whose value cannot be signed as it stands (not a number, not a choice)."""
    by_key = {f.key: f for f in definition.fields()}
    return [label(by_key[f.key].label, language) for f in flags(definition, values) if f.kind != 'out-of-range']


def computed(definition: TemplateDefinition, values: dict[str, Any], exam_date: date | None) -> dict[str, str]:
    """The values the template's calculator derives (the Hadlock biometry), as text keyed by field."""
    if definition.calculator != 'hadlock':
        return {}
    numbers = {key: parse_number(values.get(key)) for key in ('bpd', 'hc', 'ac', 'fl')}
    result = obstetrics.biometry(numbers['bpd'], numbers['hc'], numbers['ac'], numbers['fl'], exam_date=exam_date)
    return {
        'ga': result.ga_text,
        'efw': '' if result.efw_grams is None else str(result.efw_grams),
        'edd': result.edd.isoformat() if result.edd else '',
    }


def normal_range(field: FieldDef) -> str:
    """The printed normal range: '0–150'."""
    return '' if field.normal is None else f'{number_text(field.normal[0])}–{number_text(field.normal[1])}'


def number_text(value: float | None) -> str:
    """A number as a report prints it: 150, 0.5, 52.3 ('' for none)."""
    if value is None:
        return ''
    return str(int(value)) if float(value).is_integer() else f'{value:g}'
