"""Retention removes patient data and legal holds protect it: only administrators may make rules, preview, confirm
runs or change a hold, whether they use the screen or call the services some other way (a forged event)."""

from collections.abc import Callable
from datetime import date

import pytest
from nicegui.testing import User
from sqlmodel import col, select

from domain import db, patients, retention, retention_rules, retention_runs
from domain.access import Actor
from domain.errors import NotAllowed
from domain.models import AuditEvent, PatientCreate, RetentionRun, Study
from domain.retention_rules import RetentionRuleCreate
from tests.conftest import Clinic, sign_in
from tests.domain.test_retention import arrive_study

NOT_ADMINS = ('receptionist', 'technician', 'radiologist')
Attempt = Callable[[Actor], object]


@pytest.fixture
def setup(clinic: Clinic) -> tuple[int, int, int]:
    """A rule, a patient and an old study that the rule picks: (rule id, patient id, study id)."""
    details = PatientCreate(family_name='Held', given_name='Not', birth_date='1950-01-02')
    patient = patients.register(details, by=clinic.receptionist.actor)
    study_id = arrive_study(clinic, patient.patient_id, date(2001, 2, 3), 'US', 'Cine')
    rule = retention_rules.add(RetentionRuleCreate(name='Old', min_age=1), by=clinic.admin.actor)
    return rule.id or 0, patient.id or 0, study_id


def test_only_administrators_may_make_change_or_delete_rules(clinic: Clinic, setup: tuple[int, int, int]) -> None:
    rule_id, _, _ = setup
    for role in NOT_ADMINS:
        attempts: list[Attempt] = [
            lambda actor: retention_rules.add(RetentionRuleCreate(name='Everything', min_age=1), by=actor),
            lambda actor: retention_rules.update(rule_id, RetentionRuleCreate(name='Old', enabled=False), by=actor),
            lambda actor: retention_rules.delete(rule_id, by=actor),
            lambda actor: retention_rules.list_rules(by=actor),
        ]
        _all_refused(clinic.account(role).actor, attempts)
        assert _denied(clinic.account(role).username) == len(attempts)
    (rule,) = retention_rules.list_rules(by=clinic.admin.actor)
    assert (rule.name, rule.enabled, rule.min_age_months) == ('Old', True, 12)


def test_only_administrators_may_preview_or_confirm_a_run(clinic: Clinic, setup: tuple[int, int, int]) -> None:
    rule_id, _, study_id = setup
    run_id = retention.confirm(rule_id, [study_id], by=clinic.admin.actor)  # one the attacker may want to read
    for role in NOT_ADMINS:
        _all_refused(
            clinic.account(role).actor,
            [
                lambda actor: retention.preview(rule_id, by=actor),
                lambda actor: retention.confirm(rule_id, [study_id], by=actor),
                lambda actor: retention_runs.runs(by=actor),
                lambda actor: retention_runs.run_studies(run_id, by=actor),
            ],
        )
    with db.reading() as session:
        assert len(session.exec(select(RetentionRun)).all()) == 1
        assert session.get(Study, study_id) is not None


def test_only_administrators_may_place_or_release_a_legal_hold(clinic: Clinic, setup: tuple[int, int, int]) -> None:
    _, patient_id, study_id = setup
    retention.set_legal_hold(patient_id=patient_id, held=True, by=clinic.admin.actor, reason='Case 1')
    for role in NOT_ADMINS:
        _all_refused(
            clinic.account(role).actor,
            [
                lambda actor: retention.set_legal_hold(patient_id=patient_id, held=False, by=actor, reason='mine'),
                lambda actor: retention.set_legal_hold(study_id=study_id, held=True, by=actor, reason='mine'),
            ],
        )
    assert retention.hold_of(patient_id=patient_id, by=clinic.admin.actor).held
    assert not retention.hold_of(study_id=study_id, by=clinic.admin.actor).held


async def test_the_retention_screen_is_refused_to_others(screens: User, clinic: Clinic) -> None:
    for role in NOT_ADMINS:
        await sign_in(screens, clinic.account(role))
        await screens.open('/admin/retention')
        await screens.should_see(marker='not-allowed')
        await screens.should_not_see(marker='add-rule')


def _all_refused(actor: Actor, attempts: list[Attempt]) -> None:
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt(actor)


def _denied(username: str) -> int:
    with db.reading() as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.username == username, col(AuditEvent.outcome) == 'denied')
        ).all()
    return sum(row.action == 'denied:manage-retention' for row in rows)
