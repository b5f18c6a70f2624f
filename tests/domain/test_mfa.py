from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import text
from sqlmodel import select

from domain import clock, db, mfa
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.models import AuditEvent
from domain.settings import Settings
from tests.conftest import Clinic
from tests.mfa_fixtures import code_now, enrol


@pytest.fixture(autouse=True)
def _nobody_required(settings: Settings) -> Iterator[None]:
    yield
    mfa.configure(settings.model_copy(update={'mfa_required': ''}))


def actions(action: str) -> list[AuditEvent]:
    with db.reading() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_an_enrolment_offers_a_secret_an_otpauth_uri_and_a_local_qr_code(clinic: Clinic) -> None:
    enrolment = mfa.start_enrolment(clinic.radiologist.user_id)
    assert pyotp.TOTP(enrolment.secret).secret == enrolment.secret
    assert enrolment.uri.startswith('otpauth://totp/ClinicPACS:radiologist1?')
    assert 'issuer=ClinicPACS' in enrolment.uri
    assert enrolment.qr_svg.startswith('<svg') and 'http' not in enrolment.qr_svg.replace('http://www.w3.org', '')
    assert not mfa.is_enabled(clinic.radiologist.user_id)  # nothing stored before the code is confirmed


def test_confirming_with_the_apps_code_turns_it_on_with_ten_recovery_codes(clinic: Clinic) -> None:
    account = clinic.radiologist
    _, codes = enrol(account)
    assert mfa.is_enabled(account.user_id)
    assert len(set(codes)) == 10
    assert all(len(code) == 9 and code[4] == '-' for code in codes)
    assert mfa.recovery_codes_left(account.user_id) == 10
    assert [event.object_id for event in actions('mfa.enrol')] == [str(account.user_id)]


def test_a_wrong_code_does_not_turn_it_on(clinic: Clinic) -> None:
    account = clinic.radiologist
    enrolment = mfa.start_enrolment(account.user_id)
    wrong = f'{(int(code_now(enrolment.secret)) + 1) % 1_000_000:06d}'
    with pytest.raises(InvalidInput, match='does not match'):
        mfa.confirm_enrolment(account.user_id, enrolment.secret, wrong, by=account.actor)
    assert not mfa.is_enabled(account.user_id)


def test_an_administrator_cannot_enrol_someone_elses_phone(clinic: Clinic) -> None:
    enrolment = mfa.start_enrolment(clinic.radiologist.user_id)
    with pytest.raises(NotAllowed):
        mfa.confirm_enrolment(
            clinic.radiologist.user_id, enrolment.secret, code_now(enrolment.secret), by=clinic.admin.actor
        )
    assert not mfa.is_enabled(clinic.radiologist.user_id)


def test_a_second_enrolment_is_refused_while_one_is_on(clinic: Clinic) -> None:
    account = clinic.radiologist
    enrol(account)
    again = mfa.start_enrolment(account.user_id)
    with pytest.raises(Conflict):
        mfa.confirm_enrolment(account.user_id, again.secret, code_now(again.secret), by=account.actor)


def test_the_current_code_is_accepted_once(clinic: Clinic) -> None:
    account = clinic.technician
    secret, _ = enrol(account)
    code = code_now(secret)
    assert mfa.check(account.user_id, code)
    assert not mfa.check(account.user_id, code)  # replayed within the same 30 s


def test_an_older_code_is_refused_after_a_newer_one_was_used(clinic: Clinic) -> None:
    account = clinic.technician
    secret, _ = enrol(account)
    older = code_now(secret)
    clock.advance(timedelta(seconds=mfa.STEP_S))
    assert mfa.check(account.user_id, code_now(secret))
    assert not mfa.check(account.user_id, older)


def test_a_code_from_long_ago_or_a_wrong_one_fails_and_changes_nothing(clinic: Clinic) -> None:
    account = clinic.technician
    secret, _ = enrol(account)
    stale = code_now(secret)
    clock.advance(timedelta(minutes=5))
    with db.reading() as session:
        before = session.exec(
            text('SELECT mfa_secret FROM "user" WHERE id = :id'), params={'id': account.user_id}
        ).one()  # type: ignore[call-overload]
    assert not mfa.check(account.user_id, stale)
    assert not mfa.check(account.user_id, 'abcd-efgh')
    assert not mfa.check(account.user_id, '')
    with db.reading() as session:
        after = session.exec(text('SELECT mfa_secret FROM "user" WHERE id = :id'), params={'id': account.user_id}).one()  # type: ignore[call-overload]
    assert before == after
    assert mfa.recovery_codes_left(account.user_id) == 10


