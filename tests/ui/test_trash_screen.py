"""Deleting a wrong study or series from the study card, moving it to another patient, and the /admin/trash screen."""

import pytest
from nicegui.testing import User

from dicom import storage
from domain import db, patients, trash
from domain.access import system
from domain.models import PatientCreate, Study
from tests.conftest import Clinic
from tests.trash_fixtures import World, make_world, series_row, study_row


@pytest.fixture
def world(clinic: Clinic) -> World:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    return make_world(clinic.data_dir, clinic.radiologist.user_id)


async def test_an_admin_deletes_a_study_with_a_reason_and_it_waits_in_the_trash(
    admin: User, clinic: Clinic, world: World
) -> None:
    await admin.open('/studies')
    await admin.should_see(marker=f'remove-{world.study_id}')
    admin.find(marker=f'remove-{world.study_id}').click()
    await admin.should_see(marker='delete-study')
    admin.find(marker='delete-study').click()
    await admin.should_see(marker='confirm-removal')
    admin.find(marker='confirm-removal').click()
    await admin.should_see('Say why (a reason is required)')
    assert study_row(world.study_id) is not None

    admin.find(marker='removal-reason').type('Sent to us by mistake')
    admin.find(marker='confirm-removal').click()
    await admin.should_see('Moved to the trash; an administrator can restore it there')
    assert study_row(world.study_id) is None
    await admin.should_not_see(marker=f'study-{world.study_id}')

    await admin.open('/admin/trash')
    [entry] = trash.items(by=clinic.admin.actor)
    await admin.should_see(marker=f'trash-item-{entry.id}')
    await admin.should_see('Sent to us by mistake')
    await admin.should_see(clinic.admin.username)
    assert admin.find(marker=f'days-left-{entry.id}').elements.pop().text == '30'


async def test_an_admin_deletes_one_series_of_a_study(admin: User, world: World) -> None:
    await admin.open('/studies')
    await admin.should_see(marker=f'remove-{world.study_id}')
    admin.find(marker=f'remove-{world.study_id}').click()
    await admin.should_see(marker=f'delete-series-{world.series_ids[1]}')
    admin.find(marker=f'delete-series-{world.series_ids[1]}').click()
    await admin.should_see(marker='removal-reason')
    admin.find(marker='removal-reason').type('Dose report of another patient')
    admin.find(marker='confirm-removal').click()
    await admin.should_see('Moved to the trash; an administrator can restore it there')
    assert series_row(world.series_ids[1]) is None
    study = study_row(world.study_id)
    assert study is not None and study.num_series == 1


async def test_a_study_under_legal_hold_shows_its_delete_disabled_with_the_reason(admin: User, world: World) -> None:
    with db.transaction() as session:
        study = session.get(Study, world.study_id)
        assert study is not None
        study.legal_hold = True
        session.add(study)
    await admin.open('/studies')
    await admin.should_see(marker=f'remove-{world.study_id}')
    admin.find(marker=f'remove-{world.study_id}').click()
    await admin.should_see(marker='legal-hold-reason')
    await admin.should_see('This study is under legal hold: it cannot be deleted')
    assert not admin.find(marker='delete-study').elements.pop().enabled
    assert not admin.find(marker=f'delete-series-{world.series_ids[0]}').elements.pop().enabled
    assert not admin.find(marker='move-study').elements.pop().enabled


async def test_an_admin_moves_a_study_to_the_right_patient(admin: User, world: World) -> None:
    right = patients.register(
        PatientCreate(family_name='Sokolova', given_name='Vera', birth_date='1980-02-03'), by=system('test')
    ).id
    await admin.open('/studies')
    await admin.should_see(marker=f'remove-{world.study_id}')
    admin.find(marker=f'remove-{world.study_id}').click()
    await admin.should_see(marker='move-study')
    admin.find(marker='move-study').click()
    await admin.should_see(marker='move-reason')
    admin.find(marker='move-reason').type('Matched by a reused Patient ID')
    admin.find(marker='assign-search').type('Sokolova')
    await admin.should_see(marker='patient-choice')
    admin.find(marker='patient-choice').click()
    await admin.should_see('Study moved')
    study = study_row(world.study_id)
    assert study is not None and study.patient_ref_id == right


async def test_the_trash_restores_an_item_and_deletes_another_for_good(
    admin: User, clinic: Clinic, world: World
) -> None:
    kept = trash.trash_series(world.series_ids[0], by=clinic.admin.actor, reason='restore me')
    gone = trash.trash_series(world.series_ids[1], by=clinic.admin.actor, reason='purge me')
    await admin.open('/admin/trash')
    await admin.should_see(marker=f'restore-{kept.id}')
    admin.find(marker=f'restore-{kept.id}').click()
    await admin.should_see('Restored')
    assert series_row(world.series_ids[0]) is not None

    await admin.should_see(marker=f'purge-{gone.id}')  # the list is drawn again after the restore
    admin.find(marker=f'purge-{gone.id}').click()
    await admin.should_see(marker='confirm-purge')
    admin.find(marker='confirm-purge').click()
    await admin.should_see('Deleted for good')
    await admin.should_see(marker='trash-empty')
    assert trash.items(by=clinic.admin.actor) == []


async def test_a_technician_sees_no_delete_on_the_study_card(technician: User, world: World) -> None:
    await technician.open('/studies')
    await technician.should_see(marker=f'study-{world.study_id}')
    await technician.should_not_see(marker=f'remove-{world.study_id}')
