"""Reading comfort and linked comparison on the viewer screen (simulated user): the doctor's own shortcuts, next
unread study, full-screen reading, series loading bars, the link toggles and "Compare with…"."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nicegui import ElementFilter, ui
from nicegui.testing import User
from pydicom.uid import generate_uid
from sqlmodel import select

from domain import clock, db, viewer_preferences, viewing
from domain.models import Series, Study
from jobs import media
from tests.conftest import Clinic, eventually, sign_in
from ui.viewer_canvas import ViewerCanvas

from .studies import ct_series, ingest
from .synthetic import write_image


async def _open(user: User, clinic: Clinic, role: str, study_id: int) -> None:
    await sign_in(user, clinic.account(role))
    await user.open(f'/viewer/{study_id}')
    await user.should_see(marker='viewer-ready')


def _press(user: User, marker: str, key: str, *, ctrl: bool = False) -> None:
    user.find(marker=marker).trigger(
        'key',
        {
            'action': 'keydown',
            'repeat': False,
            'altKey': False,
            'ctrlKey': ctrl,
            'metaKey': False,
            'shiftKey': key.isupper(),
            'key': key,
            'code': '',
            'location': 0,
        },
    )


def _one(user: User, marker: str) -> Any:
    (element,) = user.find(marker=marker).elements
    return element


def _canvas(user: User, n: int = 0) -> ViewerCanvas:
    return _one(user, f'viewport-{n}')


def _key_shown(user: User, action: str) -> str:
    return _one(user, f'shortcut-key-{action}').text


# ---------------------------------------------------------------- shortcuts


async def test_a_changed_shortcut_is_saved_for_the_user_and_used_by_the_viewer(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = ct_series(clinic, tmp_path, slices=2)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='shortcuts').click()
    await pages.should_see(marker='shortcut-sheet')
    pages.find(marker='shortcut-change-invert').click()
    await eventually(lambda: _key_shown(pages, 'invert') == 'Press a key…', 'waiting for a key for invert')
    _press(pages, 'shortcut-capture', 'j')
    await eventually(lambda: _key_shown(pages, 'invert') == 'J', 'J shown for invert')
    pages.find(marker='shortcuts-save').click()
    doctor = clinic.radiologist
    await eventually(
        lambda: viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {'invert': 'j'}, 'the change kept'
    )
    pages.find(marker='shortcuts-close').click()

    _press(pages, 'viewer-keys', 'i')  # the old key does nothing now
    _press(pages, 'viewer-keys', 'j')
    await eventually(lambda: _canvas(pages).prop('invert') is True, 'J inverts')
    _press(pages, 'viewer-keys', 'j')
    await eventually(lambda: _canvas(pages).prop('invert') is False, 'J inverts back')


async def test_a_key_another_action_has_is_refused_and_the_other_changes_are_kept(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='shortcuts').click()
    pages.find(marker='shortcut-change-rotate').click()
    await eventually(lambda: _key_shown(pages, 'rotate') == 'Press a key…', 'waiting for a key for rotate')
    _press(pages, 'shortcut-capture', 'g')
    await eventually(lambda: _key_shown(pages, 'rotate') == 'G', 'G shown for rotate')

    pages.find(marker='shortcut-change-invert').click()
    await eventually(lambda: _key_shown(pages, 'invert') == 'Press a key…', 'waiting for a key for invert')
    _press(pages, 'shortcut-capture', 'f')
    await pages.should_see('F is already the key for “Fit to viewport”')
    assert _key_shown(pages, 'invert') == 'Press a key…'  # still waiting for another key
    assert _key_shown(pages, 'rotate') == 'G' and _key_shown(pages, 'fit') == 'F'
    _press(pages, 'shortcut-capture', 'ArrowUp')
    await pages.should_see('ArrowUp is kept by the viewer; choose another key')
    _press(pages, 'shortcut-capture', 'I')  # Shift + I
    await eventually(lambda: _key_shown(pages, 'invert') == 'Shift + I', 'Shift + I shown for invert')
    pages.find(marker='shortcuts-save').click()
    doctor = clinic.radiologist
    await eventually(
        lambda: viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {'rotate': 'g', 'invert': 'I'},
        'both changes kept',
    )


async def test_reset_brings_back_the_default_keys(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    doctor = clinic.radiologist
    viewer_preferences.save_shortcuts(doctor.user_id, {'invert': 'j'}, by=doctor.actor)
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    _press(pages, 'viewer-keys', 'i')
    _press(pages, 'viewer-keys', 'j')  # the saved key works from the start
    await eventually(lambda: _canvas(pages).prop('invert') is True, 'J inverts')
    pages.find(marker='shortcuts').click()
    await eventually(lambda: _key_shown(pages, 'invert') == 'J', 'J shown for invert')
    pages.find(marker='shortcuts-reset').click()
    await eventually(lambda: viewer_preferences.shortcuts(doctor.user_id, by=doctor.actor) == {}, 'nothing kept')
    await eventually(lambda: _key_shown(pages, 'invert') == 'I', 'I shown for invert again')
    # The record is written before the viewer takes the keys back (the save's answer reaches the page after it):
    # the notice says the viewer has them.
    await pages.should_see('Shortcuts are back to the defaults')
    pages.find(marker='shortcuts-close').click()
    _press(pages, 'viewer-keys', 'i')
    await eventually(lambda: _canvas(pages).prop('invert') is False, 'I inverts again')


async def test_another_users_shortcuts_are_not_this_users(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    doctor = clinic.radiologist
    viewer_preferences.save_shortcuts(doctor.user_id, {'invert': 'j'}, by=doctor.actor)
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'technician', study.id)
    _press(pages, 'viewer-keys', 'j')
    _press(pages, 'viewer-keys', 'i')
    await eventually(lambda: _canvas(pages).prop('invert') is True, 'I inverts for the technician')


# ---------------------------------------------------------------- next unread, full screen, loading bars


def _ready(study: Study, *, minutes_ago: int) -> None:
    with db.transaction() as session:
        row = session.get(Study, study.id)
        assert row is not None
        row.state, row.first_arrival = 'ready', clock.now() - timedelta(minutes=minutes_ago)
        session.add(row)


async def test_next_unread_opens_the_next_study_of_the_worklist_and_says_when_none_is_left(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    first = ct_series(clinic, tmp_path / 'a', slices=1, patient_id='A')
    second = ct_series(clinic, tmp_path / 'b', slices=1, patient_id='B')
    _ready(first, minutes_ago=60)
    _ready(second, minutes_ago=30)
    await _open(pages, clinic, 'radiologist', first.id)
    pages.find(marker='next-unread').click()
    await eventually(lambda: pages.back_history[-1] == f'/viewer/{second.id}', 'the second study opened')
    await pages.should_see(marker='viewer-ready')
    _press(pages, 'viewer-keys', 'N')  # Shift + N: from the second, round to the first (still unread)
    await eventually(lambda: pages.back_history[-1] == f'/viewer/{first.id}', 'the first study again')


async def test_the_last_unread_study_says_none_is_left(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    only = ct_series(clinic, tmp_path, slices=1)
    _ready(only, minutes_ago=10)
    await _open(pages, clinic, 'radiologist', only.id)
    pages.find(marker='next-unread').click()
    await pages.should_see('No other study waits to be read')


async def test_full_screen_reading_toggles_with_the_button_shift_f_and_escape(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    viewer_screen = _one(pages, 'full-screen')
    pages.find(marker='full-screen').click()
    await eventually(lambda: 'fullscreen_exit' in str(viewer_screen.props.get('icon')), 'reading mode on')
    _press(pages, 'viewer-keys', 'Escape')
    await eventually(lambda: viewer_screen.props.get('icon') == 'fullscreen', 'reading mode off')
    _press(pages, 'viewer-keys', 'F')
    await eventually(lambda: viewer_screen.props.get('icon') == 'fullscreen_exit', 'Shift + F: on again')


async def test_moving_to_another_screen_ends_reading_mode(
    pages: User, clinic: Clinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page stays when the doctor moves on (ui.sub_pages), and so would its body's class hiding the shell."""
    study = ct_series(clinic, tmp_path, slices=1)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='full-screen').click()
    await eventually(lambda: 'fullscreen_exit' in str(_one(pages, 'full-screen').props.get('icon')), 'reading mode')
    sent: list[str] = []
    run = ui.run_javascript
    monkeypatch.setattr(ui, 'run_javascript', lambda code, **kwargs: sent.append(code) or run(code, **kwargs))
    page = pages.client
    pages.navigate.to('/reading')
    await eventually(
        lambda: any("classList.remove('reading-mode')" in code and 'exitFullscreen' in code for code in sent),
        'the shell shown again and the full screen left',
    )
    assert pages.client is page


