"""The reading dashboard as a radiologist (own queue and turnaround) and as the administrator (everyone's
turnaround, workload and studies per day charts); other roles may not open it."""

from nicegui import ui
from nicegui.testing import User

from domain import db
from domain.models import Study
from tests.conftest import Clinic
from tests.report_fixtures import final_report, make_study


async def test_a_radiologist_sees_their_queue_and_turnaround(radiologist: User, clinic: Clinic) -> None:
    final_report(make_study(), clinic.radiologist.actor)
    with db.transaction() as session:
        session.add(Study(study_instance_uid='9.4.1', state='ready', assigned_to_id=clinic.radiologist.user_id))
    await radiologist.open('/dashboard')
    await radiologist.should_see(marker='my-queue')
    assert radiologist.find(marker='queue-waiting').elements.pop().text == '1'
    assert radiologist.find(marker='queue-signed').elements.pop().text == '1'
    assert radiologist.find(marker='turnaround-reports').elements.pop().text == '1'
    await radiologist.should_not_see(marker='workload-chart')


async def test_the_admin_sees_everyones_turnaround_and_the_charts(admin: User, clinic: Clinic) -> None:
    final_report(make_study(modality='CT'), clinic.radiologist.actor)
    await admin.open('/dashboard')
    await admin.should_see(marker='workload-chart')
    chart = admin.find(kind=ui.echart, marker='workload-chart').elements.pop()
    assert chart.options['yAxis']['data'] == ['Test radiologist']
    assert chart.options['series'][0]['data'] == [1]
    modality = admin.find(kind=ui.echart, marker='modality-chart').elements.pop()
    assert [s['name'] for s in modality.options['series']] == ['CT']
    await admin.should_not_see(marker='my-queue')


async def test_reception_may_not_open_the_dashboard(receptionist: User) -> None:
    await receptionist.open('/dashboard')
    await receptionist.should_see(marker='not-allowed')
