"""The viewer's tools in real chromium, proven on the canvas's pixels: zoom, pan, flip, rotate, invert, 1x2 and
2x2 layouts with another series or a prior, cine and linked scroll.

Every image is a known, asymmetric pattern (128 x 128): a wide white bar in one corner and a square patch whose
grey level tells the slice (see `_pattern`), so where the bar lands proves a transform and the patch's grey level
proves which slice a viewport shows.
"""

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.canvas import Box, Snapshot, near, pointer, snapshot, wait_for_picture, wheel
from tests.browser.conftest import ADMIN_PASSWORD, Served, headless_chromium, log_in, marker, wait_for
from tests.conftest import WAIT_S, wait_until
from tests.viewer.synthetic import write_image

pytestmark = pytest.mark.browser

SIZE, SLICES = 128, 6
BAR = (16, 16, 56, 32)  # left, top, right, bottom in image pixels: wide, in the top-left corner
PATCH = (72, 72, 104, 104)  # grey level 25.5 * (slice + 1) after the window
STUDY_UID, PRIOR_UID = '1.2.826.0.1.3680043.2.1125.171', '1.2.826.0.1.3680043.2.1125.172'


def _pattern(n: int, *, turned: bool) -> np.ndarray:
    """Slice n: the bar saturates white, the patch is 100 + 100 n on a black ground (window 500 / 1000).

    `turned` is the same picture turned by 180 degrees: bar bottom-right, patch top-left."""
    pixels = np.zeros((SIZE, SIZE), np.uint16)
    pixels[BAR[1] : BAR[3], BAR[0] : BAR[2]] = 3000
    pixels[PATCH[1] : PATCH[3], PATCH[0] : PATCH[2]] = 100 + 100 * n
    return np.rot90(pixels, 2) if turned else pixels


