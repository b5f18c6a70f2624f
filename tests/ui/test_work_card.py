"""The Jobs card on the admin home: whether background work is getting done (the facts /health judges by)."""

from datetime import timedelta

from nicegui.testing import User

from domain import clock, db, health_facts, heartbeats
from domain.models import Job, Study
from tests.conftest import Clinic, sign_in


def _add(row: Job | Study) -> None:
    with db.transaction() as session:
        session.add(row)


def _worker_beats() -> None:
    heartbeats.beat('w' * 32, role='worker', host='pacs-1', pid=4242, jobs=True)


async def test_the_admin_home_says_the_work_is_up_to_date_with_a_worker_running(admin: User) -> None:
    _worker_beats()
    await admin.open('/')
    await admin.should_see(marker='work-state-ok')
    await admin.should_see('1 job worker running')
    await admin.should_see('0 jobs waiting')


async def test_jobs_waiting_with_no_worker_need_attention(admin: User) -> None:
    _add(Job(kind='build_thumbnails', object_id=1))
    await admin.open('/')
    await admin.should_see(marker='work-state-attention')
    await admin.should_see('0 job workers running')
    await admin.should_see('1 job waiting')


async def test_a_stuck_study_is_named_on_the_admin_home(admin: User) -> None:
    _add(Study(study_instance_uid='1.2.840.99.1', state='receiving'))
    clock.advance(timedelta(seconds=health_facts.RECEIVING_LIMIT_S + 1))
    _worker_beats()
    await admin.open('/')
    await admin.should_see(marker='work-state-attention')
    await admin.should_see('1 study stuck')


async def test_other_roles_see_no_jobs_card(screens: User, clinic: Clinic) -> None:
    await sign_in(screens, clinic.technician)
    await screens.open('/')
    await screens.should_see(marker='welcome')
    await screens.should_not_see(marker='work-state-ok')
