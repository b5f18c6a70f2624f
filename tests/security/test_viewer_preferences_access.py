"""A user's viewer shortcuts are theirs alone (not even an administrator reads or changes them), and "Next unread
study" offers only what the worklist would: nothing to reception, nothing that is not ready to read."""

from datetime import timedelta

import pytest
from sqlmodel import select

from domain import clock, db, reading, viewer_preferences
from domain.errors import NotAllowed
from domain.models import Study
from tests.conftest import Clinic


@pytest.mark.parametrize('intruder', ['technician', 'admin', 'receptionist'])
def test_nobody_reads_or_writes_another_users_shortcuts(clinic: Clinic, intruder: str) -> None:
    doctor, other = clinic.radiologist, clinic.account(intruder)
    viewer_preferences.save_shortcuts(doctor.user_id, {'invert': 'j'}, by=doctor.actor)
    with pytest.raises(NotAllowed):
        viewer_preferences.shortcuts(doctor.user_id, by=other.actor)
    with pytest.raises(NotAllowed):
        viewer_preferences.save_shortcuts(doctor.user_id, {'invert': 'x'}, by=other.actor)
    assert viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {'invert': 'j'}


def test_an_actor_without_a_user_has_no_shortcuts_to_read(clinic: Clinic) -> None:
    doctor = clinic.radiologist
    anonymous = doctor.actor.__class__(role='radiologist', username='nobody', user_id=None)
    with pytest.raises(NotAllowed):
        viewer_preferences.shortcuts(doctor.user_id, by=anonymous)


def test_reception_is_offered_no_next_study_and_unfinished_studies_are_never_offered(clinic: Clinic) -> None:
    with db.transaction() as session:
        for uid, state in (('9.1', 'ready'), ('9.2', 'receiving'), ('9.3', 'processing')):
            session.add(
                Study(
                    study_instance_uid=uid,
                    modalities='CT',
                    state=state,
                    first_arrival=clock.now() - timedelta(minutes=5),
                )
            )
    with db.reading() as session:
        ids = {s.study_instance_uid: s.id for s in session.exec(select(Study)).all()}
    with pytest.raises(NotAllowed):
        reading.next_unread(ids['9.1'], by=clinic.receptionist.actor)
    assert reading.next_unread(ids['9.1'], by=clinic.technician.actor) is None
    assert reading.next_unread(ids['9.2'], by=clinic.radiologist.actor) == ids['9.1']
