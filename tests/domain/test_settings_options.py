"""The administrator's options: per-role session lifetimes, all-or-nothing saving with old -> new audit, values
that reach every process, and the default report language."""

from datetime import timedelta

import pytest
from sqlmodel import col, select

from domain import auth, clock, db, options, reporting, sign_in
from domain.errors import InvalidInput
from domain.models import AuditEvent, Setting
from tests.conftest import PASSWORD, Clinic
from tests.report_fixtures import make_study, template_id

STEP = timedelta(minutes=10)  # activity well within the idle timeout


def stay_active(tokens: list[str], hours: float) -> None:
    """Use the sessions every ten minutes for `hours` (the clinic's clock moves on)."""
    for _ in range(round(hours * 6)):
        clock.advance(STEP)
        for token in tokens:
            auth.resume(token)


def kiosk_sign_in(username: str) -> str:
    ticket = sign_in.sign_in(username, PASSWORD, browser='wall tablet', kiosk=True)
    assert isinstance(ticket, str)
    result = auth.redeem(ticket, browser='wall tablet')
    assert result is not None
    return result.token


def test_a_session_ends_at_its_roles_lifetime_while_other_roles_keep_theirs(clinic: Clinic) -> None:
    options.put('session_hours_radiologist', 2, by=clinic.admin.actor)
    reading = auth.login('radiologist1', PASSWORD).token
    desk = auth.login('technician1', PASSWORD).token
    stay_active([reading, desk], 2.2)
    assert auth.resume(reading) is None
    assert auth.resume(desk) is not None  # 8 h, the environment's default


def test_a_shorter_lifetime_applies_to_sessions_already_open(clinic: Clinic) -> None:
    token = auth.login('admin1', PASSWORD).token
    stay_active([token], 3)
    assert auth.resume(token) is not None
    options.put('session_hours_admin', 2, by=clinic.admin.actor)
    assert auth.resume(token) is None


def test_a_waiting_room_screen_lasts_the_kiosk_lifetime_not_its_accounts_role(clinic: Clinic) -> None:
    options.put('session_hours_kiosk', 1, by=clinic.admin.actor)
    wall = kiosk_sign_in('receptionist1')
    desk = auth.login('receptionist1', PASSWORD).token
    stay_active([wall, desk], 1.2)
    assert auth.resume(wall) is None
    assert auth.resume(desk) is not None


def test_the_environment_gives_the_lifetimes_their_default_and_a_stored_value_wins(clinic: Clinic) -> None:
    auth.configure(clinic.settings.model_copy(update={'session_lifetime_hours': 3, 'kiosk_session_lifetime_hours': 12}))
    assert options.get_many('session_hours_receptionist', 'session_hours_admin', 'session_hours_kiosk') == {
        'session_hours_receptionist': 3,
        'session_hours_admin': 3,
        'session_hours_kiosk': 12,
    }
    options.put('session_hours_receptionist', 5, by=clinic.admin.actor)
    assert (options.get('session_hours_receptionist'), options.get('session_hours_admin')) == (5, 3)
    assert auth.lifetime('staff', 'receptionist') == timedelta(hours=5)
    assert auth.lifetime('kiosk', 'receptionist') == timedelta(hours=12)


def test_one_refused_value_stores_none_of_the_group_and_names_each_field(clinic: Clinic) -> None:
    with pytest.raises(InvalidInput) as refused:
        options.put_many(
            {'kiosk_title': 'Welcome', 'session_hours_admin': 0, 'study_quiet_seconds': 'soon'}, by=clinic.admin.actor
        )
    assert set(refused.value.fields) == {'session_hours_admin', 'study_quiet_seconds'}
    assert options.get('kiosk_title') == ''
    assert _changes() == []


def test_amber_must_stay_before_red_also_when_red_alone_changes(clinic: Clinic) -> None:
    with pytest.raises(InvalidInput) as refused:
        options.put('turnaround_red_minutes', 30, by=clinic.admin.actor)  # amber is 60
    assert set(refused.value.fields) == {'turnaround_red_minutes'}
    options.put_many({'turnaround_amber_minutes': 20, 'turnaround_red_minutes': 30}, by=clinic.admin.actor)
    assert (options.get('turnaround_amber_minutes'), options.get('turnaround_red_minutes')) == (20, 30)


def test_each_change_is_audited_with_its_old_and_new_value_and_an_unchanged_one_not(clinic: Clinic) -> None:
    options.put_many({'kiosk_title': '  Front desk ', 'kiosk_show_names': False}, by=clinic.admin.actor)
    options.put('kiosk_title', 'Imaging', by=clinic.admin.actor)
    assert _changes() == [
        ('kiosk_title', {'from': '', 'to': 'Front desk'}),  # stored trimmed; kiosk_show_names did not change
        ('kiosk_title', {'from': 'Front desk', 'to': 'Imaging'}),
    ]


def test_a_change_made_here_is_seen_at_once_by_the_often_read_values(clinic: Clinic) -> None:
    assert options.recent('study_quiet_seconds') == 1.0
    options.put('study_quiet_seconds', 4, by=clinic.admin.actor)
    assert options.recent('study_quiet_seconds') == 4.0


def test_a_change_another_process_made_is_seen_once_the_remembered_value_is_old(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, 'RECENT_S', 0.0)  # remembered values are old at once
    assert options.recent('session_hours_admin') == 8
    with db.transaction() as session:  # as another web process or worker stores it
        session.add(Setting(key='session_hours_admin', value=2))
    assert options.recent('session_hours_admin') == 2


def test_a_new_report_is_written_in_the_clinics_report_language_unless_one_is_chosen(clinic: Clinic) -> None:
    options.put('report_language', 'fr', by=clinic.admin.actor)
    chosen_by_clinic = reporting.start(make_study().study_id, template_id('free'), by=clinic.radiologist.actor)
    chosen_by_reader = reporting.start(
        make_study().study_id, template_id('free'), language='ru', by=clinic.radiologist.actor
    )
    assert (chosen_by_clinic.language, chosen_by_reader.language) == ('fr', 'ru')


def _changes() -> list[tuple[str, dict[str, object]]]:
    with db.reading() as session:
        found = session.exec(
            select(AuditEvent).where(AuditEvent.action == 'setting.change').order_by(col(AuditEvent.id))
        ).all()
    return [(event.object_id, event.detail) for event in found]