def test_a_user_without_two_step_sign_in_never_passes_a_check(clinic: Clinic) -> None:
    assert not mfa.check(clinic.receptionist.user_id, '123456')


def test_a_recovery_code_works_once_and_is_audited(clinic: Clinic) -> None:
    account = clinic.radiologist
    _, codes = enrol(account)
    assert mfa.check(account.user_id, codes[3].upper(), address='10.0.0.9')
    assert not mfa.check(account.user_id, codes[3])
    assert mfa.recovery_codes_left(account.user_id) == 9
    used = actions('mfa.recovery_code_used')
    assert [(event.user_id, event.address) for event in used] == [(account.user_id, '10.0.0.9')]


def test_the_user_turns_it_off_with_a_current_code(clinic: Clinic) -> None:
    account = clinic.radiologist
    secret, _ = enrol(account)
    with pytest.raises(InvalidInput):
        mfa.disable(account.user_id, by=account.actor)
    mfa.disable(account.user_id, by=account.actor, code=code_now(secret))
    assert not mfa.is_enabled(account.user_id)
    assert mfa.recovery_codes_left(account.user_id) == 0
    assert len(actions('mfa.disable')) == 1


def test_the_user_cannot_turn_it_off_when_their_role_requires_it(clinic: Clinic, settings: Settings) -> None:
    account = clinic.admin
    secret, _ = enrol(account)
    mfa.configure(settings.model_copy(update={'mfa_required': 'admin'}))
    with pytest.raises(NotAllowed):
        mfa.disable(account.user_id, by=account.actor, code=code_now(secret))
    assert mfa.is_enabled(account.user_id)


def test_an_administrator_resets_it_for_a_user_and_it_is_audited(clinic: Clinic) -> None:
    account = clinic.radiologist
    enrol(account)
    with pytest.raises(NotAllowed):
        mfa.disable(account.user_id, by=clinic.technician.actor)
    assert mfa.is_enabled(account.user_id)
    mfa.disable(account.user_id, by=clinic.admin.actor)
    assert not mfa.is_enabled(account.user_id)
    assert mfa.recovery_codes_left(account.user_id) == 0
    [reset] = actions('mfa.reset')
    assert (reset.user_id, reset.object_type, reset.object_id) == (clinic.admin.user_id, 'user', str(account.user_id))


def test_new_recovery_codes_replace_the_old_ones_after_a_current_code(clinic: Clinic) -> None:
    account = clinic.radiologist
    secret, old = enrol(account)
    with pytest.raises(InvalidInput):
        mfa.regenerate_recovery_codes(account.user_id, '000000', by=account.actor)
    new = mfa.regenerate_recovery_codes(account.user_id, code_now(secret), by=account.actor)
    assert len(new) == 10 and not set(new) & set(old)
    assert not mfa.check(account.user_id, old[0])
    assert mfa.check(account.user_id, new[0])


def test_the_secret_is_not_stored_in_the_clear(clinic: Clinic) -> None:
    account = clinic.radiologist
    secret, codes = enrol(account)
    with db.reading() as session:
        stored = session.exec(
            text('SELECT mfa_secret FROM "user" WHERE id = :id'), params={'id': account.user_id}
        ).one()[0]  # type: ignore[call-overload]
        hashes = [row[0] for row in session.exec(text('SELECT code_hash FROM recovery_code')).all()]  # type: ignore[call-overload]
    assert stored and secret not in stored and secret.lower() not in stored.lower()
    assert len(hashes) == 10
    assert not any(code in digest or code.replace('-', '') in digest for code in codes for digest in hashes)


@pytest.mark.parametrize(
    ('required', 'roles'),
    [
        ('', set()),
        ('admin', {'admin'}),
        ('all', {'receptionist', 'technician', 'radiologist', 'admin'}),
    ],
)
def test_who_must_use_a_second_factor(settings: Settings, required: str, roles: set[str]) -> None:
    mfa.configure(settings.model_copy(update={'mfa_required': required}))
    assert {
        role for role in ('receptionist', 'technician', 'radiologist', 'admin', 'kiosk') if mfa.required_for(role)
    } == roles
