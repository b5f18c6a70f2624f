"""MPR in real chromium: a pushed 200-slice CT as axial, coronal and sagittal planes linked by the crosshair."""

import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Served, log_in, marker, wait_for
from tests.conftest import WAIT_S, need_tool
from tests.viewer.synthetic import write_volume

pytestmark = pytest.mark.browser

SLICES, SIZE, PIXEL_MM, GAP_MM = 200, 128, 0.8, 1.0
BRIGHT = (40, 80, 150)  # column (x), row (y), slice (z): a 5-voxel cube of 1000 HU in air
# each plane's image size in square pixels of 0.8 mm (dicom/mpr.py geometry)
SIZES = {'axial': (SIZE, SIZE), 'coronal': (SIZE, round(SLICES * GAP_MM / PIXEL_MM)), 'sagittal': (SIZE, 250)}


class _Planes:
    """The three MPR viewports by plane, looked up afresh on each use (NiceGUI may re-render an element)."""

    def __init__(self, browser) -> None:
        self.browser = browser

    def __getitem__(self, plane: str):
        n = list(SIZES).index(plane)
        return wait_for(self.browser, marker(f'viewport-{n}'))


def _push(served: Served, folder: Path) -> None:
    storescu = need_tool('storescu')
    files = write_volume(folder, (SLICES, SIZE, SIZE), BRIGHT, pixel_mm=PIXEL_MM, gap_mm=GAP_MM, bright_size=5)
    subprocess.run(
        [storescu, '-aet', 'BROWSERTEST', '-aec', 'CLINICPACS', '127.0.0.1', str(served.dicom_port), *map(str, files)],
        check=True,
        capture_output=True,
        timeout=120,
    )  # storescu returns after the last C-STORE answer, and each answer comes after the instance's row exists


def _css_point(browser, canvas, plane: str, column: float, row: float) -> tuple[float, float]:
    """Where an image pixel is drawn in the canvas (fitted, centred, no zoom or pan: viewer_canvas.js transform)."""
    width, height = browser.execute_script(
        'const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];', canvas
    )
    columns, rows = SIZES[plane]
    scale = min(width / columns, height / rows)
    return width / 2 + (column - columns / 2) * scale, height / 2 + (row - rows / 2) * scale


def _click(browser, canvas, x: float, y: float) -> None:
    browser.execute_script(
        """
        const [el, x, y] = arguments;
        const r = el.getBoundingClientRect();
        for (const kind of ['pointerdown', 'pointerup']) {
          el.dispatchEvent(new PointerEvent(kind, {bubbles: true, clientX: r.left + x, clientY: r.top + y,
              button: 0, buttons: kind === 'pointerup' ? 0 : 1, pointerId: 9, isPrimary: true}));
        }
    """,
        canvas,
        x,
        y,
    )


def _grey(browser, canvas, x: float, y: float) -> int:
    """The drawn canvas pixel's grey value at CSS point (x, y)."""
    return browser.execute_script(
        """
        const [el, x, y] = arguments;
        const c = el.querySelector('canvas'); const ratio = window.devicePixelRatio || 1;
        return c.getContext('2d').getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data[0];
    """,
        canvas,
        x,
        y,
    )


def _crosshair_at(canvas, point: tuple[float, float]) -> bool:
    """The canvas drew its crosshair through this image point (data-crosshair, image pixels)."""
    drawn = canvas.get_attribute('data-crosshair')
    if not drawn:
        return False
    x, y = (float(v) for v in drawn.split(','))
    return abs(x - point[0]) < 0.02 and abs(y - point[1]) < 0.02


def _voxel_centre(plane: str, voxel: tuple[int, int, int]) -> tuple[float, float]:
    x, y, z = voxel
    columns, rows = SIZES[plane]
    head_up = (SLICES - 1 - z + 0.5) * rows / SLICES
    return {
        'axial': ((x + 0.5) * columns / SIZE, (y + 0.5) * rows / SIZE),
        'coronal': ((x + 0.5) * columns / SIZE, head_up),
        'sagittal': ((y + 0.5) * columns / SIZE, head_up),
    }[plane]


