"""The viewer in real chromium: open a study, scroll, window/level and measure a length in millimetres."""

import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import ADMIN_PASSWORD, Served, log_in, marker, wait_for
from tests.conftest import WAIT_S, need_tool
from tests.viewer.synthetic import write_image

pytestmark = pytest.mark.browser

SLICES, SIZE, SPACING = 6, 256, 0.5


def _push_ct(served: Served, folder: Path) -> None:
    storescu = need_tool('storescu')
    files = []
    for n in range(SLICES):
        pixels = np.full((SIZE, SIZE), 1024 + n * 50, np.uint16)
        pixels[64:192, 64:192] = 1024 + 300
        files.append(
            write_image(
                folder / f'{n}.dcm',
                pixels,
                study_uid='1.2.826.0.1.3680043.2.1125.77',
                series_uid='1.2.826.0.1.3680043.2.1125.77.1',
                InstanceNumber=n + 1,
                RescaleSlope=1,
                RescaleIntercept=-1024,
                BitsStored=12,
                WindowCenter=40,
                WindowWidth=400,
                PixelSpacing=[SPACING, SPACING],
                SeriesNumber=1,
            )
        )
    subprocess.run(
        [storescu, '-aet', 'BROWSERTEST', '-aec', 'CLINICPACS', '127.0.0.1', str(served.dicom_port), *map(str, files)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = httpx.get(f'{served.url}/dicomweb/studies', auth=('admin', ADMIN_PASSWORD), timeout=5)
        if found.status_code == 200 and found.json():
            return
        time.sleep(0.3)
    raise AssertionError('the study did not arrive')


def _pointer(browser, element, kind: str, x: float, y: float, *, button: int = 0) -> None:
    browser.execute_script(
        """
        const [el, kind, x, y, button] = arguments;
        const r = el.getBoundingClientRect();
        el.dispatchEvent(new PointerEvent(kind, {bubbles: true, clientX: r.left + x, clientY: r.top + y,
            button, buttons: kind === 'pointerup' ? 0 : (button === 2 ? 2 : 1), pointerId: 7, isPrimary: true}));
    """,
        element,
        kind,
        x,
        y,
        button,
    )


def _drawn(browser, element) -> int:
    return int(element.get_attribute('data-drawn') or 0)


def test_a_doctor_scrolls_windows_and_measures_a_length_in_millimetres(served: Served, browser, tmp_path: Path) -> None:
    _push_ct(served, tmp_path)
    log_in(browser, served.url)
    browser.get(f'{served.url}/viewer/1')
    canvas = wait_for(browser, marker('viewport-0'))
    WebDriverWait(browser, WAIT_S).until(lambda _: _drawn(browser, canvas) > 0)

    # scroll: the wheel moves to the next slice, which the canvas draws
    browser.execute_script(
        """arguments[0].dispatchEvent(new WheelEvent('wheel', {deltaY: 100, bubbles: true,
        cancelable: true}));""",
        canvas,
    )
    WebDriverWait(browser, WAIT_S).until(lambda _: canvas.get_attribute('data-index') == '1')

    # window/level: a right-drag asks the server for the frame at a new window
    width, height = browser.execute_script(
        'const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];', canvas
    )
    before = browser.execute_script('return window.viewerStats.requests')
    _pointer(browser, canvas, 'pointerdown', 100, 100, button=2)
    for step in range(1, 6):
        _pointer(browser, canvas, 'pointermove', 100 + step * 20, 100 + step * 10, button=2)
    _pointer(browser, canvas, 'pointerup', 200, 150, button=2)
    WebDriverWait(browser, WAIT_S).until(
        lambda _: browser.execute_script(
            "return performance.getEntriesByType('resource').some(e => e.name.includes('window='))"
        )
    )
    assert browser.execute_script('return window.viewerStats.requests') > before

    # length: 120 CSS pixels across the fitted image
    wait_for(browser, marker('tool-length')).click()
    scale = min(width, height) / SIZE
    x0, y = width / 2 - 60, height / 2
    _pointer(browser, canvas, 'pointerdown', x0, y)
    _pointer(browser, canvas, 'pointermove', x0 + 60, y)
    _pointer(browser, canvas, 'pointerup', x0 + 120, y)
    row = wait_for(browser, marker('measurement-row'))
    expected = 120 / scale * SPACING
    shown = float(row.text.split(' mm')[0].split()[-1])
    assert abs(shown - expected) <= 0.2, (row.text, expected)
    browser.save_screenshot(str(served.data_dir.parent / 'viewer.png'))
