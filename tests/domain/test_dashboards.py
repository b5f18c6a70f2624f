"""Dashboard figures (issue 18) against hand-computed values: turnaround percentiles by nearest rank, workload per
radiologist, studies per day by modality; each role sees what it may."""

from datetime import UTC, timedelta

import pytest

from domain import clock, dashboards, db, users
from domain.errors import NotAllowed
from domain.models import Report, Study, UserCreate
from tests.conftest import PASSWORD, Clinic
from tests.report_fixtures import final_report, make_study, template_id


def _signed_after(clinic: Clinic, minutes: int, *, by=None, days_ago: int = 1) -> int:
    """A report signed `minutes` after its study's first image, `days_ago` days ago."""
    writer = by or clinic.radiologist.actor
    study = make_study()
    report_id = final_report(study, writer)
    signed = clock.now() - timedelta(days=days_ago)
    with db.transaction() as session:
        row, report = session.get(Study, study.study_id), session.get(Report, report_id)
        assert row is not None and report is not None
        row.first_arrival, report.signed_at = signed - timedelta(minutes=minutes), signed
        session.add_all([row, report])
    return report_id


def _colleague(clinic: Clinic):
    from domain.access import Actor

    created = users.create(
        UserCreate(username='colleague', password=PASSWORD, role='radiologist', full_name='Dr Colleague'),
        by=clinic.admin.actor,
    )
    return Actor('radiologist', 'colleague', created.id)


def test_nearest_rank_percentiles() -> None:
    assert dashboards.nearest_rank([600, 30, 120, 60, 90], 0.5) == 90
    assert dashboards.nearest_rank([600, 30, 120, 60, 90], 0.9) == 600
    assert dashboards.nearest_rank([7], 0.9) == 7
    assert dashboards.nearest_rank([], 0.5) is None


def test_turnaround_of_the_last_30_days_by_reader_and_for_everyone(clinic: Clinic) -> None:
    for minutes in (30, 60, 90, 120, 600):
        _signed_after(clinic, minutes)
    _signed_after(clinic, 5, days_ago=40)  # outside the window
    colleague = _colleague(clinic)
    _signed_after(clinic, 1000, by=colleague)
    mine = dashboards.turnaround(by=clinic.radiologist.actor)
    assert mine == dashboards.Turnaround(reports=5, p50_minutes=90, p90_minutes=600)
    everyone = dashboards.turnaround(by=clinic.admin.actor)
    assert everyone == dashboards.Turnaround(reports=6, p50_minutes=90, p90_minutes=1000)  # 30 60 90 | 120 600 1000
    assert dashboards.turnaround(by=clinic.admin.actor, reader_id=colleague.user_id).reports == 1
    with pytest.raises(NotAllowed):
        dashboards.turnaround(by=clinic.radiologist.actor, reader_id=colleague.user_id)
    with pytest.raises(NotAllowed):
        dashboards.turnaround(by=clinic.receptionist.actor)


def test_workload_counts_signed_reports_open_drafts_and_studies_given_but_unread(clinic: Clinic) -> None:
    from domain import reporting

    doctor = clinic.radiologist.actor
    for minutes in (10, 20):
        _signed_after(clinic, minutes)
    reporting.start(make_study().study_id, template_id('us-abdomen'), by=doctor)  # a draft
    with db.transaction() as session:
        for n in range(3):
            session.add(Study(study_instance_uid=f'9.5.{n}', state='ready', assigned_to_id=doctor.user_id))
    mine = dashboards.my_workload(by=doctor)
    # the draft's study is ready and not given to anyone; the signed ones are done
    assert (mine.signed, mine.drafts, mine.waiting) == (2, 1, 3)
    listed = {w.reader_id: w for w in dashboards.workload(by=clinic.admin.actor)}
    assert listed[doctor.user_id or 0].signed == 2
    with pytest.raises(NotAllowed):
        dashboards.workload(by=doctor)


def test_studies_per_day_by_their_first_imaging_modality(clinic: Clinic) -> None:
    today = clock.now()
    with db.transaction() as session:
        for uid, modalities, days_ago in (
            ('9.6.1', 'CT', 0),
            ('9.6.2', 'CT', 0),
            ('9.6.3', 'SR\\US', 1),
            ('9.6.4', 'SR', 1),
            ('9.6.5', 'MR', 45),
        ):
            session.add(
                Study(study_instance_uid=uid, modalities=modalities, first_arrival=today - timedelta(days=days_ago))
            )
    shown = dashboards.studies_by_modality(by=clinic.admin.actor, zone=UTC)
    assert len(shown.days) == 30 and shown.days[-1] == today.astimezone(UTC).date()
    assert shown.counts['CT'][-1] == 2 and sum(shown.counts['CT']) == 2
    assert shown.counts['US'][-2] == 1 and shown.counts['SR'][-2] == 1
    assert 'MR' not in shown.counts  # 45 days ago
