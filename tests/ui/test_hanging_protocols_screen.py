"""The administrator's shared hanging protocols (/admin/hanging-protocols): edit, refuse with the input kept, add,
switch off and delete."""

import json

from nicegui.testing import User

from domain import hanging_protocols
from domain.hanging_protocols import Protocol
from tests.conftest import Clinic


def _shared(clinic: Clinic, name: str) -> Protocol:
    return next(p for p in hanging_protocols.shared(by=clinic.admin.actor) if p.name == name)


async def test_an_admin_edits_a_shipped_protocol(admin: User, clinic: Clinic) -> None:
    hanging_protocols.seed_shipped()
    knee = _shared(clinic, 'MR knee by plane')
    await admin.open('/admin/hanging-protocols')
    admin.find(marker=f'protocol-{knee.id}').click()
    await admin.should_see(marker='protocol-editor')
    admin.find(marker='protocol-pattern').clear().type('knee|genou')
    stages = [{'layout': '1x2', 'viewports': [{'series': {'by': 'plane', 'value': 'sagittal'}, 'preset': 'Wide'}]}]
    admin.find(marker='protocol-stages').clear().type(json.dumps(stages))
    admin.find(marker='protocol-submit').click()
    await admin.should_see('Protocol saved')
    changed = _shared(clinic, 'MR knee by plane')
    assert changed.pattern == 'knee|genou' and changed.changed_by == 'admin1'
    assert [(s.layout, s.viewports[0].preset) for s in changed.stages] == [('1x2', 'Wide')]


async def test_a_refused_edit_says_where_and_keeps_what_was_typed(admin: User, clinic: Clinic) -> None:
    hanging_protocols.seed_shipped()
    chest = _shared(clinic, 'Chest X-ray with prior')
    await admin.open('/admin/hanging-protocols')
    admin.find(marker=f'protocol-{chest.id}').click()
    await admin.should_see(marker='protocol-editor')
    typed = '[{"layout": "1x2", "viewports": [{"preset": "Sunset"}]}]'
    admin.find(marker='protocol-stages').clear().type(typed)
    admin.find(marker='protocol-name').clear().type('Chest radiograph')
    admin.find(marker='protocol-submit').click()
    await admin.should_see('Stage 1: viewport 1: no window preset is called Sunset')
    assert admin.find(marker='protocol-stages').elements.pop().value == typed
    assert admin.find(marker='protocol-name').elements.pop().value == 'Chest radiograph'
    assert _shared(clinic, 'Chest X-ray with prior').stages == chest.stages  # nothing saved

    admin.find(marker='protocol-stages').clear().type('[{"layout": "1x2", "viewports": [')
    admin.find(marker='protocol-submit').click()
    await admin.should_see('The stages are not JSON')


async def test_an_admin_adds_a_shared_protocol_then_switches_it_off_and_deletes_it(admin: User, clinic: Clinic) -> None:
    await admin.open('/admin/hanging-protocols')
    admin.find(marker='protocol-add').click()
    await admin.should_see(marker='protocol-editor')
    admin.find(marker='protocol-name').type('CT abdomen')
    admin.find(marker='protocol-modality').type('ct')
    admin.find(marker='protocol-pattern').type('abdomen')
    admin.find(marker='protocol-submit').click()
    await admin.should_see('Protocol saved')
    made = _shared(clinic, 'CT abdomen')
    assert (made.modality, made.shared, made.active, made.stages[0].layout) == ('CT', True, True, '1x1')

    await admin.should_see(marker=f'protocol-active-{made.id}')
    admin.find(marker=f'protocol-active-{made.id}').click()
    await admin.should_see('Saved')
    assert not _shared(clinic, 'CT abdomen').active
    admin.find(marker=f'protocol-delete-{made.id}').click()
    await admin.should_see('Protocol deleted')
    assert not [p for p in hanging_protocols.shared(by=clinic.admin.actor) if p.name == 'CT abdomen']


async def test_the_admin_menu_links_the_screen(admin: User) -> None:
    await admin.open('/')
    await admin.should_see('Hanging protocols')
