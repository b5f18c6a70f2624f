"""Reception's screens through the simulated user: patients, the patient page, booking, board, kiosk, reading."""

import re
from collections.abc import Callable
from datetime import date, timedelta

from nicegui.testing import User

from domain import appointments, clock, db, options, users
from domain.models import Appointment, Study
from tests.conftest import Clinic, eventually, press, pressable, shown_html, sign_in
from tests.domain.reception_fixtures import at, booking, patient, procedure, room


async def test_registering_shows_a_likely_duplicate_and_registers_only_when_confirmed(
    receptionist: User, clinic: Clinic
) -> None:
    patient(clinic, 'Müller', 'Jürgen', date(1970, 1, 2))
    await receptionist.open('/patients')
    receptionist.find(marker='register-patient').click()
    await receptionist.should_see(marker='family-name')
    receptionist.find(marker='family-name').type('Muller')
    receptionist.find(marker='given-name').type('Jurgen')
    receptionist.find(marker='birth-date').type('1970-01-02')
    await receptionist.should_see(marker='duplicate')
    receptionist.find(marker='register-save').click()
    await receptionist.should_see('already registered')
    receptionist.find(marker='register-anyway').click()
    await receptionist.should_see(marker='patient-name')
    await receptionist.should_see('Muller, Jurgen')


async def test_a_rejected_registration_keeps_what_was_typed_and_names_the_field(receptionist: User) -> None:
    await receptionist.open('/patients')
    receptionist.find(marker='register-patient').click()
    await receptionist.should_see(marker='family-name')
    receptionist.find(marker='family-name').type('Okafor')
    receptionist.find(marker='given-name').type('Ada')
    receptionist.find(marker='birth-date').type('2999-01-01')
    receptionist.find(marker='email').type('ada-at-example')
    receptionist.find(marker='register-save').click()
    await receptionist.should_see('The birth date cannot be in the future')
    family = receptionist.find(marker='family-name').elements.pop()
    assert family.value == 'Okafor'
    email = receptionist.find(marker='email').elements.pop()
    assert email.props.get('error') is True and 'email' in email.props['error-message']


async def test_search_finds_a_patient_by_names_in_any_order(receptionist: User, clinic: Clinic) -> None:
    patient(clinic, 'Doe', 'Jane')
    patient(clinic, 'Smith', 'John')
    await receptionist.open('/patients')
    await receptionist.should_see(marker='patient-count')
    receptionist.find(marker='patient-search').type('jane doe')
    await receptionist.should_see('Doe, Jane')
    await receptionist.should_not_see('Smith, John', retries=20)
    link = re.search(r'href="(/patients/\d+)"', shown_html(receptionist, 'patient-rows'))
    assert link is not None, 'the row is no link to the patient page'
    await receptionist.open(link.group(1))
    await receptionist.should_see('Doe, Jane')
    await receptionist.should_see(marker='patient-id')


async def test_an_edit_on_the_patient_page_shows_in_its_history(receptionist: User, clinic: Clinic) -> None:
    jane = patient(clinic)
    await receptionist.open(f'/patients/{jane.id}')
    await receptionist.should_see(marker='edit-patient')
    receptionist.find(marker='edit-patient').click()
    await receptionist.should_see(marker='edit-save')
    receptionist.find(marker='phone').clear().type('+1 555 000 1234')
    receptionist.find(marker='edit-save').click()
    await receptionist.should_see('Saved')
    receptionist.find(marker='tab-history').click()
    await receptionist.should_see('Phone: — → +1 555 000 1234')


async def test_the_timeline_shows_appointments_and_studies(receptionist: User, clinic: Clinic) -> None:
    jane = patient(clinic)
    made = booking(clinic, jane, room(), procedure(clinic), at(9))
    with db.transaction() as session:
        session.add(
            Study(
                study_instance_uid='1.2.3',
                patient_ref_id=jane.id,
                appointment_id=made.id,
                description='Head CT',
                modalities='CT',
                state='ready',
                study_date=date.today(),
            )
        )
    await receptionist.open(f'/patients/{jane.id}')
    await receptionist.should_see(marker='timeline-appointment')
    await receptionist.should_see('Head CT')
    await receptionist.should_see('Open in viewer')


async def test_a_receptionist_books_a_patient_and_gets_an_accession_number(receptionist: User, clinic: Clinic) -> None:
    jane, ct, head = patient(clinic), room(), procedure(clinic)
    await receptionist.open(f'/appointments?patient={jane.id}')
    await receptionist.should_see(marker='chosen-patient')
    receptionist.find(marker='booking-procedure').click()
    receptionist.find(f'{head.name} (CT)').click()
    receptionist.find(marker='booking-time').clear().type('10:30')
    receptionist.find(marker='booking-save').click()
    await receptionist.should_see('Booked: study ID ')
    await receptionist.should_see(marker=f'room-{ct.ae_title}')
    await receptionist.should_see(marker='appointment')


