"""The reading worklist draws its first page of studies with 'Show more' for the rest, and opens a study in the
viewer or its report through plain links."""

from datetime import timedelta

from nicegui import ui
from nicegui.testing import User

from domain import clock, db
from domain.models import Study
from tests.conftest import Clinic
from ui import reading


def _ready_studies(count: int) -> list[Study]:
    with db.transaction() as session:
        studies = [
            Study(
                study_instance_uid=f'9.7.{n}',
                modalities='CT',
                state='ready',
                description=f'Chest {n:03d}',
                first_arrival=clock.now() - timedelta(minutes=count - n),
            )
            for n in range(count)
        ]
        session.add_all(studies)
    return studies


async def test_a_long_worklist_draws_its_first_page_and_the_rest_on_request(radiologist: User, clinic: Clinic) -> None:
    _ready_studies(reading.PAGE_SIZE + 2)
    await radiologist.open('/reading')
    await radiologist.should_see(f'Chest {reading.PAGE_SIZE - 1:03d}')  # oldest first
    await radiologist.should_not_see(f'Chest {reading.PAGE_SIZE:03d}')
    radiologist.find(marker='reading-more').click()
    await radiologist.should_see(f'Chest {reading.PAGE_SIZE + 1:03d}')
    await radiologist.should_not_see(marker='reading-more')


async def test_a_row_opens_the_viewer_and_the_report_by_link(radiologist: User, clinic: Clinic) -> None:
    (study,) = _ready_studies(1)
    await radiologist.open('/reading')
    viewer = radiologist.find(marker=f'view-{study.id}', kind=ui.button).elements.pop()
    report = radiologist.find(marker=f'report-{study.id}', kind=ui.button).elements.pop()
    assert (viewer.props['href'], viewer.props['title']) == (f'/viewer/{study.id}', 'Open in viewer')
    assert (report.props['href'], report.props['title']) == (f'/studies/{study.id}/report', 'Report')
