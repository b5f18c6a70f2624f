"""A measurement from the viewer finds its template field and is written in that field's unit."""

from domain import report_measurements
from domain.templates import FieldDef


def _bpd() -> FieldDef:
    return FieldDef(
        key='bpd', label={'en': 'Biparietal diameter', 'de': 'BPD-Wert'}, type='number', unit='mm', aliases=['BPD']
    )


def test_a_label_names_its_field_by_alias_key_or_label_in_any_language() -> None:
    fields = [_bpd()]
    assert report_measurements.matching_field(' bpd ', fields) == 'bpd'
    assert report_measurements.matching_field('BPD-Wert', fields) == 'bpd'
    assert report_measurements.matching_field('spleen', fields) is None


def test_a_length_in_centimetres_goes_into_a_millimetre_field_with_one_decimal() -> None:
    assert report_measurements.as_field_value(10.45, 'cm', 'mm') == '104.5'
    assert report_measurements.as_field_value(52.0, 'mm', 'cm') == '5.2'
    assert report_measurements.as_field_value(3.0, 'ms', 'mm') == '3'