def _turned(region: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    left, top, right, bottom = region
    return SIZE - right, SIZE - bottom, SIZE - left, SIZE - top


def _series(folder: Path, study_uid: str, number: int, description: str, date: str, *, turned: bool) -> list[Path]:
    series_uid = f'{study_uid}.{number}'
    return [
        write_image(
            folder / f'{series_uid}-{n}.dcm',
            _pattern(n, turned=turned),
            study_uid=study_uid,
            series_uid=series_uid,
            InstanceNumber=n + 1,
            SeriesNumber=number,
            SeriesDescription=description,
            StudyDate=date,
            StudyDescription=f'tools {date}',
            WindowCenter=500,
            WindowWidth=1000,
        )
        for n in range(SLICES)
    ]


@pytest.fixture(scope='module')
def study(served: Served, tmp_path_factory: pytest.TempPathFactory) -> str:
    """This study (pattern A, pattern B) and its prior (pattern B) pushed by storescu; the viewer's address."""
    folder = tmp_path_factory.mktemp('tools')
    files = [
        *_series(folder, STUDY_UID, 1, 'pattern A', '20261201', turned=False),
        *_series(folder, STUDY_UID, 2, 'pattern B', '20261201', turned=True),
        *_series(folder, PRIOR_UID, 1, 'prior B', '20251201', turned=True),
    ]
    served.push('TOOLSTEST', files)

    def both_arrived() -> bool:
        found = httpx.get(f'{served.url}/dicomweb/studies', auth=('admin', ADMIN_PASSWORD), timeout=5)
        return found.status_code == 200 and len(found.json()) == 2

    wait_until(both_arrived, 'the study and its prior')
    return f'{served.url}/viewer/1'  # the first study to arrive is this one


@pytest.fixture(scope='module')
def signed_in(served: Served) -> Iterator[Any]:
    """One headless chromium for the whole module, signed in as the admin."""
    driver = headless_chromium()
    try:
        log_in(driver, served.url)
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(signed_in: Any, study: str) -> Any:
    """The viewer freshly opened on this study, showing pattern A's first slice fitted in one viewport."""
    signed_in.get(study)
    wait_for_picture(signed_in, _viewport(signed_in, 0), _shows_a, 'pattern A fitted in viewport 0')
    return signed_in


def _viewport(browser: Any, n: int) -> Any:
    return wait_for(browser, marker(f'viewport-{n}'))


# The toolbar's buttons by what a person sees on them (NiceGUI's .mark() does not reach the DOM).
BUTTONS = {
    'flip-h': '//button[.//i[normalize-space()="swap_horiz"]]',
    'flip-v': '//button[not(ancestor::*[contains(@class, "q-btn-group")])][.//i[normalize-space()="swap_vert"]]',
    'rotate': '//button[.//i[normalize-space()="rotate_right"]]',
    'invert': '//button[.//i[normalize-space()="invert_colors"]]',
    'cine': '//button[.//i[normalize-space()="play_arrow" or normalize-space()="pause"]]',
    'play': '//button[.//i[normalize-space()="play_arrow"]]',
    'key-image': '//button[.//i[normalize-space()="star_border"]]',
    'layout-2': '//*[contains(@class, "q-btn-group")]//button[normalize-space()="2"]',
    'layout-4': '//*[contains(@class, "q-btn-group")]//button[normalize-space()="4"]',
    'link': '//*[contains(@class, "q-checkbox")][.//*[normalize-space()="Link"]]',
    'tool-zoom': '//*[@data-testid="tool-zoom"]',
    'tool-pan': '//*[@data-testid="tool-pan"]',
}


def _find(browser: Any, name: str) -> Any:
    return WebDriverWait(browser, WAIT_S).until(expected_conditions.element_to_be_clickable((By.XPATH, BUTTONS[name])))


def _click(browser: Any, name: str) -> None:
    _find(browser, name).click()


def _slice_of(shot: Snapshot, *, turned: bool = False) -> int:
    """Which slice the patch's grey level says the viewport shows."""
    patch = shot.fitted(SIZE, SIZE, _turned(PATCH) if turned else PATCH).inset(0.2)
    return round(shot.mean(patch) / 25.5) - 1


def _shows(shot: Snapshot, *, turned: bool) -> bool:
    """The fitted, unturned pattern (A, or B when `turned`), its bar where it belongs and its patch telling the
    slice the canvas says it drew."""
    box, expected = shot.bright_box(), shot.fitted(SIZE, SIZE, _turned(BAR) if turned else BAR)
    tolerance = 2 * shot.step + 2
    return (
        box is not None
        and all(near(a, b, tolerance) for a, b in zip(_edges(box), _edges(expected), strict=True))
        and _slice_of(shot, turned=turned) == shot.index
    )


def _shows_a(shot: Snapshot) -> bool:
    return _shows(shot, turned=False)


def _shows_b(shot: Snapshot) -> bool:
    return _shows(shot, turned=True)


def _at(n: int, shows: Callable[[Snapshot], bool]) -> Callable[[Snapshot], bool]:
    """The viewport drew slice n, and its pixels say so."""
    return lambda shot: shot.index == n and shows(shot)


def _beside(left: Any, right: Any) -> bool:
    """Two viewports in one row, the second to the right of the first."""
    return (
        near(left.location['y'], right.location['y'], 2)
        and right.location['x'] >= left.location['x'] + 0.9 * (left.size['width'])
    )


def _edges(box: Box) -> tuple[float, float, float, float]:
    return box.left, box.top, box.right, box.bottom


def _bar(shot: Snapshot) -> Box:
    box = shot.bright_box()
    assert box is not None, shot.describe()
    return box


def _series_card(browser: Any, description: str) -> Any:
    return WebDriverWait(browser, WAIT_S).until(
        lambda b: b.find_element(
            By.XPATH, f'//*[contains(@class, "series-card")][.//*[contains(text(), "{description}")]]'
        )
    )


def _wait_linked(browser: Any) -> None:
    WebDriverWait(browser, WAIT_S).until(
        lambda b: b.find_element(By.XPATH, BUTTONS['link']).get_attribute('aria-checked') == 'true'
    )


# ---------------------------------------------------------------- one viewport


def test_flip_mirrors_the_image(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    shot = snapshot(browser, canvas)
    before, width, height = _bar(shot), shot.width, shot.height
    tolerance = 2 * 3 + 2

    _click(browser, 'flip-h')
    wait_for_picture(
        browser,
        canvas,
        lambda shot: (
            (box := shot.bright_box()) is not None
            and near(box.left, width - before.right, tolerance)
            and near(box.right, width - before.left, tolerance)
            and near(box.top, before.top, tolerance)
        ),
        'the bar mirrored to the top-right corner',
    )

    _click(browser, 'flip-v')
    wait_for_picture(
        browser,
        canvas,
        lambda shot: (
            (box := shot.bright_box()) is not None
            and near(box.left, width - before.right, tolerance)
            and near(box.top, height - before.bottom, tolerance)
            and near(box.bottom, height - before.top, tolerance)
        ),
        'the bar mirrored again, to the bottom-right corner',
    )


def test_rotate_turns_the_image_a_quarter_clockwise(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    shot = snapshot(browser, canvas)
    before, (cx, cy) = _bar(shot), (shot.width / 2, shot.height / 2)
    tolerance = 2 * 3 + 2

    _click(browser, 'rotate')
    # clockwise about the centre: (x, y) -> (cx - (y - cy), cy + (x - cx)); the wide bar stands up, top-right
    after = wait_for_picture(
        browser,
        canvas,
        lambda s: (
            (box := s.bright_box()) is not None
            and near(box.left, cx - (before.bottom - cy), tolerance)
            and near(box.right, cx - (before.top - cy), tolerance)
            and near(box.top, cy + (before.left - cx), tolerance)
            and near(box.bottom, cy + (before.right - cx), tolerance)
        ),
        'the bar turned to the top-right corner, standing up',
    )
    assert _bar(after).height > 2 * _bar(after).width


def test_invert_turns_dark_to_bright_and_bright_to_dark(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    shot = snapshot(browser, canvas)
    bar = shot.fitted(SIZE, SIZE, BAR).inset(0.2)
    ground = shot.fitted(SIZE, SIZE, (8, 44, 120, 64))  # black between the bar and the patch
    assert shot.mean(bar) > 240 and shot.mean(ground) < 15, shot.describe()

    _click(browser, 'invert')
    wait_for_picture(
        browser,
        canvas,
        lambda s: s.mean(bar) < 15 and s.mean(ground) > 240,
        'the white bar black and the black ground white',
    )


def test_zoom_enlarges_the_bar_about_the_centre(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    shot = snapshot(browser, canvas)
    before, (cx, cy) = _bar(shot), (shot.width / 2, shot.height / 2)
    factor = 1.1**3
    tolerance = 2 * 3 + 2

    _click(browser, 'tool-zoom')
    WebDriverWait(browser, WAIT_S).until(
        lambda b: 'accent' in b.find_element(By.XPATH, BUTTONS['tool-zoom']).get_attribute('class')
    )
    for _ in range(3):
        wheel(browser, canvas, -100)
    wait_for_picture(
        browser,
        canvas,
        lambda s: (
            (box := s.bright_box()) is not None
            and near(box.width, before.width * factor, tolerance)
            and near(box.height, before.height * factor, tolerance)
            and near(box.left, cx + (before.left - cx) * factor, tolerance)
            and near(box.top, cy + (before.top - cy) * factor, tolerance)
        ),
        f'the bar {factor:.3f} times as large, away from the centre',
    )


def test_pan_moves_the_image_with_the_pointer(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    before = _bar(snapshot(browser, canvas))
    tolerance = 2 * 3 + 2

    _click(browser, 'tool-pan')
    WebDriverWait(browser, WAIT_S).until(
        lambda b: 'accent' in b.find_element(By.XPATH, BUTTONS['tool-pan']).get_attribute('class')
    )
    pointer(browser, canvas, 'pointerdown', 300, 300)
    for step in range(1, 5):
        pointer(browser, canvas, 'pointermove', 300 + step * 30, 300 + step * 15)
    pointer(browser, canvas, 'pointerup', 420, 360)
    assert browser.execute_script('return [window.scrollX, window.scrollY]') == [0, 0]  # the page stayed put
    wait_for_picture(
        browser,
        canvas,
        lambda s: (
            (box := s.bright_box()) is not None
            and near(box.left, before.left + 120, tolerance)
            and near(box.top, before.top + 60, tolerance)
            and near(box.width, before.width, tolerance)
        ),
        'the bar moved 120 px right and 60 px down',
    )


def test_cine_plays_through_the_slices(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    _click(browser, 'cine')
    first = wait_for_picture(
        browser, canvas, lambda s: s.index > 0 and _shows_a(s), 'cine showing a later slice, patch and all'
    )
    wait_for_picture(
        browser, canvas, lambda s: s.index != first.index and _shows_a(s), 'cine moving on to yet another slice'
    )
    _click(browser, 'cine')


def test_a_key_image_marked_after_pausing_cine_is_the_slice_on_screen(browser: Any, served: Served) -> None:
    canvas = _viewport(browser, 0)
    _click(browser, 'cine')
    wait_for_picture(browser, canvas, lambda s: s.index > 0 and _shows_a(s), 'cine showing a later slice')
    _click(browser, 'cine')
    _find(browser, 'play')  # paused: the button offers to play again
    paused = wait_for_picture(browser, canvas, _shows_a, 'the paused slice')
    assert snapshot(browser, canvas).index == paused.index  # it stays

    _click(browser, 'key-image')

    def marked() -> list[tuple[int | None, int]]:
        with sqlite3.connect(f'file:{served.data_dir / "clinicpacs.sqlite3"}?mode=ro', uri=True) as connection:
            return connection.execute(
                'SELECT instance.instance_number, key_image.frame FROM key_image JOIN instance'
                ' ON instance.id = key_image.instance_id'
            ).fetchall()

    assert wait_until(marked, 'a key image on file') == [(paused.index + 1, 1)]


def test_the_wheel_scrolls_one_slice_at_a_time(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    for n in (1, 2):
        wheel(browser, canvas, 100)
        wait_for_picture(browser, canvas, _at(n, _shows_a), f'slice {n} drawn')


# ---------------------------------------------------------------- side by side


def test_side_by_side_draws_each_viewport_with_its_own_series(browser: Any) -> None:
    _click(browser, 'layout-2')
    left, right = _viewport(browser, 0), _viewport(browser, 1)
    wait_for_picture(browser, left, _shows_a, 'pattern A fitted in the narrower left viewport')
    pointer(browser, right, 'pointerdown', 50, 50)  # a click makes it the active viewport
    pointer(browser, right, 'pointerup', 50, 50)
    _series_card(browser, 'pattern B').click()
    wait_for_picture(browser, right, _shows_b, 'pattern B in the right viewport')
    assert _beside(left, right)
    assert _shows_a(snapshot(browser, left))

    _click(browser, 'layout-4')
    for n in (2, 3):
        _viewport(browser, n)
    wait_for_picture(browser, left, _shows_a, 'pattern A refitted in the top-left quarter')
    wait_for_picture(browser, right, _shows_b, 'pattern B refitted in the top-right quarter')
    corner = _viewport(browser, 3)
    assert _beside(left, right) and _beside(_viewport(browser, 2), corner)
    assert near(corner.location['x'], right.location['x'], 2) and corner.location['y'] > right.location['y'] + 50
    pointer(browser, corner, 'pointerdown', 50, 50)
    pointer(browser, corner, 'pointerup', 50, 50)
    _series_card(browser, 'pattern A').click()
    wait_for_picture(browser, corner, _shows_a, 'pattern A in the bottom-right quarter')
    assert _shows_b(snapshot(browser, right)) and _shows_a(snapshot(browser, left))


def test_linked_scroll_moves_the_prior_beside_it(browser: Any) -> None:
    prior = WebDriverWait(browser, WAIT_S).until(
        expected_conditions.element_to_be_clickable((By.XPATH, '//button[contains(., "tools 20251201")]'))
    )
    prior.click()
    left, right = _viewport(browser, 0), _viewport(browser, 1)
    wait_for_picture(browser, right, _shows_b, "the prior's first slice beside this study")
    _wait_linked(browser)

    for n in (1, 2, 3):
        wheel(browser, left, 100)
        wait_for_picture(browser, left, _at(n, _shows_a), f'slice {n} on the left')
    wait_for_picture(browser, right, _at(3, _shows_b), 'the prior scrolled along to slice 3')


def test_the_link_toggle_makes_the_other_viewport_follow(browser: Any) -> None:
    _click(browser, 'layout-2')
    left, right = _viewport(browser, 0), _viewport(browser, 1)
    pointer(browser, right, 'pointerdown', 50, 50)
    pointer(browser, right, 'pointerup', 50, 50)
    _series_card(browser, 'pattern B').click()
    wait_for_picture(browser, right, _shows_b, 'pattern B in the right viewport')

    _click(browser, 'link')
    _wait_linked(browser)
    wheel(browser, left, 100)
    wait_for_picture(browser, left, _at(1, _shows_a), 'slice 1 on the left')
    wait_for_picture(browser, right, _at(1, _shows_b), 'the right viewport following to 1')
    wheel(browser, right, 100)
    wait_for_picture(browser, right, _at(2, _shows_b), 'slice 2 on the right')
    wait_for_picture(browser, left, _at(2, _shows_a), 'the left viewport following to 2')
