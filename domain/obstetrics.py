"""Fetal biometry: gestational age, estimated fetal weight and due date by the Hadlock formulas.

Measurements arrive in millimetres (as the templates ask for them) and are converted to centimetres,
the unit of the published equations:
- single-parameter age: Hadlock FP et al., J Ultrasound Med 1982;1:97 (BPD), AJR 1982;138:649 (HC),
  AJR 1982;139:367 (AC), AJR 1982;138:875 (FL);
- four-parameter age: Hadlock FP et al., Radiology 1984;152:497 (BPD, HC, AC, FL);
- estimated fetal weight: Hadlock FP et al., Am J Obstet Gynecol 1985;151:333;
- the weight standard (50th centile by age): Hadlock FP et al., Radiology 1991;181:129.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

TERM_DAYS = 280  # Naegele: 40 weeks from the first day of the last menstrual period


@dataclass(frozen=True)
class Biometry:
    """What the calculator derives from the measurements it was given (None where it cannot)."""

    ga_days: int | None
    efw_grams: int | None
    edd: date | None
    method: str  # which measurements the age rests on, e.g. 'BPD+HC+AC+FL'

    @property
    def ga_text(self) -> str:
        """The gestational age as clinicians write it: 20w3d."""
        return '' if self.ga_days is None else weeks_days(self.ga_days)


def ga_from_bpd(bpd_cm: float) -> float:
    """Gestational age in weeks from the biparietal diameter (Hadlock)."""
    return 9.54 + 1.482 * bpd_cm + 0.1676 * bpd_cm**2


def ga_from_hc(hc_cm: float) -> float:
    """Gestational age in weeks from the head circumference (Hadlock)."""
    return 8.96 + 0.540 * hc_cm + 0.0003 * hc_cm**3


def ga_from_ac(ac_cm: float) -> float:
    """Gestational age in weeks from the abdominal circumference (Hadlock)."""
    return 8.14 + 0.753 * ac_cm + 0.0036 * ac_cm**2


def ga_from_fl(fl_cm: float) -> float:
    """Gestational age in weeks from the femur length (Hadlock)."""
    return 10.35 + 2.460 * fl_cm + 0.170 * fl_cm**2


def ga_composite(bpd_cm: float, hc_cm: float, ac_cm: float, fl_cm: float) -> float:
    """Gestational age in weeks from all four measurements (Hadlock 1984)."""
    return 10.85 + 0.060 * hc_cm * fl_cm + 0.6700 * bpd_cm + 0.1680 * ac_cm


def efw(*, ac_cm: float, fl_cm: float, bpd_cm: float | None = None, hc_cm: float | None = None) -> float:
    """Estimated fetal weight in grams (Hadlock 1985), using head measurements when they are given."""
    if bpd_cm is not None and hc_cm is not None:
        log10 = (
            1.3596
            - 0.00386 * ac_cm * fl_cm
            + 0.0064 * hc_cm
            + 0.00061 * bpd_cm * ac_cm
            + 0.0424 * ac_cm
            + 0.174 * fl_cm
        )
    elif hc_cm is not None:
        log10 = 1.326 - 0.00326 * ac_cm * fl_cm + 0.0107 * hc_cm + 0.0438 * ac_cm + 0.158 * fl_cm
    elif bpd_cm is not None:
        log10 = 1.335 - 0.0034 * ac_cm * fl_cm + 0.0316 * bpd_cm + 0.0457 * ac_cm + 0.1623 * fl_cm
    else:
        log10 = 1.304 + 0.05281 * ac_cm + 0.1938 * fl_cm - 0.004 * ac_cm * fl_cm
    return 10**log10


def expected_weight(ga_weeks: float) -> float:
    """The 50th-centile fetal weight in grams at this gestational age (Hadlock 1991 standard)."""
    return math.exp(0.578 + 0.332 * ga_weeks - 0.00354 * ga_weeks**2)


def due_date(exam_date: date, ga_days: int) -> date:
    """The estimated date of delivery given the age on the day of the examination."""
    return exam_date + timedelta(days=TERM_DAYS - ga_days)


def weeks_days(days: int) -> str:
    """An age in days written as weeks and days: 143 -> 20w3d."""
    return f'{days // 7}w{days % 7}d'


def biometry(
    bpd_mm: float | None = None,
    hc_mm: float | None = None,
    ac_mm: float | None = None,
    fl_mm: float | None = None,
    *,
    exam_date: date | None = None,
) -> Biometry:
    """Age, weight and due date from whichever of BPD, HC, AC and FL (in mm) were measured.

    With all four, the four-parameter age; otherwise the mean of the single-parameter ages, as the
    scanners' "average ultrasound age" does. The weight needs at least AC and FL.
    """
    given = {
        name: value / 10
        for name, value in (('BPD', bpd_mm), ('HC', hc_mm), ('AC', ac_mm), ('FL', fl_mm))
        if value is not None and value > 0
    }
    if not given:
        return Biometry(None, None, None, '')
    if len(given) == 4:
        weeks = ga_composite(given['BPD'], given['HC'], given['AC'], given['FL'])
    else:
        single = {'BPD': ga_from_bpd, 'HC': ga_from_hc, 'AC': ga_from_ac, 'FL': ga_from_fl}
        weeks = sum(single[name](value) for name, value in given.items()) / len(given)
    ga_days = round(weeks * 7)
    weight = None
    if 'AC' in given and 'FL' in given:
        weight = round(efw(ac_cm=given['AC'], fl_cm=given['FL'], bpd_cm=given.get('BPD'), hc_cm=given.get('HC')))
    edd = due_date(exam_date, ga_days) if exam_date is not None else None
    return Biometry(ga_days, weight, edd, '+'.join(given))
