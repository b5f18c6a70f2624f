"""Moves between screens within an open page (ui.sub_pages): the next screen is built in place, and what the screen
left was listening to stops with it."""

from datetime import datetime

from nicegui.testing import User

from domain import events
from tests.conftest import Clinic, eventually
from tests.domain.reception_fixtures import booking, patient, procedure, room
from ui import live


def _listening(kind: type[events.Event], client: object) -> int:
    return sum(1 for held, _screen in live.on(kind).held.values() if held is client)


async def test_a_move_builds_the_next_screen_in_the_same_page_and_titles_it(receptionist: User) -> None:
    await receptionist.open('/board')
    page = receptionist.client
    receptionist.navigate.to('/patients')
    await receptionist.should_see(marker='register-patient')
    await eventually(
        lambda: 'Patients' in str(receptionist.find(marker='screen-title').elements.pop().content), 'title'
    )
    assert receptionist.client is page and page.title == 'Patients · ClinicPACS'
    await receptionist.should_not_see(marker='board-day')


async def test_the_screen_left_stops_listening_and_the_next_one_listens(receptionist: User, clinic: Clinic) -> None:
    await receptionist.open('/board')
    await receptionist.should_see(marker='board-day')
    page = receptionist.client
    assert _listening(events.AppointmentChanged, page) == 1
    receptionist.navigate.to('/patients')
    await receptionist.should_see(marker='register-patient')
    booking(clinic, patient(clinic, 'Doe', 'Jane'), room(), procedure(clinic), datetime.now().astimezone())
    await eventually(lambda: _listening(events.AppointmentChanged, page) == 0, "the board's subscription dropped")
    assert _listening(events.PatientChanged, page) == 1  # the patients list's own
    assert receptionist.client is page


async def test_a_closed_tab_listens_no_more_at_once(receptionist: User) -> None:
    """Without waiting for an event of the kind: the subscriptions would keep the deleted page's screens alive."""
    await receptionist.open('/board')
    await receptionist.should_see(marker='board-day')
    page = receptionist.client
    assert _listening(events.AppointmentChanged, page) == 1
    page.delete()  # what NiceGUI does once the tab has been gone for its reconnect timeout
    assert _listening(events.AppointmentChanged, page) == 0
    assert _listening(events.PatientChanged, page) == 0
