"""The viewer's "Next unread study": the reading worklist's default list, in its order, without the current study."""

from datetime import timedelta

from domain import clock, db, reading
from domain.models import Report, ReportTemplate, Study
from tests.conftest import Clinic


def _study(uid: str, *, minutes_ago: int, urgent: bool = False, state: str = 'ready') -> int:
    with db.transaction() as session:
        study = Study(
            study_instance_uid=uid,
            modalities='CT',
            state=state,
            urgent=urgent,
            first_arrival=clock.now() - timedelta(minutes=minutes_ago),
        )
        session.add(study)
    return study.id or 0


def _finalise(clinic: Clinic, study_id: int) -> None:
    with db.transaction() as session:
        template = ReportTemplate(code=f't{study_id}', name='t')
        session.add(template)
        session.flush()
        session.add(
            Report(study_id=study_id, template_id=template.id, state='final', author_id=clinic.radiologist.user_id)
        )
        study = session.get(Study, study_id)
        assert study is not None
        study.reported = True  # as reporting.finalise marks it (tests/domain/test_reporting.py)
        session.add(study)


def test_next_unread_follows_the_worklists_order_and_skips_the_current_study(clinic: Clinic) -> None:
    old, new = _study('1.1', minutes_ago=300), _study('1.2', minutes_ago=5)
    urgent = _study('1.3', minutes_ago=1, urgent=True)
    doctor = clinic.radiologist.actor
    assert [row.study_id for row in reading.worklist(by=doctor)] == [urgent, old, new]
    assert reading.next_unread(urgent, by=doctor) == old
    assert reading.next_unread(old, by=doctor) == new
    assert reading.next_unread(new, by=doctor) == urgent  # round again to those still unread
    assert reading.next_unread(4242, by=doctor) == urgent  # a study not in the list: the list's first


def test_reported_and_unfinished_studies_are_not_offered_and_none_is_left_at_the_end(clinic: Clinic) -> None:
    current, reported = _study('2.1', minutes_ago=50), _study('2.2', minutes_ago=40)
    _study('2.3', minutes_ago=30, state='receiving')
    _finalise(clinic, reported)
    assert reading.next_unread(current, by=clinic.radiologist.actor) is None
