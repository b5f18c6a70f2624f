"""The board's move buttons are HTML with one listener per column (ui/html_actions.py), so a browser can send any
action, id and state it likes: the board moves only a card it shows, and only as the user's role allows."""

from datetime import timedelta

from nicegui.testing import User

from domain import appointments, db
from domain.models import Appointment
from tests.conftest import Clinic, press, sign_in
from tests.domain.reception_fixtures import at, booking, patient, procedure, room


def _state(appointment_id: int) -> str:
    with db.reading() as session:
        row = session.get(Appointment, appointment_id)
        assert row is not None
        return row.state


async def test_a_forged_press_cannot_make_a_move_the_role_does_not_allow(screens: User, clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    appointments.move(made.id, 'waiting', by=clinic.receptionist.actor)
    appointments.move(made.id, 'in-room', by=clinic.receptionist.actor)
    await sign_in(screens, clinic.receptionist)
    await screens.open('/board')
    await screens.should_see(marker=f'card-{made.accession_number}')
    press(screens, 'column-in-room', 'move', made.id or 0, 'in-scan')  # a technician's move, not reception's
    await screens.should_see('may not')
    assert _state(made.id or 0) == 'in-room'


async def test_a_forged_press_for_a_card_the_board_does_not_show_moves_nothing(screens: User, clinic: Clinic) -> None:
    ct, head = room(), procedure(clinic)
    shown = booking(clinic, patient(clinic), ct, head, at(9))
    tomorrow = booking(clinic, patient(clinic, 'Roe', 'Rita'), ct, head, at(9) + timedelta(days=1))
    await sign_in(screens, clinic.receptionist)
    await screens.open('/board')
    await screens.should_see(marker=f'card-{shown.accession_number}')
    for forged in (str(tomorrow.id), 'x', '-1', ''):
        press(screens, 'column-scheduled', 'move', forged, 'waiting')
    press(screens, 'column-scheduled', 'move', shown.id or 0, 'waiting')  # a real press after them is served
    await screens.should_see(marker=f'state-{shown.accession_number}', content='>waiting<')
    assert _state(tomorrow.id or 0) == 'scheduled'