async def test_the_series_card_shows_loading_progress_until_every_frame_is_in(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = ct_series(clinic, tmp_path, slices=4)
    await _open(pages, clinic, 'radiologist', study.id)
    series_id = study_series_id(study)
    assert pages.client is not None
    with pages.client:  # hidden until its series loads: the user's find() sees visible elements only
        (bar,) = ElementFilter(marker=f'series-progress-{series_id}', only_visible=False)
    pages.find(marker='viewport-0').trigger('progress', {'loaded': 1, 'total': 4})
    await eventually(lambda: bar.visible and bar.value == 0.25, 'a quarter loaded')
    pages.find(marker='viewport-0').trigger('progress', {'loaded': 4, 'total': 4})
    await eventually(lambda: not bar.visible and bar.value == 1.0, 'full, then hidden')


def study_series_id(study: Study) -> int:
    with db.reading() as session:
        series = session.exec(select(Series).where(Series.study_id == study.id)).one()
    return series.id or 0


# ---------------------------------------------------------------- linked comparison

FRAME = '1.2.826.0.1.3680043.2.1125.99'


def _two_spacings(clinic: Clinic, tmp: Path) -> Study:
    """One study, two series of one frame of reference: 6 slices 2 mm apart from z 0, and 4 slices 5 mm apart
    from z 3 (series numbers 1 and 2). By index fraction the left's last slice would pair with the right's last."""
    study_uid = generate_uid()
    files = []
    for number, levels in ((1, [2.0 * n for n in range(6)]), (2, [3.0 + 5.0 * n for n in range(4)])):
        series_uid = generate_uid()
        for n, z in enumerate(levels):
            files.append(
                write_image(
                    tmp / f'{number}-{n}.dcm',
                    np.full((16, 16), 1000 + int(z * 10), np.uint16),
                    study_uid=study_uid,
                    series_uid=series_uid,
                    SeriesNumber=number,
                    InstanceNumber=n + 1,
                    ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                    ImagePositionPatient=[0, 0, z],
                    FrameOfReferenceUID=FRAME,
                )
            )
    return ingest(clinic, *files)


async def _side_by_side(pages: User, clinic: Clinic, study: Study) -> tuple[Any, Any]:
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='layout-2').click()
    view = viewing.open_study(study.id or 0, by=clinic.admin.actor)
    pages.find(marker='viewport-1').trigger('activate')
    pages.find(marker=f'series-{view.series[1].id}').click()
    await eventually(lambda: viewer_of(pages).viewports[1].series is not None, 'the 5 mm series on the right')
    return viewer_of(pages).viewports[0], viewer_of(pages).viewports[1]


