"""The administrator's home as an operations dashboard: arrivals per day in the chart, failed jobs retried or
discarded, the DICOM listener and the data disk."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from domain import clock, db, heartbeats
from domain.models import AuditEvent, Job, Study
from tests.conftest import Clinic
from ui.admin import ops_server
from ui.admin.ops_server import Server

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _server(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as main.py configures it: the clinic's data directory, no listener of its own."""
    monkeypatch.setattr(ops_server, 'SERVER', Server(data_dir=clinic.data_dir, ae_title='CLINICPACS', port=11112))
    yield


def arrived(uid: str, *, days_ago: int, images: int, size_bytes: int = MB) -> None:
    """A study whose first image arrived that many days ago (same time of day)."""
    when = clock.now() - timedelta(days=days_ago)
    with db.transaction() as session:
        session.add(
            Study(
                study_instance_uid=uid,
                num_instances=images,
                size_bytes=size_bytes,
                first_arrival=when,
                last_arrival=when,
            )
        )


def failed_job(object_id: int = 7) -> int:
    with db.transaction() as session:
        job = Job(
            kind='build_thumbnails', object_id=object_id, state='failed', attempts=8, error='Thumbnails: no pixels'
        )
        session.add(job)
        session.flush()
        return job.id or 0


def job(job_id: int) -> Job:
    with db.reading() as session:
        found = session.get(Job, job_id)
    assert found is not None
    return found


def audited(action: str, job_id: int) -> list[dict]:
    with db.reading() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(job_id)))
        return [event.detail for event in rows.all()]


async def test_studies_and_images_per_day_are_the_charts_figures(admin: User) -> None:
    arrived('1.2.3.1', days_ago=0, images=3)
    arrived('1.2.3.2', days_ago=0, images=5)
    arrived('1.2.3.3', days_ago=2, images=10)
    arrived('1.2.3.4', days_ago=40, images=99)  # before the last 30 days
    await admin.open('/')
    await admin.should_see(marker='daily-chart')
    chart = admin.find(marker='daily-chart').elements.pop()
    assert isinstance(chart, ui.echart)
    studies, images = (series['data'] for series in chart.options['series'])
    assert len(studies) == len(images) == 30
    assert studies[-1] == 2 and images[-1] == 8  # today, last
    assert studies[-3] == 1 and images[-3] == 10
    assert sum(studies) == 3 and sum(images) == 18
    assert len(chart.options['xAxis']['data']) == 30


async def test_a_failed_job_is_retried_from_the_home(admin: User, clinic: Clinic) -> None:
    job_id = failed_job()
    await admin.open('/')
    await admin.should_see(marker='work-state-attention')
    await admin.should_see('1 job failed')
    admin.find(marker=f'retry-{job_id}').click()
    await admin.should_see('Queued again')
    await admin.should_not_see(marker=f'retry-{job_id}')
    assert job(job_id).state == 'queued'
    assert len(audited('job.retry', job_id)) == 1


async def test_a_failed_job_is_discarded_from_the_home_and_never_runs(admin: User) -> None:
    from domain import work

    job_id = failed_job()
    await admin.open('/')
    admin.find(marker=f'discard-{job_id}').click()
    await admin.should_see('Discarded')
    await admin.should_not_see(marker='failed-job-list')
    await admin.should_see(marker='work-state-ok')
    assert job(job_id).state == 'discarded'
    assert audited('job.discard', job_id) == [
        {'kind': 'build_thumbnails', 'object_id': 7, 'changes': {'state': ['failed', 'discarded']}}
    ]
    assert work.start(job_id) is None  # a late message for it does nothing


async def test_the_jobs_screen_discards_a_failed_job_too(admin: User) -> None:
    job_id = failed_job()
    await admin.open('/admin/jobs')
    admin.find(marker=f'discard-{job_id}').click()
    await admin.should_see('Discarded')
    admin.find(marker='jobs-discarded').click()
    await admin.should_see(f'#{job_id} Thumbnails of series 7')
    assert job(job_id).state == 'discarded'


async def test_the_data_disk_shows_free_space_and_growth_per_day(admin: User) -> None:
    arrived('1.2.4.1', days_ago=1, images=100, size_bytes=30 * MB)
    arrived('1.2.4.2', days_ago=0, images=100, size_bytes=10 * MB)
    await admin.open('/')
    await admin.should_see(marker='disk-free')
    assert ' free of ' in admin.find(marker='disk-free').elements.pop().text
    await admin.should_see('Growing 21 MB a day')  # 40 MiB over two days, in the reader's (decimal) megabytes


async def test_the_listener_of_this_process_shows_its_state_and_port(
    admin: User, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    listening = Server(data_dir=clinic.data_dir, ae_title='CLINICPACS', port=11112, probe=lambda: True)
    monkeypatch.setattr(ops_server, 'SERVER', listening)
    await admin.open('/')
    await admin.should_see(marker='listener-state-ok')
    await admin.should_see('AE title CLINICPACS · port 11112')


async def test_no_listener_anywhere_is_shown_as_down_and_a_separate_one_by_its_heartbeat(admin: User) -> None:
    await admin.open('/')
    await admin.should_see(marker='listener-state-down')
    await admin.should_see('Modalities cannot send images now')
    heartbeats.beat('s' * 32, role='scp', host='pacs-1', pid=4243, jobs=False)
    await admin.open('/')
    await admin.should_see(marker='listener-state-ok')
    await admin.should_see('1 listener process running')


async def test_other_roles_see_no_dashboard(technician: User) -> None:
    failed_job()
    await technician.open('/')
    await technician.should_see(marker='welcome')
    await technician.should_not_see(marker='daily-chart')
    await technician.should_not_see(marker='failed-job-list')


async def test_a_job_failing_while_the_home_is_open_appears_with_its_buttons(admin: User) -> None:
    from domain import work

    with db.transaction() as session:
        queued = work.enqueue(session, 'build_thumbnails', 9)
    job_id = queued.id or 0
    await admin.open('/')
    await admin.should_see(marker='work-state-attention')  # waiting with no worker
    await admin.should_not_see(marker='failed-job-list')
    assert work.start(job_id) is not None
    work.fail(job_id, 'Thumbnails: no pixels')
    await admin.should_see(marker=f'discard-{job_id}')
    await admin.should_see('1 job failed')
