"""Linked comparison and full-screen reading in real chromium, proven on the canvas's pixels.

One study, two series in one frame of reference: 2 mm slices from z 0 to 10 and 5 mm slices at z 3, 8, 13, 18.
Every slice is one flat grey whose value is its position (100 per mm, window 1000 / 2000), so the grey level a
viewport shows tells at which z it is: scrolling the 2 mm series must land the 5 mm one on the nearest z, not on
the same fraction of its stack.
"""

from collections.abc import Iterator
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

STUDY_UID, FRAME = '1.2.826.0.1.3680043.2.1125.181', '1.2.826.0.1.3680043.2.1125.182'
THIN, THICK = [2.0 * n for n in range(6)], [3.0 + 5.0 * n for n in range(4)]
GREY_PER_MM = 100 * 255 / 2000


def _series(folder: Path, number: int, description: str, levels: list[float]) -> list[Path]:
    return [
        write_image(
            folder / f'{number}-{n}.dcm',
            np.full((64, 64), int(100 * z), np.uint16),
            study_uid=STUDY_UID,
            series_uid=f'{STUDY_UID}.{number}',
            SeriesNumber=number,
            SeriesDescription=description,
            InstanceNumber=n + 1,
            ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
            ImagePositionPatient=[0, 0, z],
            FrameOfReferenceUID=FRAME,
            WindowCenter=1000,
            WindowWidth=2000,
            StudyDescription='linked',
        )
        for n, z in enumerate(levels)
    ]


