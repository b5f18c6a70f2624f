"""Hanging protocols in the viewer screen (simulated user): the study opens as its protocol says, stages step with
the buttons and `[` `]`, and a radiologist saves the layout on screen as their own protocol."""

from pathlib import Path

import numpy as np
import pytest
from nicegui.testing import User
from pydicom.uid import generate_uid

from domain import hanging_protocols
from domain.hanging_layout import ProtocolInput, Stage
from domain.models import Study
from tests.conftest import Clinic, sign_in

from .studies import ingest
from .synthetic import write_image


def _chest(clinic: Clinic, folder: Path, date: str, hu: int) -> Study:
    """A CT chest of patient P9 on that day: two slices of `hu` Hounsfield units."""
    study_uid, series_uid = generate_uid(), generate_uid()
    files = [
        write_image(
            folder / f'{study_uid[-8:]}-{n}.dcm',
            np.full((32, 32), 1024 + hu, np.uint16),
            study_uid=study_uid,
            series_uid=series_uid,
            RescaleSlope=1,
            RescaleIntercept=-1024,
            InstanceNumber=n + 1,
            PatientID='P9',
            StudyDate=date,
            StudyDescription='CT CHEST',
            BodyPartExamined='CHEST',
            SeriesNumber=1,
            SeriesDescription='AXIAL LUNG',
        )
        for n in range(2)
    ]
    return ingest(clinic, *files)


@pytest.fixture
async def chest(pages: User, clinic: Clinic, tmp_path: Path) -> tuple[Study, Study]:
    """The shipped protocols; a CT chest and its prior; the radiologist signed in on the viewer of the CT."""
    hanging_protocols.seed_shipped()
    prior = _chest(clinic, tmp_path / 'prior', '20240105', -600)
    study = _chest(clinic, tmp_path / 'now', '20250105', 40)
    await sign_in(pages, clinic.radiologist)
    await pages.open(f'/viewer/{study.id}')
    await pages.should_see(marker='viewer-ready')
    return study, prior


KEY = {'repeat': False, 'code': '', 'location': 0, **dict.fromkeys(('altKey', 'ctrlKey', 'metaKey', 'shiftKey'), False)}


def _key(user: User, name: str) -> None:
    """A key pressed and released over the viewer, as its keyboard element receives them from the browser (the page
    has a second keyboard element, the shortcut sheet's, listening only while a new key is being chosen)."""
    for action in ('keydown', 'keyup'):
        user.find(marker='viewer-keys').trigger('key', {**KEY, 'action': action, 'key': name})


async def test_a_ct_chest_opens_with_its_protocol_and_steps_through_the_stages(
    pages: User, chest: tuple[Study, Study]
) -> None:
    await pages.should_see('CT chest: prior beside, lung and mediastinum')
    await pages.should_see('1/2')
    pages.find(marker='stage-next').click()
    await pages.should_see('2/2')
    _key(pages, '[')
    await pages.should_see('1/2')
    _key(pages, ']')
    await pages.should_see('2/2')


async def test_a_radiologist_saves_the_layout_as_their_own_protocol(
    pages: User, clinic: Clinic, chest: tuple[Study, Study]
) -> None:
    pages.find(marker='protocol-save').click()
    await pages.should_see(marker='protocol-save-dialog')
    pages.find(marker='protocol-name').type('My chest with prior')
    pages.find(marker='protocol-save-submit').click()
    await pages.should_see('Protocol saved')
    own = [p for p in hanging_protocols.own_and_shared(by=clinic.radiologist.actor) if not p.shared]
    assert [(p.name, p.owner_id, p.modality, p.pattern, p.priors) for p in own] == [
        ('My chest with prior', clinic.radiologist.user_id, 'CT', 'chest', 1)
    ]
    (stage,) = own[0].stages
    assert stage.layout == '1x2'
    assert [(v.prior, v.preset, v.series.by, v.series.value) for v in stage.viewports] == [
        (0, 'Lung', 'description', 'AXIAL LUNG'),
        (1, 'Lung', 'description', 'AXIAL LUNG'),
    ]
    await pages.should_see('My chest with prior')  # now the protocol on screen: the user's own comes first


async def test_a_refused_save_keeps_what_was_typed(pages: User, clinic: Clinic, chest: tuple[Study, Study]) -> None:
    pages.find(marker='protocol-save').click()
    await pages.should_see(marker='protocol-save-dialog')
    pages.find(marker='protocol-name').type('Mine')
    pages.find(marker='protocol-modality').clear().type('C T')
    pages.find(marker='protocol-pattern').clear().type('lung|thorax')
    pages.find(marker='protocol-save-submit').click()
    await pages.should_see('A modality code such as CT, or several joined by | (CR|DX)')
    await pages.should_see(marker='protocol-save-dialog')
    assert pages.find(marker='protocol-pattern').elements.pop().value == 'lung|thorax'
    assert pages.find(marker='protocol-modality').elements.pop().value == 'C T'
    assert pages.find(marker='protocol-name').elements.pop().value == 'Mine'
    assert not [p for p in hanging_protocols.own_and_shared(by=clinic.radiologist.actor) if not p.shared]


async def test_a_technician_may_not_save_a_protocol(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    hanging_protocols.seed_shipped()
    study = _chest(clinic, tmp_path, '20250105', 40)
    await sign_in(pages, clinic.technician)
    await pages.open(f'/viewer/{study.id}')
    await pages.should_see(marker='viewer-ready')
    await pages.should_see('CT chest: prior beside, lung and mediastinum')
    await pages.should_not_see(marker='protocol-save')


async def test_a_radiologist_renames_and_deletes_their_own_in_the_viewer(
    pages: User, clinic: Clinic, chest: tuple[Study, Study]
) -> None:
    mine = hanging_protocols.create(
        ProtocolInput(name='Old name', modality='CT', stages=[Stage()]), by=clinic.radiologist.actor
    )
    pages.find(marker='protocol-own').click()
    await pages.should_see(marker='protocol-own-dialog')
    pages.find(marker=f'own-protocol-{mine.id}').clear().type('New name')
    await pages.should_see('Saved')
    assert hanging_protocols.get(mine.id, by=clinic.radiologist.actor).name == 'New name'
    pages.find(marker=f'own-protocol-delete-{mine.id}').click()
    await pages.should_see('Protocol deleted')
    await pages.should_see(marker='protocol-own-empty')
    assert not [p for p in hanging_protocols.own_and_shared(by=clinic.radiologist.actor) if not p.shared]
