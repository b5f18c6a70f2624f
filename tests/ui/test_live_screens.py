"""Live changes reach open screens as targeted updates: the board redraws only the card that changed, the patients
list and a patient's page show what concerns them without a reload, and thumbnails travel as URLs, not bytes."""

import asyncio
import hashlib
import re
from datetime import date, timedelta

import pytest
from nicegui.testing import User

from domain import appointments, clock, db
from domain.models import Series, Study
from tests.conftest import Clinic, press, pressable, shown_html
from tests.domain.reception_fixtures import at, booking, patient, procedure, room
from ui import board


async def test_a_move_redraws_only_the_columns_it_touched(receptionist: User, clinic: Clinic) -> None:
    ct, head = room(), procedure(clinic)
    moved = booking(clinic, patient(clinic, 'Doe', 'Jane'), ct, head, at(9))
    still = booking(clinic, patient(clinic, 'Roe', 'Rita'), ct, head, at(10))
    for state in ('waiting', 'in-room'):
        appointments.move(still.id or 0, state, by=clinic.receptionist.actor)
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'card-{still.accession_number}')
    before = receptionist.find(marker=f'card-{still.accession_number}').elements.pop().content
    await asyncio.to_thread(appointments.move, moved.id or 0, 'waiting', by=clinic.receptionist.actor)
    await receptionist.should_see(
        marker=f'card-{moved.accession_number}', content=f'data-mark="move-{moved.accession_number}-in-room"'
    )
    await receptionist.should_see(marker=f'state-{moved.accession_number}', content='>waiting<')
    assert receptionist.find(marker=f'card-{still.accession_number}').elements.pop().content is before  # untouched
    waiting = receptionist.find(marker='column-waiting').elements.pop()
    assert waiting is receptionist.find(marker=f'card-{moved.accession_number}').elements.pop()
    assert f'data-card="{moved.accession_number}"' not in shown_html(receptionist, 'column-scheduled')


async def test_a_card_booked_for_today_appears_on_an_open_board_in_time_order(
    receptionist: User, clinic: Clinic
) -> None:
    ct, head = room(), procedure(clinic)
    late = booking(clinic, patient(clinic, 'Doe', 'Jane'), ct, head, at(11))
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'card-{late.accession_number}')
    early = await asyncio.to_thread(booking, clinic, patient(clinic, 'Roe', 'Rita'), ct, head, at(8))
    await receptionist.should_see(marker=f'card-{early.accession_number}')
    drawn = re.findall(r'data-card="([^"]+)"', shown_html(receptionist, f'card-{early.accession_number}'))
    assert drawn == [early.accession_number, late.accession_number]


async def test_a_busy_column_draws_its_first_cards_and_shows_the_rest_on_request(
    receptionist: User, clinic: Clinic
) -> None:
    head = procedure(clinic)
    count = board.COLUMN_CARDS + 3
    booked = [
        booking(clinic, patient(clinic, f'Doe{n:02d}', 'Jane'), room(f'CT{n:02d}', name=f'CT {n}'), head, at(7, n * 2))
        for n in range(count)
    ]
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'card-{booked[board.COLUMN_CARDS - 1].accession_number}')
    await receptionist.should_not_see(marker=f'card-{booked[board.COLUMN_CARDS].accession_number}')
    await receptionist.should_see(f'Show all ({count})')
    assert pressable(receptionist, 'column-scheduled', 'more-scheduled')
    press(receptionist, 'column-scheduled', 'expand', 'scheduled')
    await receptionist.should_see(marker=f'card-{booked[-1].accession_number}')
    await receptionist.should_not_see(f'Show all ({count})')


async def test_a_patient_registered_elsewhere_appears_in_an_open_patients_list(
    receptionist: User, clinic: Clinic
) -> None:
    patient(clinic, 'Doe', 'Jane')
    await receptionist.open('/patients')
    await receptionist.should_see('Doe, Jane')
    await asyncio.to_thread(patient, clinic, 'Abara', 'Chidi')
    await receptionist.should_see('Abara, Chidi')
    await receptionist.should_see('1-2 of 2')


async def test_an_appointment_booked_elsewhere_appears_on_the_open_patient_page(
    receptionist: User, clinic: Clinic
) -> None:
    jane, other = patient(clinic, 'Doe', 'Jane'), patient(clinic, 'Roe', 'Rita')
    ct, head = room(), procedure(clinic)
    await receptionist.open(f'/patients/{jane.id}')
    await receptionist.should_see('Nothing yet')
    await asyncio.to_thread(booking, clinic, other, ct, head, at(9))
    made = await asyncio.to_thread(booking, clinic, jane, ct, head, at(10))
    await receptionist.should_see(marker='timeline-appointment')
    await receptionist.should_see(made.accession_number, retries=50)
    timeline = receptionist.find(marker='timeline-appointment').elements.pop().content
    assert timeline.count('data-kind="appointment"') == 1  # the other patient's appointment stays on the other page


async def test_the_timeline_sends_thumbnails_as_urls(receptionist: User, clinic: Clinic) -> None:
    jane = patient(clinic, 'Doe', 'Jane')
    with db.transaction() as session:
        study = Study(
            study_instance_uid='1.2.826.0.1.3680043.8.498.91',
            patient_ref_id=jane.id,
            modalities='CT',
            state='ready',
            study_date=date.today(),
        )
        session.add(study)
        session.flush()
        session.add(
            Series(
                study_id=study.id or 0,
                series_instance_uid='1.2.826.0.1.3680043.8.498.92',
                modality='CT',
                thumbnail_path='thumbnails/x.png',
                thumbnail_sha256=hashlib.sha256(b'x').hexdigest(),
            )
        )
    await receptionist.open(f'/patients/{jane.id}')
    await receptionist.should_see(marker='thumbnail')
    timeline = receptionist.find(marker='thumbnail').elements.pop().content
    sources = re.findall(r'<img [^>]*src="([^"]*)"', timeline)
    assert sources and all(source.startswith('/thumbnails/') for source in sources), timeline
    assert 'base64' not in timeline


async def test_the_studies_list_draws_a_page_and_shows_more_on_request(technician: User, clinic: Clinic) -> None:
    with db.transaction() as session:
        for n in range(31):
            session.add(
                Study(
                    study_instance_uid=f'1.2.826.0.1.3680043.8.498.95.{n}',
                    patient_name=f'Page^Patient{n:02d}',
                    modalities='CT',
                    state='ready',
                    study_date=date.today(),
                )
            )
    await technician.open('/studies')
    await technician.should_see(marker='studies-more')
    cards = [e for e in technician.find(marker='studies-more').elements.pop().parent_slot.parent.descendants()]
    assert sum(1 for e in cards if any(re.fullmatch(r'study-\d+', m) for m in e._markers)) == 30
    technician.find(marker='studies-more').click()
    await technician.should_not_see(marker='studies-more')
    await technician.should_see('Patient00')


async def test_an_open_board_moves_the_time_in_state_on(
    receptionist: User, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board, 'TICK_S', 0.2)
    # after noon, back to noon (a backward move keeps the session): 75 minutes on must not reach tomorrow's board
    clock.advance(min(timedelta(0), at(12) - clock.now()))
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'since-{made.accession_number}', content='>0 min<')
    clock.advance(timedelta(minutes=75))
    await receptionist.should_see(marker=f'since-{made.accession_number}', content='>1 h 15 min<', retries=100)
