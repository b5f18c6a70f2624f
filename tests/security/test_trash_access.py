"""Attack: someone other than an administrator deletes, restores, purges or moves a study (a wrong button, or a
crafted call from an open screen), or an administrator deletes without saying why, or gets round a legal hold.

Every step is checked in domain.trash (the screens and jobs all go through it) and the screen itself is admin-only.
"""

import pytest
from nicegui.testing import User
from sqlmodel import col, select

from domain import db, trash
from domain.access import modality
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.models import AuditEvent, Patient, TrashItem
from tests.conftest import Clinic, sign_in
from tests.trash_fixtures import World, make_patient, make_world, snapshot

OTHER_ROLES = ('receptionist', 'technician', 'radiologist')


@pytest.fixture
def world(clinic: Clinic) -> World:
    return make_world(clinic.data_dir, clinic.radiologist.user_id)


@pytest.mark.parametrize('role', OTHER_ROLES)
def test_no_other_role_deletes_restores_purges_or_moves(clinic: Clinic, world: World, role: str) -> None:
    actor = clinic.account(role).actor
    item = trash.trash_series(world.series_ids[1], by=clinic.admin.actor, reason='for the attack')
    rows = snapshot(world.study_id)
    attempts = (
        lambda: trash.trash_study(world.study_id, by=actor, reason='mine'),
        lambda: trash.trash_series(world.series_ids[0], by=actor, reason='mine'),
        lambda: trash.restore(item.id, by=actor),
        lambda: trash.purge(item.id, by=actor),
        lambda: trash.purge_expired(by=actor),
        lambda: trash.move_study(world.study_id, make_patient(f'SEC{role}'), by=actor, reason='mine'),
        lambda: trash.items(by=actor),
        lambda: trash.hold_reason(world.study_id, by=actor),
    )
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
    assert snapshot(world.study_id) == rows
    assert [entry.id for entry in trash.items(by=clinic.admin.actor)] == [item.id]
    with db.reading() as session:
        refusals = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == 'denied:delete-studies', AuditEvent.username == actor.username
            )
        ).all()
    assert len(refusals) == len(attempts)


def test_a_dicom_peer_cannot_delete(clinic: Clinic, world: World) -> None:
    with pytest.raises(NotAllowed):
        trash.trash_study(world.study_id, by=modality('EVIL_SCU'), reason='gone')


def test_an_administrator_must_say_why(clinic: Clinic, world: World) -> None:
    rows = snapshot(world.study_id)
    for reason in ('', ' \n\t '):
        with pytest.raises(InvalidInput):
            trash.trash_study(world.study_id, by=clinic.admin.actor, reason=reason)
        with pytest.raises(InvalidInput):
            trash.trash_series(world.series_ids[0], by=clinic.admin.actor, reason=reason)
    assert snapshot(world.study_id) == rows
    with db.reading() as session:
        assert session.exec(select(TrashItem)).all() == []


def test_a_legal_hold_is_not_got_round_by_moving_the_study_first(clinic: Clinic, world: World) -> None:
    with db.transaction() as session:
        patient = session.get(Patient, world.patient_id)
        assert patient is not None
        patient.legal_hold = True
        session.add(patient)
    with pytest.raises(Conflict):
        trash.move_study(world.study_id, make_patient('SECFREE'), by=clinic.admin.actor, reason='to delete it later')
    with pytest.raises(Conflict):
        trash.trash_study(world.study_id, by=clinic.admin.actor, reason='held')
    with db.reading() as session:
        moved = session.exec(select(AuditEvent).where(col(AuditEvent.action).in_(['study.move', 'study.trash']))).all()
    assert moved == []


@pytest.mark.parametrize('role', OTHER_ROLES)
async def test_the_trash_screen_is_refused_to_other_roles(screens: User, clinic: Clinic, role: str) -> None:
    await sign_in(screens, clinic.account(role))
    await screens.open('/admin/trash')
    await screens.should_see(marker='not-allowed')
    await screens.should_not_see(marker='trash-empty')
