"""The viewer's own words in the reader's language: what a measurement rests on, corner-text dates, shortcuts."""

from collections.abc import Iterator
from unittest import mock

import pytest

from domain import calibration
from ui import i18n
from ui.viewer_shortcuts import ACTIONS
from ui.viewer_tools import SHORTCUTS, calibration_text


@pytest.fixture
def german() -> Iterator[None]:
    with mock.patch.object(i18n, 'current_language', lambda: 'de'):
        yield


@pytest.mark.parametrize(
    ('attributes', 'shown'),
    [
        ({}, 'unkalibriert (px)'),
        ({'PixelSpacing': [0.5, 0.5], 'PixelSpacingCalibrationType': 'GEOMETRY'}, 'Pixel Spacing (Geometrie)'),
        ({'ImagerPixelSpacing': [0.2, 0.2]}, 'Imager Pixel Spacing (am Detektor)'),
        (
            {'ImagerPixelSpacing': [0.2, 0.2], 'EstimatedRadiographicMagnificationFactor': 1.25},
            'Imager Pixel Spacing (korrigiert um Vergrößerung 1.25)',
        ),
    ],
)
def test_what_a_measurement_rests_on_is_shown_in_the_readers_language(
    german: None, attributes: dict[str, object], shown: str
) -> None:
    stored = calibration.from_attributes(attributes).describe()
    assert calibration_text(stored) == shown


def test_an_unknown_calibration_text_is_shown_as_stored(german: None) -> None:
    assert calibration_text('Something new (odd)') == 'Something new (odd)'


def test_the_shortcut_sheet_is_translated(german: None) -> None:
    actions = [i18n.t(action) for _keys, action in SHORTCUTS] + [i18n.t(action.label) for action in ACTIONS]
    assert 'Vorheriges / nächstes Bild' in actions
    assert 'Diese Liste' in actions


def test_the_corner_text_names_the_study_by_its_short_id_and_accession(german: None) -> None:
    from domain.viewing import StudyView
    from ui.viewer_tools import overlay

    study = StudyView(
        1, '1.2', None, 'Doe^Jane', 'P1', '', 'F', 'A00000042', None, 'CT HEAD', 'CT', 'ready', (), 'KX7P2M9Q'
    )
    assert overlay(study, {}, 'Series 1')['tr'] == ['CT HEAD', 'KX7P2M9Q', 'A00000042']
