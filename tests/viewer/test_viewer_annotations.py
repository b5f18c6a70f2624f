"""Annotations in the viewer screen with the simulated user: a label asked for and saved, moved by its handle,
rewritten and deleted by its author; a colleague sees it without the buttons."""

from pathlib import Path

from nicegui.testing import User

from domain import annotations, viewing
from domain.annotations import ARROW, TEXT
from tests.conftest import Clinic, eventually, sign_in

from .studies import ct_series


async def _open(user: User, clinic: Clinic, role: str, study_id: int) -> None:
    await sign_in(user, clinic.account(role))
    await user.open(f'/viewer/{study_id}')
    await user.should_see(marker='viewer-ready')


async def test_a_label_is_written_moved_rewritten_and_deleted(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=2)
    await _open(pages, clinic, 'technician', study.id or 0)
    await pages.should_see(marker='tool-arrow')
    await pages.should_see(marker='tool-text')

    pages.find(marker='viewport-0').trigger('annotate', {'kind': 'text', 'index': 1, 'points': [[12.5, 20]]})
    await pages.should_see(marker='annotation-dialog')
    pages.find(marker='annotation-text').type('calcification')
    pages.find(marker='annotation-save').click()
    await pages.should_see(marker='annotation-row')
    (label,) = annotations.of_study(study.id or 0, by=clinic.admin.actor)
    assert (label.kind, label.points, label.text, label.created_by) == (
        TEXT,
        [[12.5, 20.0]],
        'calcification',
        'technician1',
    )

    pages.find(marker='viewport-0').trigger('annotationMove', {'id': label.id, 'points': [[30, 31]]})
    await eventually(
        lambda: annotations.of_study(study.id or 0, by=clinic.admin.actor)[0].points == [[30.0, 31.0]], 'the move'
    )

    pages.find(marker=f'annotation-edit-{label.id}').click()
    await pages.should_see(marker='annotation-dialog')
    pages.find(marker='annotation-text').clear().type('stone')
    pages.find(marker='annotation-save').click()
    await eventually(lambda: annotations.of_study(study.id or 0, by=clinic.admin.actor)[0].text == 'stone', 'the text')
    await pages.should_see(marker=f'annotation-{label.id}')
    await pages.should_see('changed by technician1')

    pages.find(marker=f'annotation-delete-{label.id}').click()
    await pages.should_not_see(marker='annotation-row')
    assert annotations.of_study(study.id or 0, by=clinic.admin.actor) == []


async def test_a_colleague_sees_an_arrow_without_its_buttons(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    instance_id = viewing.open_study(study.id or 0, by=clinic.admin.actor).series[0].instances[0].id
    arrow = annotations.add(study.id or 0, instance_id, 1, ARROW, [[1, 1], [30, 30]], by=clinic.technician.actor)
    await _open(pages, clinic, 'radiologist', study.id or 0)
    await pages.should_see(marker=f'annotation-{arrow.id}')
    await pages.should_see(marker='annotations-gsps')
    await pages.should_not_see(marker=f'annotation-edit-{arrow.id}')
    await pages.should_not_see(marker=f'annotation-delete-{arrow.id}')
