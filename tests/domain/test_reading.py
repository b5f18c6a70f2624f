from datetime import timedelta

import pytest

from domain import clock, db, options, reading
from domain.errors import Conflict, NotAllowed
from domain.models import Report, ReportTemplate, Study
from tests.conftest import Clinic
from tests.domain.reception_fixtures import patient


def _study(
    uid: str,
    *,
    minutes_ago: int,
    urgent: bool = False,
    modality: str = 'CT',
    state: str = 'ready',
    patient_id: int | None = None,
) -> Study:
    with db.transaction() as session:
        study = Study(
            study_instance_uid=uid,
            modalities=modality,
            state=state,
            urgent=urgent,
            patient_ref_id=patient_id,
            first_arrival=clock.now() - timedelta(minutes=minutes_ago),
        )
        session.add(study)
    return study


def test_ready_studies_come_urgent_first_then_oldest_and_reported_ones_leave(clinic: Clinic) -> None:
    jane = patient(clinic)
    old = _study('1.1', minutes_ago=300, patient_id=jane.id)
    new = _study('1.2', minutes_ago=5)
    urgent = _study('1.3', minutes_ago=1, urgent=True)
    _study('1.4', minutes_ago=10, state='receiving')
    reported = _study('1.5', minutes_ago=400)
    with db.transaction() as session:
        template = ReportTemplate(code='t', name='t')
        session.add(template)
        session.flush()
        session.add(
            Report(study_id=reported.id, template_id=template.id, state='final', author_id=clinic.radiologist.user_id)
        )
        reported.reported = True  # as reporting.finalise marks it (tests/domain/test_reporting.py)
        session.add(reported)
    rows = reading.worklist(by=clinic.radiologist.actor)
    assert [r.study_id for r in rows] == [urgent.id, old.id, new.id]
    assert rows[1].patient_name == 'Doe, Jane' and rows[1].level == 'red' and rows[2].level == ''


def test_turnaround_thresholds_come_from_the_admins_settings(clinic: Clinic) -> None:
    _study('2.1', minutes_ago=20)
    options.put('turnaround_amber_minutes', 15, by=clinic.admin.actor)
    assert reading.worklist(by=clinic.radiologist.actor)[0].level == 'amber'


def test_claim_assign_and_the_mine_and_unassigned_filters(clinic: Clinic) -> None:
    first, second = _study('3.1', minutes_ago=50), _study('3.2', minutes_ago=40)
    doctor = clinic.radiologist.actor
    reading.claim(first.id, by=doctor)
    assert [r.study_id for r in reading.worklist(by=doctor, who='mine')] == [first.id]
    assert [r.study_id for r in reading.worklist(by=doctor, who='unassigned')] == [second.id]
    with pytest.raises(NotAllowed):
        reading.assign(second.id, clinic.radiologist.user_id, by=doctor)
    reading.assign(second.id, clinic.radiologist.user_id, by=clinic.admin.actor)
    assert reading.worklist(by=doctor, who='unassigned') == []


def test_a_study_a_colleague_holds_cannot_be_claimed(clinic: Clinic) -> None:
    study = _study('4.1', minutes_ago=5)
    reading.assign(study.id, clinic.radiologist.user_id, by=clinic.admin.actor)
    colleague = clinic.radiologist.actor.__class__(role='radiologist', username='dr-two', user_id=999)
    with pytest.raises(Conflict):
        reading.claim(study.id, by=colleague)


def test_urgent_set_later_moves_a_study_to_the_top(clinic: Clinic) -> None:
    _study('5.1', minutes_ago=60)
    late = _study('5.2', minutes_ago=5, modality='MR')
    reading.set_urgent(late.id, True, by=clinic.radiologist.actor)
    rows = reading.worklist(by=clinic.radiologist.actor)
    assert rows[0].study_id == late.id and rows[0].urgent
    assert [r.study_id for r in reading.worklist(by=clinic.radiologist.actor, modality='mr')] == [late.id]