@pytest.fixture(scope='module')
def study(served: Served, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp('linked')
    files = [*_series(folder, 1, 'thin 2 mm', THIN), *_series(folder, 2, 'thick 5 mm', THICK)]
    served.push('LINKTEST', files)

    def arrived() -> bool:
        found = httpx.get(
            f'{served.url}/dicomweb/studies/{STUDY_UID}/instances', auth=('admin', ADMIN_PASSWORD), timeout=5
        )
        return found.status_code == 200 and len(found.json()) == len(files)

    wait_until(arrived, 'the two series')
    return f'{served.url}/viewer/1'


@pytest.fixture(scope='module')
def signed_in(served: Served) -> Iterator[Any]:
    driver = headless_chromium()
    try:
        log_in(driver, served.url)
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(signed_in: Any, study: str) -> Any:
    """The viewer freshly opened: the thin series in viewport 0, at z 0."""
    signed_in.get(study)
    wait_for_picture(signed_in, _viewport(signed_in, 0), _at_z(0), 'the thin series at z 0')
    return signed_in


def _viewport(browser: Any, n: int) -> Any:
    return wait_for(browser, marker(f'viewport-{n}'))


def _middle(shot: Snapshot) -> Box:
    """The middle of the viewport, away from the corner text."""
    return Box(shot.width * 0.4, shot.height * 0.4, shot.width * 0.6, shot.height * 0.6)


def _z(shot: Snapshot) -> float:
    return shot.mean(_middle(shot)) / GREY_PER_MM


def _at_z(z: float) -> Any:
    return lambda shot: near(_z(shot), z, 0.6)


def _click(browser: Any, xpath: str) -> None:
    WebDriverWait(browser, WAIT_S).until(expected_conditions.element_to_be_clickable((By.XPATH, xpath))).click()


def _drag(browser: Any, element: Any, dy: float) -> None:
    pointer(browser, element, 'pointerdown', 100, 100)
    pointer(browser, element, 'pointermove', 100, 100 + dy)
    pointer(browser, element, 'pointerup', 100, 100 + dy)


LINK = '//*[contains(@class, "q-checkbox")][.//*[normalize-space()="Link"]]'
LINK_KINDS = '//button[.//i[normalize-space()="arrow_drop_down"]]'


def _link_kind(label: str) -> str:
    return f'//*[contains(@class, "q-menu")]//*[contains(@class, "q-checkbox")][.//*[normalize-space()="{label}"]]'


def _side_by_side_linked(browser: Any) -> tuple[Any, Any]:
    """The thick series in viewport 1 beside the thin one, linked."""
    _click(browser, '//*[contains(@class, "q-btn-group")]//button[normalize-space()="2"]')
    left, right = _viewport(browser, 0), _viewport(browser, 1)
    pointer(browser, right, 'pointerdown', 50, 50)  # a click makes it the active viewport
    pointer(browser, right, 'pointerup', 50, 50)
    _click(browser, '//*[contains(@class, "series-card")][.//*[contains(text(), "thick 5 mm")]]')
    wait_for_picture(browser, right, _at_z(3), 'the thick series at z 3 on the right')
    _click(browser, LINK)
    WebDriverWait(browser, WAIT_S).until(
        lambda b: b.find_element(By.XPATH, LINK).get_attribute('aria-checked') == 'true'
    )
    pointer(browser, left, 'pointerdown', 50, 50)
    pointer(browser, left, 'pointerup', 50, 50)
    return left, right


def test_linked_scroll_lands_on_the_slice_at_the_same_position(browser: Any) -> None:
    left, right = _side_by_side_linked(browser)
    # thin z 2n beside the nearest thick slice (3, 8, 13, 18); by index fraction z 4 would pair with 8, z 10 with 18
    for n, nearest in ((1, 3), (2, 3), (3, 8), (4, 8), (5, 8)):
        wheel(browser, left, 100)
        wait_for_picture(browser, left, _at_z(2 * n), f'the thin series at z {2 * n}')
        wait_for_picture(browser, right, lambda s, z=nearest: _at_z(z)(s), f'the thick series following to z {nearest}')


def test_with_the_window_link_off_the_other_viewport_keeps_its_pixels(browser: Any) -> None:
    left, right = _side_by_side_linked(browser)
    for _ in range(5):
        wheel(browser, left, 100)
    wait_for_picture(browser, left, _at_z(10), 'the thin series at z 10')
    before = wait_for_picture(browser, right, _at_z(8), 'the thick series at z 8')
    _click(browser, '//*[@data-testid="tool-wl"]')

    _drag(browser, left, 40)  # a higher level: darker, in both while the window is linked
    wait_for_picture(browser, left, lambda s: _z(s) < 10 - 2, 'the left darker')
    linked = wait_for_picture(browser, right, lambda s: _z(s) < 8 - 2, 'the right darker too (linked)')

    _click(browser, LINK_KINDS)
    _click(browser, _link_kind('Window / level'))
    WebDriverWait(browser, WAIT_S).until(
        lambda b: b.find_element(By.XPATH, _link_kind('Window / level')).get_attribute('aria-checked') == 'false'
    )
    browser.find_element(By.TAG_NAME, 'body').click()  # close the menu
    left_before = snapshot(browser, left)
    _drag(browser, left, 40)
    wait_for_picture(browser, left, lambda s: _z(s) < _z(left_before) - 2, 'the left darker again')
    # Scroll away and back (linked): the right draws slice z 8 again, with the window it had, not the left's new one.
    for _ in range(3):
        wheel(browser, left, -100)
    wait_for_picture(browser, right, lambda s: s.index == 0, 'the right at its first slice')
    for _ in range(3):
        wheel(browser, left, 100)
    wait_for_picture(
        browser, right, lambda s: s.index == 1 and near(_z(s), _z(linked), 0.3), 'the right as before, at z 8'
    )
    assert _z(before) > _z(linked) + 2


def test_zoom_is_linked(browser: Any) -> None:
    left, right = _side_by_side_linked(browser)
    _click(browser, '//button[.//i[normalize-space()="text_fields"]]')  # no corner text: only the image is bright
    for _ in range(5):
        wheel(browser, left, 100)
    shown = wait_for_picture(browser, right, _at_z(8), 'the thick series at z 8 (grey 102)')
    fitted = shown.bright_box(threshold=80)  # the inactive viewport's frame is darker (51)
    assert fitted is not None and near(fitted.width, shown.width, 2 * shown.step + 4), shown.describe()
    _click(browser, '//*[@data-testid="tool-zoom"]')
    for _ in range(4):
        wheel(browser, left, -100)  # zoom in, 1.1 times a notch
    wait_for_picture(
        browser,
        right,
        lambda s: (box := s.bright_box(threshold=80)) is not None and box.height > fitted.height * 1.3,
        'the right zoomed in with the left',
    )


def test_full_screen_reading_hides_the_shell_and_escape_brings_it_back(browser: Any) -> None:
    canvas = _viewport(browser, 0)
    header = browser.find_element(By.CSS_SELECTOR, '.q-header')
    assert header.is_displayed()
    _click(browser, '//button[.//i[normalize-space()="fullscreen"]]')
    WebDriverWait(browser, WAIT_S).until(lambda b: not header.is_displayed())
    # Asked within the click itself: the browser grants it (headless chromium's screen, 800 × 600, is smaller than
    # the window, so the viewports must shrink to fit: a canvas once kept its old height and ran off the bottom).
    WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script('return !!document.fullscreenElement'), 'full')
    assert not browser.find_element(By.XPATH, '//*[contains(@class, "series-card")]').is_displayed()
    WebDriverWait(browser, WAIT_S).until(lambda b: _fills_the_screen(b, canvas), 'the viewport down to the bottom')
    wait_for_picture(browser, canvas, _at_z(0), 'the image redrawn in the whole screen')
    browser.find_element(By.TAG_NAME, 'body').send_keys('\ue00c')  # Escape
    WebDriverWait(browser, WAIT_S).until(lambda b: header.is_displayed())
    WebDriverWait(browser, WAIT_S).until(lambda b: b.execute_script('return !document.fullscreenElement'), 'left')


def _fills_the_screen(browser: Any, canvas: Any) -> bool:
    """The viewport reaches the bottom of the window and spans its width (the toolbar alone stays above it)."""
    width, height = browser.execute_script('return [window.innerWidth, window.innerHeight]')
    box = canvas.rect
    return near(box['y'] + box['height'], height, 12) and box['width'] >= 0.95 * width - 20


def test_the_series_cards_loading_bar_ends_full_and_hidden(browser: Any) -> None:
    """The canvas reports its preload (loaded / total) and the card's bar ends full, then hidden."""
    found = WebDriverWait(browser, WAIT_S).until(
        lambda b: b.execute_script(
            """
            const cards = [...document.querySelectorAll('.series-card')];
            const card = cards.find((c) => c.textContent.includes('thin 2 mm'));
            const model = card && card.querySelector('.q-linear-progress__model');
            const bar = card && card.querySelector('.q-linear-progress');
            return model && model.style.transform.startsWith('scale3d(1,') ? [bar.offsetParent === null] : null;
            """
        )
    )
    assert found == [True]  # full, and not on screen