async def test_the_board_moves_a_card_and_another_open_session_sees_it_without_a_reload(
    screens: User, create_user: Callable[[], User], clinic: Clinic
) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    watcher = create_user()
    await sign_in(watcher, clinic.technician)
    await watcher.open('/board')
    await watcher.should_see(marker=f'card-{made.accession_number}')
    desk = create_user()
    await sign_in(desk, clinic.receptionist)
    await desk.open('/board')
    await desk.should_see(
        marker=f'card-{made.accession_number}', content=f'data-mark="move-{made.accession_number}-waiting"'
    )
    press(desk, 'column-scheduled', 'move', made.id or 0, 'waiting')
    await watcher.should_see(
        marker=f'card-{made.accession_number}', content=f'data-mark="move-{made.accession_number}-in-room"'
    )
    await watcher.should_see(marker=f'state-{made.accession_number}', content='>waiting<')


async def test_the_board_shows_the_time_in_the_current_state(receptionist: User, clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    with db.transaction() as session:
        row = session.get(Appointment, made.id)
        row.state_changed_at = clock.now() - timedelta(minutes=75, seconds=5)
        session.add(row)
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'since-{made.accession_number}')
    await receptionist.should_see('1 h 15 min')


async def test_a_board_card_and_the_day_schedule_show_the_short_study_id(receptionist: User, clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    assert made.short_id
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'card-{made.accession_number}')
    card = receptionist.find(marker=f'card-{made.accession_number}').elements.pop()
    assert f'>{made.short_id}</span>' in card.content
    await receptionist.open('/appointments')
    await receptionist.should_see(made.short_id, retries=20)


async def test_a_receptionist_cannot_start_a_scan(receptionist: User, clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    appointments.move(made.id, 'waiting', by=clinic.receptionist.actor)
    appointments.move(made.id, 'in-room', by=clinic.receptionist.actor)
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'card-{made.accession_number}')
    assert (
        f'move-{made.accession_number}-in-scan'
        not in receptionist.find(marker=f'card-{made.accession_number}').elements.pop().content
    )


async def test_boards_open_at_once_show_each_reader_their_language_and_their_moves(
    screens: User, create_user: Callable[[], User], clinic: Clinic
) -> None:
    """A card's HTML is drawn once and reused by every board (ui/board.card_markup): a reader in another language,
    or with other moves allowed, gets a card of their own."""
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    appointments.move(made.id, 'waiting', by=clinic.receptionist.actor)
    appointments.move(made.id, 'in-room', by=clinic.receptionist.actor)
    users.set_language('ru', by=clinic.receptionist.actor)
    technician = create_user()
    await sign_in(technician, clinic.technician)
    await technician.open('/board')
    await technician.should_see(marker=f'card-{made.accession_number}', content='>Start scan<')
    desk = create_user()
    await sign_in(desk, clinic.receptionist)
    await desk.open('/board')
    await desk.should_see(marker=f'card-{made.accession_number}', content='>в кабинете<')
    card = desk.find(marker=f'card-{made.accession_number}').elements.pop().content
    assert f'move-{made.accession_number}-in-scan' not in card and 'Start scan' not in card
    assert '>in-room<' in technician.find(marker=f'card-{made.accession_number}').elements.pop().content


async def test_the_kiosk_shows_initials_and_times_but_no_names_and_no_menu(receptionist: User, clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic, 'Doe', 'Jane'), room(), procedure(clinic), at(9))
    appointments.move(made.id, 'waiting', by=clinic.receptionist.actor)
    await receptionist.open('/kiosk')
    await receptionist.should_see(marker='kiosk-card')
    await receptionist.should_see('J.D.')
    await receptionist.should_not_see('Doe')
    await receptionist.should_not_see(marker='user-menu')
    options.put('kiosk_show_names', True, by=clinic.admin.actor)
    await receptionist.should_see('Doe, Jane')


async def test_the_reading_worklist_lets_a_radiologist_claim_the_oldest_study(
    radiologist: User, clinic: Clinic
) -> None:
    with db.transaction() as session:
        old = Study(
            study_instance_uid='9.1',
            modalities='CT',
            state='ready',
            description='Old chest',
            first_arrival=clock.now() - timedelta(hours=5),
        )
        session.add(old)
        session.add(Study(study_instance_uid='9.2', modalities='MR', state='ready', description='New knee'))
    await radiologist.open('/reading')
    await radiologist.should_see('Old chest')
    assert pressable(radiologist, 'reading-list', 'waited-red')
    press(radiologist, 'reading-list', 'claim', old.id or 0)
    await radiologist.should_see('Claimed')
    await eventually(lambda: not pressable(radiologist, 'reading-list', f'claim-{old.id}'), 'the claim button gone')


async def test_an_admin_adds_a_procedure(admin: User) -> None:
    await admin.open('/admin/procedures')
    admin.find(marker='procedure-code').type('US-ABD')
    admin.find(marker='procedure-name').type('Abdominal ultrasound')
    admin.find(marker='procedure-add').click()
    await admin.should_see(marker='procedure-US-ABD')
