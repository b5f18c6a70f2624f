"""Rules that used to sit in pages and now come from domain: the clinic's clock and the refusals' kinds."""

import re
from datetime import datetime, timedelta

from nicegui.testing import User

from domain import appointments, clock, users
from tests.conftest import Clinic, sign_in
from tests.domain.reception_fixtures import at, booking, patient, procedure, room
from ui.i18n import format_day


async def test_the_appointments_page_follows_the_clinic_clock(screens: User, clinic: Clinic) -> None:
    real = datetime.now().astimezone()
    moved = (real + timedelta(days=1)).replace(hour=(real.hour + 12) % 24, minute=7, second=0, microsecond=0)
    clock.advance(moved - real)
    await sign_in(screens, clinic.receptionist)
    await screens.open('/appointments')
    await screens.should_see(format_day(moved.date(), language='en'))
    booking_time = screens.find(marker='booking-time').elements.pop()
    assert booking_time.value == moved.replace(minute=15).strftime('%H:%M')
    booking_date = screens.find(marker='booking-date').elements.pop()
    assert booking_date.value == moved.date().isoformat()


async def test_a_taken_national_id_is_shown_beside_its_field(receptionist: User, clinic: Clinic) -> None:
    patient(clinic, 'Doe', 'Jane', national_id='AB123456')
    await receptionist.open('/patients')
    receptionist.find(marker='register-patient').click()
    await receptionist.should_see(marker='family-name')
    receptionist.find(marker='family-name').type('Okafor')
    receptionist.find(marker='given-name').type('Ada')
    receptionist.find(marker='birth-date').type('1990-03-04')
    receptionist.find(marker='national-id').type('AB123456')
    receptionist.find(marker='register-save').click()
    await receptionist.should_see('Another patient already has this national ID')
    field = receptionist.find(marker='national-id').elements.pop()
    assert field.props.get('error') is True


async def test_an_admin_merges_a_record_into_the_patient_id_typed_in_any_case(admin: User, clinic: Clinic) -> None:
    twin, kept = patient(clinic, 'Doe', 'Jane'), patient(clinic, 'Doe', 'Janet')
    await admin.open(f'/patients/{twin.id}')
    await admin.should_see(marker='merge-patient')
    admin.find(marker='merge-patient').click()
    await admin.should_see(marker='merge-target')
    admin.find(marker='merge-target').type(f' {kept.patient_id.lower()} ')
    admin.find(marker='merge-save').click()
    await admin.should_see('Merged')
    await admin.should_see('Doe, Janet')
    await admin.should_not_see(marker='merge-target')


async def test_a_merge_into_an_unknown_patient_id_is_refused(admin: User, clinic: Clinic) -> None:
    twin = patient(clinic, 'Doe', 'Jane')
    await admin.open(f'/patients/{twin.id}')
    await admin.should_see(marker='merge-patient')
    admin.find(marker='merge-patient').click()
    await admin.should_see(marker='merge-target')
    admin.find(marker='merge-target').type('P9999999')
    admin.find(marker='merge-save').click()
    await admin.should_see('No patient with this Patient ID')


async def test_the_board_names_a_step_back_as_going_back(receptionist: User, clinic: Clinic) -> None:
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    appointments.move(made.id, 'waiting', by=clinic.receptionist.actor)
    appointments.move(made.id, 'in-room', by=clinic.receptionist.actor)
    await receptionist.open('/board')
    await receptionist.should_see(marker=f'card-{made.accession_number}')
    card = receptionist.find(marker=f'card-{made.accession_number}').elements.pop()
    assert re.search(f'data-mark="move-{made.accession_number}-waiting">.*?>Back to waiting<', card.content)


async def test_a_russian_receptionist_reads_the_day_and_the_closed_cards_in_russian(
    screens: User, clinic: Clinic
) -> None:
    users.set_language('ru', by=clinic.receptionist.actor)
    made = booking(clinic, patient(clinic), room(), procedure(clinic), at(9))
    appointments.cancel(made.id, by=clinic.receptionist.actor)
    await sign_in(screens, clinic.receptionist)
    await screens.open('/board')
    await screens.should_see(format_day(appointments.today(), language='ru'))
    await screens.should_see('Отменено и неявки (1)')