def test_a_point_clicked_in_one_plane_lands_the_others_on_its_voxel(served: Served, browser, tmp_path: Path) -> None:
    _push(served, tmp_path)
    log_in(browser, served.url)
    browser.get(f'{served.url}/viewer/1')
    first = wait_for(browser, marker('viewport-0'))
    WebDriverWait(browser, WAIT_S).until(lambda _: int(first.get_attribute('data-drawn') or 0) > 0)

    wait_for(browser, marker('mpr')).click()
    planes = _Planes(browser)

    def voxel_is(expected: str) -> bool:
        return all(planes[plane].get_attribute('data-voxel') == expected for plane in SIZES)

    # the three planes start through the middle voxel
    WebDriverWait(browser, WAIT_S).until(lambda _: voxel_is('64,64,100'))
    starts = {'axial': '100', 'coronal': '64', 'sagittal': '64'}
    for plane in SIZES:
        WebDriverWait(browser, WAIT_S).until(lambda _, p=plane: planes[p].get_attribute('data-index') == starts[p])

    # a click in the axial plane (slice 100) at the cube's column and row: coronal and sagittal go through it
    _click(browser, planes['axial'], *_css_point(browser, planes['axial'], 'axial', 40.5, 80.5))
    WebDriverWait(browser, WAIT_S).until(lambda _: voxel_is('40,80,100'))
    WebDriverWait(browser, WAIT_S).until(lambda _: planes['coronal'].get_attribute('data-index') == '80')
    WebDriverWait(browser, WAIT_S).until(lambda _: planes['sagittal'].get_attribute('data-index') == '40')

    # the coronal plane now shows the cube; a click on its centre sends the axial plane to slice 150
    column, row = _voxel_centre('coronal', BRIGHT)
    _click(browser, planes['coronal'], *_css_point(browser, planes['coronal'], 'coronal', column, row))
    WebDriverWait(browser, WAIT_S).until(lambda _: voxel_is('40,80,150'))
    expected = {'axial': '150', 'coronal': '80', 'sagittal': '40'}
    for plane in SIZES:
        WebDriverWait(browser, WAIT_S).until(lambda _, p=plane: planes[p].get_attribute('data-index') == expected[p])
        column, row = _voxel_centre(plane, BRIGHT)
        WebDriverWait(browser, WAIT_S).until(lambda _, p=plane, at=(column, row): _crosshair_at(planes[p], at))
        # pixels: the cube is drawn under the crosshair's centre in every plane, air a little beside it
        x, y = _css_point(browser, planes[plane], plane, column, row)
        WebDriverWait(browser, WAIT_S).until(lambda _, p=plane, at=(x, y): _grey(browser, planes[p], *at) > 200)
        beside = _css_point(browser, planes[plane], plane, column + 12, row + 12)  # off the cube and both lines
        assert _grey(browser, planes[plane], *beside) < 40, plane
    browser.save_screenshot(str(served.data_dir.parent / 'mpr.png'))


def test_scrolling_a_plane_asks_the_server_once_for_each_image(served: Served, browser, tmp_path: Path) -> None:
    # the canvas prefetches each plane while the doctor scrolls it: an image on its way is awaited, not asked again
    _push(served, tmp_path)
    log_in(browser, served.url)
    browser.get(f'{served.url}/viewer/1')
    first = wait_for(browser, marker('viewport-0'))
    WebDriverWait(browser, WAIT_S).until(lambda _: int(first.get_attribute('data-drawn') or 0) > 0)
    browser.execute_script('performance.setResourceTimingBufferSize(10000)')
    wait_for(browser, marker('mpr')).click()
    planes = _Planes(browser)
    WebDriverWait(browser, WAIT_S).until(lambda _: planes['coronal'].get_attribute('data-index') == '64')
    browser.execute_script(
        """
        for (let n = 0; n < 40; n++) {
          arguments[0].dispatchEvent(new WheelEvent('wheel', {deltaY: 100, bubbles: true, cancelable: true}));
        }
    """,
        planes['coronal'],
    )
    WebDriverWait(browser, WAIT_S).until(lambda _: planes['coronal'].get_attribute('data-index') == '104')
    counts = {'axial': SLICES, 'coronal': SIZE, 'sagittal': SIZE}
    for plane, count in counts.items():  # every image of every plane has arrived
        WebDriverWait(browser, WAIT_S).until(
            lambda _, p=plane, n=count: (
                browser.execute_script('return getElement(arguments[0]).cache.size', planes[p]) >= n
            )
        )
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/mpr/'))"
    )
    twice = {url for url in asked if asked.count(url) > 1}
    assert not twice, f'{len(twice)} images were asked for twice, e.g. {sorted(twice)[:3]}'
    assert len(asked) == sum(counts.values())
