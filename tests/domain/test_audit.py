import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from domain import audit, auth, db, users
from domain.errors import NotAllowed
from domain.models import AuditEvent, UserCreate
from tests.conftest import PASSWORD, Clinic


def _some_history(clinic: Clinic) -> None:
    auth.login('admin1', PASSWORD)
    users.create(
        UserCreate(username='nurse-anna', role='receptionist', password='a long password'), by=clinic.admin.actor
    )
    users.disable('nurse-anna', by=clinic.admin.actor)


def test_an_untouched_chain_verifies(clinic: Clinic) -> None:
    _some_history(clinic)
    report = audit.verify(by=clinic.admin.actor)
    assert report.intact
    assert report.checked >= 7  # four accounts, a login, a create, a disable


def test_a_changed_row_breaks_the_chain_at_that_row(clinic: Clinic) -> None:
    _some_history(clinic)
    with db.reading() as session:
        victim = session.exec(select(AuditEvent).where(AuditEvent.action == 'login')).one()
    with db.transaction() as session:
        session.exec(update(AuditEvent).where(col(AuditEvent.id) == victim.id).values(username='someone-else'))
    assert audit.verify(by=clinic.admin.actor).first_broken_id == victim.id


def test_a_deleted_row_breaks_the_chain_after_it(clinic: Clinic) -> None:
    _some_history(clinic)
    with db.reading() as session:
        ids = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all()
    with db.transaction() as session:
        session.exec(delete(AuditEvent).where(col(AuditEvent.id) == ids[2]))
    assert audit.verify(by=clinic.admin.actor).first_broken_id == ids[3]


def test_logins_record_success_and_failure_with_the_address(clinic: Clinic) -> None:
    auth.login('admin1', PASSWORD, address='192.0.2.7')
    try:
        auth.login('admin1', 'wrong password', address='192.0.2.8')
    except Exception:
        pass
    page = audit.search(by=clinic.admin.actor, action='login')
    outcomes = {(row.outcome, row.address) for row in page.rows}
    assert ('success', '192.0.2.7') in outcomes
    assert ('failure', '192.0.2.8') in outcomes


def test_only_an_admin_may_read_the_audit_trail(clinic: Clinic) -> None:
    with pytest.raises(NotAllowed):
        audit.search(by=clinic.radiologist.actor)
    assert audit.search(by=clinic.admin.actor, action='denied').rows[0].username == 'radiologist1'


def test_only_an_admin_may_check_the_audit_chain(clinic: Clinic) -> None:
    for account in (clinic.radiologist, clinic.technician, clinic.receptionist):
        with pytest.raises(NotAllowed):
            audit.verify(by=account.actor)
    assert audit.search(by=clinic.admin.actor, action='denied:view-audit').total == 3
    assert audit.verify(by=clinic.admin.actor).intact
