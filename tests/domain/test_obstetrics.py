"""Fetal biometry by the Hadlock formulas against the published equations and the Hadlock weight standard."""

from datetime import date

import pytest

from domain import obstetrics


@pytest.mark.parametrize(
    ('function', 'cm', 'weeks'),
    [
        (obstetrics.ga_from_bpd, 4.7, 20.2),  # 9.54 + 1.482·BPD + 0.1676·BPD²
        (obstetrics.ga_from_bpd, 9.0, 36.5),
        (obstetrics.ga_from_hc, 17.5, 20.0),  # 8.96 + 0.540·HC + 0.0003·HC³
        (obstetrics.ga_from_hc, 32.0, 36.1),
        (obstetrics.ga_from_ac, 15.0, 20.2),  # 8.14 + 0.753·AC + 0.0036·AC²
        (obstetrics.ga_from_ac, 35.0, 38.9),
        (obstetrics.ga_from_fl, 3.3, 20.3),  # 10.35 + 2.460·FL + 0.170·FL²
        (obstetrics.ga_from_fl, 7.0, 35.9),
    ],
)
def test_each_single_measurement_gives_the_age_of_its_hadlock_equation(function, cm: float, weeks: float) -> None:
    assert function(cm) == pytest.approx(weeks, abs=0.06)


def test_the_four_measurements_together_use_the_1984_four_parameter_equation() -> None:
    # 10.85 + 0.060·HC·FL + 0.6700·BPD + 0.1680·AC with BPD 9.0, HC 32.0, AC 33.0, FL 7.0 cm
    assert obstetrics.ga_composite(9.0, 32.0, 33.0, 7.0) == pytest.approx(35.86, abs=0.01)


@pytest.mark.parametrize(
    ('weeks', 'grams'), [(20, 331), (25, 785), (30, 1559), (33, 2162), (35, 2595), (37, 3028), (40, 3619)]
)
def test_the_weight_standard_matches_the_published_hadlock_1991_table(weeks: int, grams: int) -> None:
    assert obstetrics.expected_weight(weeks) == pytest.approx(grams, abs=2)


def test_the_four_parameter_weight_matches_the_published_1985_equation() -> None:
    # log10 EFW = 1.3596 − 0.00386·AC·FL + 0.0064·HC + 0.00061·BPD·AC + 0.0424·AC + 0.174·FL
    assert obstetrics.efw(bpd_cm=9.0, hc_cm=33.0, ac_cm=33.0, fl_cm=7.0) == pytest.approx(3003, abs=1)
    assert obstetrics.efw(hc_cm=17.5, ac_cm=15.0, fl_cm=3.3) == pytest.approx(339, abs=1)
    assert obstetrics.efw(ac_cm=15.0, fl_cm=3.3) == pytest.approx(345, abs=1)


@pytest.mark.parametrize(
    ('weeks', 'bpd', 'hc', 'ac', 'fl'), [(20, 47, 175, 151, 33), (30, 77, 281, 259, 57), (40, 95, 345, 350, 74)]
)
def test_typical_biometry_dates_the_fetus_and_weighs_it_close_to_the_standard(weeks, bpd, hc, ac, fl) -> None:
    result = obstetrics.biometry(bpd, hc, ac, fl)
    assert abs(result.ga_days - weeks * 7) <= 14  # the method's own spread is ±2-3 weeks late in pregnancy
    assert result.efw_grams == pytest.approx(obstetrics.expected_weight(weeks), rel=0.12)
    assert result.method == 'BPD+HC+AC+FL'


def test_the_due_date_is_280_days_from_the_start_of_the_pregnancy() -> None:
    result = obstetrics.biometry(47, 175, 151, 33, exam_date=date(2024, 3, 1))
    assert result.ga_text == '20w0d'
    assert result.edd == date(2024, 7, 19)


def test_with_some_measurements_missing_the_age_averages_the_others_and_weight_needs_ac_and_fl() -> None:
    result = obstetrics.biometry(bpd_mm=47, fl_mm=33)
    assert result.method == 'BPD+FL'
    assert result.ga_days == round((obstetrics.ga_from_bpd(4.7) + obstetrics.ga_from_fl(3.3)) / 2 * 7)
    assert result.efw_grams is None
    assert obstetrics.biometry() == obstetrics.Biometry(None, None, None, '')
