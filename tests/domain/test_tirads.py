"""ACR TI-RADS (Tessler et al., JACR 2017): the chart's points, levels and size advice, hand-computed from its chart."""

import pytest

from domain import templates, tirads
from domain.template_library import SHIPPED

SOLID_HYPO = {'composition': 'solid', 'echogenicity': 'hypo', 'shape': 'wider', 'margin': 'smooth', 'foci': 'none'}


@pytest.mark.parametrize(
    ('features', 'total', 'level'),
    [
        ({**SOLID_HYPO}, 4, 4),  # solid 2 + hypoechoic 2
        ({**SOLID_HYPO, 'echogenicity': 'iso_hyper'}, 3, 3),  # solid 2 + isoechoic 1
        ({**SOLID_HYPO, 'composition': 'mixed', 'echogenicity': 'iso_hyper'}, 2, 2),  # mixed 1 + isoechoic 1
        ({**SOLID_HYPO, 'composition': 'cystic', 'echogenicity': 'anechoic'}, 0, 1),
        ({**SOLID_HYPO, 'margin': 'lobulated_irregular'}, 6, 4),  # 2 + 2 + 2
        ({**SOLID_HYPO, 'margin': 'lobulated_irregular', 'foci': 'macro'}, 7, 5),  # 2 + 2 + 2 + 1
        ({**SOLID_HYPO, 'foci': 'rim'}, 6, 4),
        ({**SOLID_HYPO, 'shape': 'taller'}, 7, 5),  # 2 + 2 + 3
        (
            {
                'composition': 'solid',
                'echogenicity': 'very_hypo',
                'shape': 'taller',
                'margin': 'extrathyroidal',
                'foci': 'punctate',
            },
            14,
            5,
        ),
        ({**SOLID_HYPO, 'margin': 'ill_defined'}, 4, 4),  # ill-defined scores as smooth
    ],
)
def test_the_points_add_up_to_the_charts_level(features: dict[str, str], total: int, level: int) -> None:
    result = tirads.assess(features)
    assert result is not None
    assert (result.total, result.level) == (total, level)
    assert result.total == sum(result.points.values())


def test_a_spongiform_nodule_adds_no_points_for_its_other_features() -> None:
    result = tirads.assess({**SOLID_HYPO, 'composition': 'spongiform', 'echogenicity': 'iso_hyper'}, 30)
    assert result is not None
    assert (result.points['echogenicity'], result.total, result.level, result.name) == (1, 0, 1, 'benign')
    assert result.advice == 'no-fna'


def test_one_point_which_the_chart_has_no_row_for_is_tr2_with_no_fna() -> None:
    result = tirads.assess({**SOLID_HYPO, 'composition': 'cystic', 'echogenicity': 'anechoic', 'foci': 'macro'}, 40)
    assert result is not None
    assert (result.total, result.level, result.advice) == (1, 2, 'no-fna')


@pytest.mark.parametrize(('total', 'level'), [(0, 1), (1, 2), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (14, 5)])
def test_each_total_has_its_level(total: int, level: int) -> None:
    assert tirads.level(total) == level


@pytest.mark.parametrize(
    ('level', 'mm', 'advice', 'threshold'),
    [
        (3, 25, 'fna', 25),  # TR3: FNA from 2.5 cm
        (3, 24.9, 'follow-up', 15),
        (3, 15, 'follow-up', 15),  # follow-up from 1.5 cm
        (3, 14.9, 'neither', 15),
        (4, 15, 'fna', 15),  # TR4: FNA from 1.5 cm
        (4, 14.9, 'follow-up', 10),
        (4, 10, 'follow-up', 10),  # follow-up from 1.0 cm
        (4, 9.9, 'neither', 10),
        (5, 10, 'fna', 10),  # TR5: FNA from 1.0 cm
        (5, 9.9, 'follow-up', 5),
        (5, 5, 'follow-up', 5),  # follow-up from 0.5 cm
        (5, 4.9, 'neither', 5),
        (1, 50, 'no-fna', None),  # TR1 and TR2: no FNA at any size
        (2, 50, 'no-fna', None),
        (2, None, 'no-fna', None),
        (4, None, None, None),  # the advice needs the size
    ],
)
def test_the_advice_follows_the_size_thresholds(
    level: int, mm: float | None, advice: str | None, threshold: float | None
) -> None:
    assert tirads.recommendation(level, mm) == (advice, threshold)


@pytest.mark.parametrize('missing', tirads.FEATURES)
def test_a_feature_left_blank_gives_no_level(missing: str) -> None:
    assert tirads.assess({**SOLID_HYPO, missing: ''}, 20) is None
    assert tirads.assess({key: value for key, value in SOLID_HYPO.items() if key != missing}, 20) is None


def test_a_value_not_on_the_chart_gives_no_level() -> None:
    assert tirads.assess({**SOLID_HYPO, 'echogenicity': 'increased'}, 20) is None


def test_the_thyroid_templates_nodule_choices_are_the_charts_values() -> None:
    thyroid = next(t['definition'] for t in SHIPPED if t['code'] == 'us-thyroid')
    fields = {f.key: f for f in templates.parse(thyroid).fields()}
    for feature in tirads.FEATURES:
        spec = fields[f'nodule_{feature}']
        assert [c.value for c in spec.choices] == list(tirads.POINTS[feature])
        assert not spec.required  # a thyroid without nodules leaves them blank
