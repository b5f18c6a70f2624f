"""Attack: a forged click on the reading worklist. Its buttons are HTML in one element (ui/html_actions.py), so
anyone on the page can send any action with any study id; the services refuse (and audit) what the sender's role
may not do, whatever the page drew for them."""

from nicegui.testing import User
from sqlmodel import select

from domain import db
from domain.models import AuditEvent, Study
from tests.conftest import Clinic, press, pressable, sign_in


def _study() -> int:
    with db.transaction() as session:
        study = Study(study_instance_uid='9.66', modalities='CT', state='ready', description='Forged chest')
        session.add(study)
    return study.id or 0


def _reader(study_id: int) -> int | None:
    with db.reading() as session:
        study = session.get(Study, study_id)
        assert study is not None
        return study.assigned_to_id


def _refusals(user_id: int) -> list[str]:
    with db.reading() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.user_id == user_id, AuditEvent.outcome == 'denied')
        ).all()
    return [e.action for e in refused]


async def test_a_forged_assign_press_by_a_radiologist_is_refused(screens: User, clinic: Clinic) -> None:
    study_id = _study()
    await sign_in(screens, clinic.radiologist)
    await screens.open('/reading')
    await screens.should_see('Forged chest')
    assert not pressable(screens, 'reading-list', f'assign-{study_id}')  # not drawn for a radiologist
    press(screens, 'reading-list', 'assign', study_id, str(clinic.radiologist.user_id))
    await screens.should_see('Your role may not do this')
    assert _refusals(clinic.radiologist.user_id) == ['denied:assign-readers']
    await screens.should_not_see(marker='assign-reader')  # no dialog to choose a reader in
    assert _reader(study_id) is None


async def test_a_forged_claim_press_by_an_admin_is_refused(screens: User, clinic: Clinic) -> None:
    study_id = _study()
    await sign_in(screens, clinic.admin)
    await screens.open('/reading')
    await screens.should_see('Forged chest')
    assert not pressable(screens, 'reading-list', f'claim-{study_id}')  # not drawn for an admin
    press(screens, 'reading-list', 'claim', study_id)
    await screens.should_see('Your role may not do this')
    assert _refusals(clinic.admin.user_id) == ['denied:claim-studies']
    assert _reader(study_id) is None
