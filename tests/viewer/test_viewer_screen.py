"""The viewer screen with the simulated user: layout, tools by role, measurements, key images, priors, tags."""

from pathlib import Path

from nicegui.testing import User

from domain import viewing
from tests.conftest import Clinic, sign_in

from .studies import ct_series, first_instance


async def _open(user: User, clinic: Clinic, role: str, study_id: int) -> None:
    await sign_in(user, clinic.account(role))
    await user.open(f'/viewer/{study_id}')
    await user.should_see(marker='viewer-ready')  # the first series is on screen


async def test_a_radiologist_sees_the_series_strip_tools_and_priors(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    prior = ct_series(clinic, tmp_path / 'prior', slices=2, patient_id='P7')
    study = ct_series(clinic, tmp_path / 'now', slices=3, patient_id='P7')
    await _open(pages, clinic, 'radiologist', study.id)
    await pages.should_see(marker='series-strip')
    await pages.should_see(marker='tool-length')
    await pages.should_see(marker='tags')
    await pages.should_see(marker=f'prior-{prior.id}')


async def test_a_technician_views_but_has_no_measuring_tools(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=2)
    await _open(pages, clinic, 'technician', study.id)
    await pages.should_see(marker='tool-wl')
    await pages.should_not_see(marker='tool-length')
    await pages.should_not_see(marker='tags')


async def test_a_length_drawn_on_the_canvas_is_saved_in_millimetres(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = ct_series(clinic, tmp_path, slices=3, spacing=(0.5, 0.5))
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='viewport-0').trigger('measure', {'kind': 'length', 'index': 1, 'points': [[10, 10], [40, 50]]})
    await pages.should_see('25.0 mm')  # 30 × 40 pixels of 0.5 mm
    saved = viewing.measurements(study.id, by=clinic.admin.actor)
    assert [(m.kind, round(m.value, 3), m.unit, m.frame, m.created_by) for m in saved] == [
        ('length', 25.0, 'mm', 1, 'radiologist1')
    ]
    _series, instance = first_instance(study)
    assert saved[0].instance_id != instance.id  # the second image of the series, where it was drawn


async def test_an_ellipse_roi_on_ct_reports_hounsfield_units(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='viewport-0').trigger('measure', {'kind': 'ellipse', 'index': 0, 'points': [[20, 20], [44, 44]]})
    await pages.should_see('mean 40.0 ± 0.0 HU')
    saved = viewing.measurements(study.id, by=clinic.admin.actor)[0]
    assert saved.stats['mean'] == 40.0 and saved.unit == 'mm²'


async def test_a_key_image_is_marked_from_the_toolbar(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=2)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='key-image').click()
    await pages.should_see('Key images: 1')
    assert len(viewing.key_images(study.id, by=clinic.admin.actor)) == 1


async def test_the_tag_browser_lists_the_header(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='tags').click()
    await pages.should_see(marker='tag-table')
    await pages.should_see(marker='tag-filter')


async def test_the_shortcut_sheet_opens_with_question_mark_button(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='shortcuts').click()
    await pages.should_see('Window / level')


async def test_a_study_that_is_not_on_file_says_so(pages: User, clinic: Clinic) -> None:
    await sign_in(pages, clinic.radiologist)
    await pages.open('/viewer/4242')
    await pages.should_see(marker='viewer-unavailable')
