"""The administrator's shared hanging protocols (/admin/hanging-protocols): edit, refuse with the input kept, add,
switch off and delete."""

from nicegui.testing import User

from domain import hanging_protocols, users
from domain.hanging_layout import Protocol
from tests.conftest import Clinic, sign_in


def _shared(clinic: Clinic, name: str) -> Protocol:
    return next(p for p in hanging_protocols.shared(by=clinic.admin.actor) if p.name == name)


def _set(user: User, mark: str, value: object) -> None:
    """Choose in a select (or set a number) as the browser would."""
    user.find(marker=mark).elements.pop().value = value


async def test_an_admin_edits_a_shipped_protocol(admin: User, clinic: Clinic) -> None:
    hanging_protocols.seed_shipped()
    knee = _shared(clinic, 'MR knee by plane')
    await admin.open('/admin/hanging-protocols')
    admin.find(marker=f'protocol-{knee.id}').click()
    await admin.should_see(marker='protocol-editor')
    await admin.should_see(marker='stage-1-viewport-3-value')  # 1x3: sagittal, coronal, axial
    admin.find(marker='protocol-pattern').clear().type('knee|genou')
    _set(admin, 'stage-1-layout', '1x2')
    await admin.should_not_see(marker='stage-1-viewport-3-value')
    _set(admin, 'stage-1-viewport-1-preset', 'Wide')
    admin.find(marker='stage-add').click()
    await admin.should_see(marker='stage-2-viewport-1-by')
    _set(admin, 'stage-2-viewport-1-by', 'description')
    admin.find(marker='stage-2-viewport-1-value').clear().type('PD|proton')
    admin.find(marker='stage-2-viewport-1-cine').click()
    admin.find(marker='protocol-submit').click()
    await admin.should_see('Protocol saved')
    changed = _shared(clinic, 'MR knee by plane')
    assert changed.pattern == 'knee|genou' and changed.changed_by == 'admin1'
    first, second = changed.stages
    assert (first.layout, [(v.series.by, v.series.value, v.preset) for v in first.viewports]) == (
        '1x2',
        [('plane', 'sagittal', 'Wide'), ('plane', 'coronal', '')],
    )
    assert (second.layout, second.viewports[0].series.by, second.viewports[0].series.value) == (
        '1x1',
        'description',
        'PD|proton',
    )
    assert second.viewports[0].cine


async def test_a_refused_edit_says_where_and_keeps_what_was_typed(admin: User, clinic: Clinic) -> None:
    hanging_protocols.seed_shipped()
    chest = _shared(clinic, 'Chest X-ray with prior')
    await admin.open('/admin/hanging-protocols')
    admin.find(marker=f'protocol-{chest.id}').click()
    await admin.should_see(marker='protocol-editor')
    _set(admin, 'stage-2-viewport-2-by', 'plane')
    admin.find(marker='stage-2-viewport-2-value').clear().type('oblique')
    admin.find(marker='protocol-name').clear().type('Chest radiograph')
    admin.find(marker='protocol-submit').click()
    await admin.should_see('Stage 2, viewport 2: the plane is axial, coronal or sagittal')
    assert admin.find(marker='stage-2-viewport-2-value').elements.pop().value == 'oblique'
    assert admin.find(marker='protocol-name').elements.pop().value == 'Chest radiograph'
    assert _shared(clinic, 'Chest X-ray with prior') == chest  # nothing saved

    _set(admin, 'protocol-priors', 0)  # the first stage shows prior 1
    admin.find(marker='stage-2-viewport-2-value').clear().type('axial')
    admin.find(marker='protocol-submit').click()
    await admin.should_see('Stage 1, viewport 2 shows prior 1, but the protocol opens 0')
    assert _shared(clinic, 'Chest X-ray with prior') == chest


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


async def test_shipped_names_are_shown_in_the_readers_language_and_an_admins_own_name_as_typed(
    screens: User, clinic: Clinic
) -> None:
    hanging_protocols.seed_shipped()
    knee = _shared(clinic, 'MR knee by plane')
    users.set_language('ru', by=clinic.admin.actor)
    await sign_in(screens, clinic.admin)
    await screens.open('/admin/hanging-protocols')
    await screens.should_see('МРТ колена по плоскостям', marker=f'protocol-{knee.id}')
    hanging_protocols.rename(knee.id, 'Колено (наш)', by=clinic.admin.actor)
    await screens.open('/admin/hanging-protocols')
    await screens.should_see('Колено (наш)', marker=f'protocol-{knee.id}')
