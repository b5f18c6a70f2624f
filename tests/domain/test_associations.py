"""The association log stays bounded (a month, the newest few hundred per AE title) and says when each modality was
last seen; only an administrator reads it."""

from datetime import timedelta

import pytest
from sqlmodel import col, select

from domain import associations, clock, db
from domain.access import system
from domain.errors import NotAllowed
from domain.models import DicomAssociation
from jobs import scheduler
from tests.conftest import Clinic


def _titles_and_images() -> list[tuple[str, int]]:
    with db.reading() as session:
        rows = session.exec(select(DicomAssociation).order_by(col(DicomAssociation.id))).all()
    return [(row.ae_title, row.images) for row in rows]


def test_rows_older_than_a_month_are_pruned(clinic: Clinic) -> None:
    associations.record('CT1', '10.0.0.5', result=associations.ACCEPTED, images=1)
    clock.advance(timedelta(days=associations.KEEP_DAYS - 1))
    associations.record('CT1', '10.0.0.5', result=associations.ACCEPTED, images=2)
    clock.advance(timedelta(days=2))
    assert associations.prune(by=system('scheduler')) == 1
    assert _titles_and_images() == [('CT1', 2)]


def test_only_the_newest_rows_of_each_ae_title_are_kept(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(associations, 'KEEP_PER_AE_TITLE', 3)
    for images in range(5):
        associations.record('US1', '10.0.0.6', result=associations.ACCEPTED, images=images)
    associations.record('MR1', '10.0.0.7', result=associations.ACCEPTED, images=9)
    assert associations.prune(by=system('scheduler')) == 2
    assert _titles_and_images() == [('US1', 2), ('US1', 3), ('US1', 4), ('MR1', 9)]


def test_last_seen_is_the_newest_association_with_its_result(clinic: Clinic) -> None:
    earlier = clock.now()
    later = earlier + timedelta(minutes=5)
    associations.record('CT1', '10.0.0.9', at=later, result=associations.REJECTED, reason='not from the entered host')
    associations.record('CT1', '10.0.0.5', at=earlier, result=associations.ACCEPTED)  # a long one, ended last
    associations.record('US1', '10.0.0.6', result=associations.ACCEPTED)
    seen = associations.last_seen(['CT1', 'MR1'], by=clinic.admin.actor)
    assert list(seen) == ['CT1']
    assert seen['CT1'] == associations.LastSeen(later, associations.REJECTED)


@pytest.mark.parametrize('role', ['receptionist', 'technician', 'radiologist'])
def test_only_an_administrator_reads_the_log(clinic: Clinic, role: str) -> None:
    associations.record('CT1', '10.0.0.5', result=associations.ACCEPTED)
    actor = clinic.account(role).actor
    with pytest.raises(NotAllowed):
        associations.recent('CT1', by=actor)
    with pytest.raises(NotAllowed):
        associations.last_seen(['CT1'], by=actor)
    with pytest.raises(NotAllowed):
        associations.prune(by=actor)
    assert [row.ae_title for row in associations.recent('CT1', by=clinic.admin.actor)] == ['CT1']


def test_the_scheduler_prunes_the_log_once_an_hour(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(associations, 'prune', lambda *, by: calls.append(by.username) or 0)
    ticking = scheduler.Scheduler()
    ticking.tick()
    ticking.tick()
    assert calls == ['scheduler']