def viewer_of(pages: User) -> Any:
    """The open Viewer (through the canvas's event handler, which closes over it)."""
    canvas = _canvas(pages, 0)
    for listener in canvas._event_listeners.values():
        for cell in listener.handler.__closure__ or ():
            if type(cell.cell_contents).__name__ == 'Viewer':
                return cell.cell_contents
    raise AssertionError('no viewer found')


async def test_linked_scroll_lands_on_the_slice_at_the_same_position_not_the_same_index(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = _two_spacings(clinic, tmp_path)
    left, right = await _side_by_side(pages, clinic, study)
    pages.find(marker='link').click()
    for index, expected in ((5, 1), (0, 0), (4, 1), (2, 0)):  # z 10 -> 8, z 0 -> 3, z 8 -> 8, z 4 -> 3
        pages.find(marker='viewport-0').trigger('index', index)
        await eventually(lambda e=expected: right.index == e, f'left at {index}: right at {expected}')
    pages.find(marker='viewport-1').trigger('index', 3)  # z 18: the left's nearest is z 10
    await eventually(lambda: left.index == 5, 'the left follows the right')


async def test_the_scroll_and_window_links_switch_off_each_on_its_own(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = _two_spacings(clinic, tmp_path)
    left, right = await _side_by_side(pages, clinic, study)
    pages.find(marker='link').click()
    pages.find(marker='viewport-0').trigger('window', [100, 200])
    await eventually(lambda: right.window == [100.0, 200.0], 'the window followed')
    pages.find(marker='link-wl').click()  # window / level link off
    pages.find(marker='viewport-0').trigger('window', [300, 50])
    pages.find(marker='viewport-0').trigger('index', 5)
    await eventually(lambda: right.index == 1, 'scroll still linked')
    assert left.window == [300.0, 50.0] and right.window == [100.0, 200.0]
    pages.find(marker='link-scroll').click()  # scroll link off
    pages.find(marker='viewport-0').trigger('index', 0)
    await eventually(lambda: left.index == 0, 'the left scrolled')
    pages.find(marker='viewport-0').trigger('window', [40, 400])  # a round trip after the scroll
    await eventually(lambda: left.window == [40.0, 400.0], 'the left windowed')
    assert right.index == 1


async def test_zoom_and_pan_follow_relative_to_the_fitted_image_until_that_link_is_off(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    study = _two_spacings(clinic, tmp_path)
    _left, right = await _side_by_side(pages, clinic, study)
    applied: list[dict[str, float]] = []
    right.canvas.apply_view = applied.append  # what the right canvas is told to show
    pages.find(marker='viewport-0').trigger('viewChange', {'zoom': 2.5, 'panX': 0.1, 'panY': -0.2})
    assert applied == []  # not linked yet
    pages.find(marker='link').click()
    pages.find(marker='viewport-0').trigger('viewChange', {'zoom': 2.5, 'panX': 0.1, 'panY': -0.2})
    await eventually(lambda: applied == [{'zoom': 2.5, 'panX': 0.1, 'panY': -0.2}], 'the right zoomed and panned')
    pages.find(marker='link-zoom').click()  # zoom / pan link off
    pages.find(marker='viewport-0').trigger('viewChange', {'zoom': 4.0, 'panX': 0, 'panY': 0})
    pages.find(marker='viewport-0').trigger('window', [10, 20])  # a round trip after the view change
    await eventually(lambda: right.window == [10.0, 20.0], 'the window still linked')
    assert len(applied) == 1


async def test_compare_with_lists_the_priors_and_opens_one_beside_linked(
    pages: User, clinic: Clinic, tmp_path: Path
) -> None:
    prior = ct_series(clinic, tmp_path / 'prior', slices=3, patient_id='P9')
    study = ct_series(clinic, tmp_path / 'now', slices=3, patient_id='P9')
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='compare-with').click()
    pages.find(marker=f'compare-{prior.id}').click()
    await eventually(lambda: viewer_of(pages).viewports[1].study is not None, 'the prior beside')
    viewer = viewer_of(pages)
    assert viewer.viewports[1].study.id == prior.id and viewer.layout == 2 and viewer.linked
    pages.find(marker='viewport-0').trigger('index', 2)
    await eventually(lambda: viewer.viewports[1].index == 2, 'the prior follows (same fraction)')


def test_the_index_holds_each_slices_geometry_once_the_metadata_job_has_run(clinic: Clinic, tmp_path: Path) -> None:
    study = _two_spacings(clinic, tmp_path)
    before = viewing.open_study(study.id or 0, by=clinic.admin.actor)
    assert before.series[1].instances[0].geometry.position is None  # read from the headers until then
    for series in before.series:
        media.extract_series_metadata(series.id)
    after = viewing.open_study(study.id or 0, by=clinic.admin.actor).series[1].instances
    assert [i.geometry.position for i in after] == [(0.0, 0.0, 3.0 + 5 * n) for n in range(4)]
    assert {i.geometry.frame_of_reference for i in after} == {FRAME}


async def test_three_viewports_side_by_side_by_button_and_by_key(pages: User, clinic: Clinic, tmp_path: Path) -> None:
    study = ct_series(clinic, tmp_path, slices=2)
    await _open(pages, clinic, 'radiologist', study.id)
    pages.find(marker='layout-3').click()
    await eventually(lambda: viewer_of(pages).layout == 3, 'the 1x3 layout by its button')
    assert [viewport.box.visible for viewport in viewer_of(pages).viewports] == [True, True, True, False]
    _press(pages, 'viewer-keys', '1')
    await eventually(lambda: viewer_of(pages).layout == 1, 'one viewport by key')
    _press(pages, 'viewer-keys', '3')
    await eventually(lambda: viewer_of(pages).layout == 3, 'three viewports by key')
