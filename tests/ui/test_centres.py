"""Issue 18's centres on the screens: the administrator adds and edits centres, gives staff, radiologists and scanners
their centre; reception of the reading group chooses a new patient's centre; a centre's staff get their dashboard
and a notice when a report of theirs is final. With one centre none of this shows."""

from nicegui import ui
from nicegui.testing import User

from domain import centre_admin, centres, db
from domain.centre_admin import CentreData
from domain.models import Centre, Patient, ServedCentre, Study
from domain.models import User as Staff
from tests.conftest import Clinic, eventually, shown_html, sign_in
from tests.report_fixtures import final_report, make_study


def _second_centre(clinic: Clinic, name: str = 'Sunrise Diagnostics') -> int:
    return centre_admin.create(CentreData(name=name, currency='INR'), by=clinic.admin.actor).id or 0


async def test_an_admin_adds_a_centre_and_a_refused_one_keeps_what_was_typed(admin: User) -> None:
    await admin.open('/admin/centres')
    admin.find(marker='centre-new-name').type('Sunrise Diagnostics')
    admin.find(marker='centre-new-contact').type('+91 80 1234 5678')
    admin.find(marker='centre-new-currency').clear().type('RS')
    admin.find(marker='centre-add').click()
    await admin.should_see('three-letter ISO 4217 code')
    assert admin.find(marker='centre-new-name').elements.pop().value == 'Sunrise Diagnostics'
    admin.find(marker='centre-new-currency').clear().type('INR')
    admin.find(marker='centre-add').click()
    await admin.should_see('Centre added')
    with db.reading() as session:
        made = session.exec(db_select_centre('Sunrise Diagnostics')).one()
    assert (made.currency, made.contact) == ('INR', '+91 80 1234 5678')
    await admin.should_see(marker=f'centre-{made.id}')


def db_select_centre(name: str):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    return select(Centre).where(Centre.name == name)


async def test_with_one_centre_the_users_and_registration_ask_nothing_new(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/users')
    await admin.should_see(marker='user-technician1')
    await admin.should_not_see(marker='centre-technician1')
    await admin.open('/patients')
    admin.find(marker='register-patient').click()
    await admin.should_see(marker='family-name')
    await admin.should_not_see(marker='centre')


async def test_staff_get_a_centre_and_a_radiologist_the_centres_they_read_for(admin: User, clinic: Clinic) -> None:
    other = _second_centre(clinic)
    await admin.open('/admin/users')
    await admin.should_see(marker='centre-technician1')
    admin.find(marker='centre-technician1').elements.pop().set_value(other)
    await admin.should_see('Saved')
    admin.find(marker='served-radiologist1').elements.pop().set_value([other])
    with db.reading() as session:
        await eventually(lambda: session.get(Staff, clinic.technician.user_id), 'the technician')
    with db.reading() as session:
        assert session.get(Staff, clinic.technician.user_id).centre_id == other  # type: ignore[union-attr]
    await eventually(lambda: _served(clinic.radiologist.user_id) == [other], 'the radiologist’s centres')
    assert clinic.technician.actor.centres == frozenset({other})
    assert clinic.radiologist.actor.centres == frozenset({other})


def _served(user_id: int) -> list[int]:
    from sqlmodel import select

    with db.reading() as session:
        return list(session.exec(select(ServedCentre.centre_id).where(ServedCentre.user_id == user_id)).all())


async def test_reception_of_the_reading_group_chooses_a_new_patients_centre(receptionist: User, clinic: Clinic) -> None:
    other = _second_centre(clinic)
    await receptionist.open('/patients')
    receptionist.find(marker='register-patient').click()
    await receptionist.should_see(marker='centre')
    receptionist.find(marker='family-name').type('Rao')
    receptionist.find(marker='given-name').type('Meera')
    receptionist.find(marker='birth-date').type('1984-02-29')
    receptionist.find(marker='register-save').click()
    await receptionist.should_see('Choose the centre this patient is registered at')
    assert receptionist.find(marker='family-name').elements.pop().value == 'Rao'
    receptionist.find(marker='centre').elements.pop().set_value(other)
    receptionist.find(marker='register-save').click()
    await receptionist.should_see('Registered')
    with db.reading() as session:
        from sqlmodel import select

        assert session.exec(select(Patient.centre_id).where(Patient.family_name == 'Rao')).one() == other


async def test_a_centre_sees_its_dashboard_and_is_told_when_its_report_is_final(user: User, clinic: Clinic) -> None:
    from ui import live, register_pages

    register_pages()
    live.start_bridge()
    try:
        study = make_study(family_name='Kumar')
        await sign_in(user, clinic.centre)
        await user.should_see(marker='study-states')  # a centre lands on its dashboard
        assert user.find(marker='state-to-read').elements.pop().text == '1'
        await user.should_see(marker='amounts-due')
        final_report(study, clinic.radiologist.actor)
        await user.should_see('Report ready: study')
        assert user.find(marker='state-reported').elements.pop().text == '0'  # figures are read once per visit
    finally:
        live.stop_bridge()


async def test_only_the_centre_that_owns_the_report_is_told(user: User, clinic: Clinic) -> None:
    from ui import live, register_pages

    other = _second_centre(clinic)
    centre_admin.set_staff_centre(clinic.centre.user_id, other, by=clinic.admin.actor)
    register_pages()
    live.start_bridge()
    try:
        elsewhere = make_study(family_name='Kumar')
        with centres.scoped(frozenset({other})):
            mine = make_study(family_name='Patel')
        with db.reading() as session:
            short = session.get(Study, mine.study_id).short_id  # type: ignore[union-attr]
        await sign_in(user, clinic.centre)
        await user.should_see(marker='study-states')
        final_report(elsewhere, clinic.radiologist.actor)
        final_report(mine, clinic.radiologist.actor)
        await user.should_see(f'Report ready: study {short}')
        assert len([m for m in user.notify.messages if 'Report ready' in m]) == 1
    finally:
        live.stop_bridge()


async def test_the_admin_dashboard_shows_studies_by_centre_once_there_are_several(admin: User, clinic: Clinic) -> None:
    other = _second_centre(clinic)
    make_study(modality='CT')
    with centres.scoped(frozenset({other})):
        make_study(modality='US')
    await admin.open('/dashboard')
    await admin.should_see(marker='centre-chart')
    chart = admin.find(kind=ui.echart, marker='centre-chart').elements.pop()
    assert sorted(s['name'] for s in chart.options['series']) == sorted(['ClinicPACS', 'Sunrise Diagnostics'])
    await admin.should_see(marker='revenue')


async def test_the_reading_worklist_names_each_studys_centre_once_there_are_several(
    radiologist: User, clinic: Clinic
) -> None:
    make_study(family_name='Kumar')
    await radiologist.open('/reading')
    await radiologist.should_see(marker='reading-list')
    assert 'data-mark="centre"' not in shown_html(radiologist, 'reading-list')  # one centre: as before
    other = _second_centre(clinic)
    with centres.scoped(frozenset({other})):
        make_study(family_name='Patel')
    await radiologist.open('/reading')
    await radiologist.should_see(marker='reading-list')
    shown = shown_html(radiologist, 'reading-list')
    assert 'Sunrise Diagnostics' in shown and 'ClinicPACS' in shown
