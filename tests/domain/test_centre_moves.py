"""Issue 18: a study filed under a patient of another centre goes with the patient; short study IDs stay unique
across centres whichever centre's staff asks for one."""

import pytest
from sqlmodel import select

from domain import centre_admin, centres, db, short_ids, study_lists
from domain.centre_admin import CentreData
from domain.models import Study
from tests.conftest import Clinic
from tests.report_fixtures import make_study


def test_a_study_assigned_to_another_centres_patient_moves_to_that_centre(clinic: Clinic) -> None:
    other = centre_admin.create(CentreData(name='Centre B'), by=clinic.admin.actor).id or 0
    arrived = make_study(family_name='Diaz')
    with centres.scoped(frozenset({other})):
        theirs = make_study(family_name='Rao')
    study_lists.assign(arrived.study_id, theirs.patient_id, by=clinic.technician.actor)
    with db.reading() as session:
        moved = session.get(Study, arrived.study_id)
    assert moved is not None and (moved.patient_ref_id, moved.centre_id) == (theirs.patient_id, other)


def test_a_short_id_another_centre_holds_is_never_given_again(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    other = centre_admin.create(CentreData(name='Centre B'), by=clinic.admin.actor).id or 0
    taken = make_study().study_id
    with db.reading() as session:
        held = session.exec(select(Study.short_id).where(Study.id == taken)).one()
    offered = iter([held, 'BCDF2345'])
    monkeypatch.setattr(short_ids, 'new_code', lambda: next(offered))
    with centres.scoped(frozenset({other})), db.reading() as session:
        assert short_ids.unused_code(session) == 'BCDF2345'
