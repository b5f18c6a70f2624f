"""Each user's own viewer shortcuts: only what differs from the defaults is kept; one key, one action."""

import pytest

from domain import db, viewer_preferences
from domain.errors import InvalidInput
from domain.models import ViewerPreference
from tests.conftest import Clinic


def test_changed_shortcuts_are_kept_and_an_empty_map_goes_back_to_the_defaults(clinic: Clinic) -> None:
    doctor = clinic.radiologist
    assert viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {}
    viewer_preferences.save_shortcuts(doctor.user_id, {'invert': 'j', 'fit': 'F'}, by=doctor.actor)
    assert viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {'invert': 'j', 'fit': 'F'}
    viewer_preferences.save_shortcuts(doctor.user_id, {}, by=doctor.actor)
    assert viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {}
    with db.reading() as session:
        assert session.get(ViewerPreference, doctor.user_id) is None


def test_one_key_for_two_actions_is_refused_and_nothing_is_kept(clinic: Clinic) -> None:
    doctor = clinic.radiologist
    with pytest.raises(InvalidInput):
        viewer_preferences.save_shortcuts(doctor.user_id, {'invert': 'j', 'fit': 'j'}, by=doctor.actor)
    with pytest.raises(InvalidInput):
        viewer_preferences.save_shortcuts(doctor.user_id, {'invert': ''}, by=doctor.actor)
    assert viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {}
