"""Thyroid nodules by ACR TI-RADS: the points of the five ultrasound features, the level and what to do at this size.

Source: Tessler FN, Middleton WD, Grant EG, et al. ACR Thyroid Imaging, Reporting and Data System (TI-RADS): White
Paper of the ACR TI-RADS Committee. J Am Coll Radiol 2017;14:587-595 (Figure 1, the chart):
- points: composition (cystic or almost completely cystic 0, spongiform 0, mixed cystic and solid 1, solid or almost
  completely solid 2), echogenicity (anechoic 0, hyperechoic or isoechoic 1, hypoechoic 2, very hypoechoic 3), shape
  (wider-than-tall 0, taller-than-wide 3), margin (smooth 0, ill-defined 0, lobulated or irregular 2, extra-thyroidal
  extension 3), echogenic foci (none or large comet-tail artifacts 0, macrocalcifications 1, peripheral (rim)
  calcifications 2, punctate echogenic foci 3);
- the chart's note on spongiform: "do not add further points for other categories", so a spongiform nodule totals 0;
- levels: TR1 0 points (benign), TR2 2 points (not suspicious), TR3 3 points (mildly suspicious), TR4 4 to 6 points
  (moderately suspicious), TR5 7 points or more (highly suspicious). The chart has no row for 1 point (only an unusual
  nodule reaches it, e.g. a cystic one with a macrocalcification); it is placed in TR2 here, the level between 0 and 3
  points, and TR1 and TR2 both mean no FNA, so the advice does not depend on that choice;
- by maximum diameter: TR3 FNA if >= 2.5 cm, follow-up if >= 1.5 cm; TR4 FNA if >= 1.5 cm, follow-up if >= 1.0 cm;
  TR5 FNA if >= 1.0 cm, follow-up if >= 0.5 cm; TR1 and TR2 no FNA.
The chart lets the echogenic foci of several kinds add up; a template that collects one kind scores only that one.
Nothing is assumed: a feature left blank (or not one of the chart's values) gives no level at all.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FEATURES = ('composition', 'echogenicity', 'shape', 'margin', 'foci')

# NOTE: the values are the choice values of the thyroid template's nodule fields (template_library.NODULE).
POINTS: dict[str, dict[str, int]] = {
    'composition': {'cystic': 0, 'spongiform': 0, 'mixed': 1, 'solid': 2},
    'echogenicity': {'anechoic': 0, 'iso_hyper': 1, 'hypo': 2, 'very_hypo': 3},
    'shape': {'wider': 0, 'taller': 3},
    'margin': {'smooth': 0, 'ill_defined': 0, 'lobulated_irregular': 2, 'extrathyroidal': 3},
    'foci': {'none': 0, 'macro': 1, 'rim': 2, 'punctate': 3},
}

NAMES = {1: 'benign', 2: 'not suspicious', 3: 'mildly suspicious', 4: 'moderately suspicious', 5: 'highly suspicious'}

# The sizes in mm (the chart gives cm) from which a level asks for FNA, and for follow-up.
FNA_FROM_MM = {3: 25.0, 4: 15.0, 5: 10.0}
FOLLOW_UP_FROM_MM = {3: 15.0, 4: 10.0, 5: 5.0}

Advice = Literal['no-fna', 'fna', 'follow-up', 'neither']


@dataclass(frozen=True)
class Assessment:
    """One nodule scored: each feature's points from the chart, the total that sets the level, and the advice."""

    points: dict[str, int]
    total: int
    level: int  # 1 to 5: TR1 to TR5
    advice: Advice | None  # None: the level needs the size, which was not given
    threshold_mm: float | None  # the size the advice rests on (FNA from, follow-up from, or below which neither)

    @property
    def name(self) -> str:
        """The level's name on the chart: 'moderately suspicious'."""
        return NAMES[self.level]


def assess(features: Mapping[str, str | None], diameter_mm: float | None = None) -> Assessment | None:
    """The nodule's ACR TI-RADS level and advice, or None unless all five features are one of the chart's values."""
    points: dict[str, int] = {}
    for feature in FEATURES:
        chosen = POINTS[feature].get(str(features.get(feature) or ''))
        if chosen is None:
            return None
        points[feature] = chosen
    total = 0 if features['composition'] == 'spongiform' else sum(points.values())
    tr = level(total)
    advice, threshold = recommendation(tr, diameter_mm)
    return Assessment(points, total, tr, advice, threshold)


def level(total: int) -> int:
    """The TR level of a point total: 0 TR1, 1-2 TR2, 3 TR3, 4-6 TR4, 7 or more TR5."""
    if total <= 0:
        return 1
    if total <= 2:
        return 2
    if total == 3:
        return 3
    return 4 if total <= 6 else 5


def recommendation(tr: int, diameter_mm: float | None) -> tuple[Advice | None, float | None]:
    """What the chart advises for a nodule of this level and maximum diameter, with the size it rests on."""
    if tr <= 2:
        return 'no-fna', None
    if diameter_mm is None or diameter_mm <= 0:
        return None, None
    if diameter_mm >= FNA_FROM_MM[tr]:
        return 'fna', FNA_FROM_MM[tr]
    if diameter_mm >= FOLLOW_UP_FROM_MM[tr]:
        return 'follow-up', FOLLOW_UP_FROM_MM[tr]
    return 'neither', FOLLOW_UP_FROM_MM[tr]
