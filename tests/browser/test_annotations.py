"""An arrow drawn in the viewer in real chromium survives a reload (pixels on the canvas), is moved by its head
and is in the GSPS where it was left."""

import io
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.canvas import pointer
from tests.browser.conftest import ADMIN_PASSWORD, Served, log_in, marker, wait_for
from tests.conftest import WAIT_S, need_tool, wait_until
from tests.viewer.synthetic import write_image

pytestmark = pytest.mark.browser

SIZE = 256
STUDY_UID, SERIES_UID = '1.2.826.0.1.3680043.2.1125.78', '1.2.826.0.1.3680043.2.1125.78.1'


def _push_ct(served: Served, folder: Path) -> None:
    pixels = np.full((SIZE, SIZE), 1024 + 40, np.uint16)
    pixels[64:192, 64:192] = 1024 + 300
    image = write_image(
        folder / 'ct.dcm',
        pixels,
        study_uid=STUDY_UID,
        series_uid=SERIES_UID,
        InstanceNumber=1,
        RescaleSlope=1,
        RescaleIntercept=-1024,
        BitsStored=12,
        WindowCenter=40,
        WindowWidth=400,
        PixelSpacing=[0.5, 0.5],
        SeriesNumber=1,
    )
    storescu = need_tool('storescu')
    subprocess.run(
        [storescu, '-aet', 'BROWSERTEST', '-aec', 'CLINICPACS', '127.0.0.1', str(served.dicom_port), str(image)],
        check=True,
        capture_output=True,
        timeout=60,
    )

    def arrived() -> bool:
        found = httpx.get(f'{served.url}/dicomweb/studies', auth=('admin', ADMIN_PASSWORD), timeout=5)
        return found.status_code == 200 and bool(found.json())

    wait_until(arrived, 'the study did not arrive')


def _amber_near(browser, element, x: float, y: float) -> bool:
    """Whether the canvas shows the annotations' amber within 3 CSS pixels of (x, y) (the image is grey)."""
    return bool(
        browser.execute_script(
            """
            const [el, x, y] = arguments;
            const canvas = el.querySelector('canvas'), ratio = window.devicePixelRatio || 1;
            const d = canvas.getContext('2d').getImageData(Math.round((x - 3) * ratio), Math.round((y - 3) * ratio),
                                                          Math.round(7 * ratio), Math.round(7 * ratio)).data;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i] > 200 && d[i + 1] > 120 && d[i + 2] < 80) return true;
            }
            return false;
        """,
            element,
            x,
            y,
        )
    )


def _open(browser, served: Served):
    browser.get(f'{served.url}/viewer/1')
    canvas = wait_for(browser, marker('viewport-0'))
    WebDriverWait(browser, WAIT_S).until(lambda _: int(canvas.get_attribute('data-drawn') or 0) > 0)
    return canvas


def test_an_arrow_survives_a_reload_and_is_in_the_presentation_state(served: Served, browser, tmp_path: Path) -> None:
    _push_ct(served, tmp_path)
    log_in(browser, served.url)
    canvas = _open(browser, served)
    width, height = browser.execute_script(
        'const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];', canvas
    )
    scale = min(width, height) / SIZE
    tail, head = (width / 2 - 80, height / 2 + 40), (width / 2 + 40, height / 2 - 20)
    middle = ((tail[0] + head[0]) / 2, (tail[1] + head[1]) / 2)
    assert not _amber_near(browser, canvas, *middle)  # nothing drawn there yet

    tool = wait_for(browser, marker('tool-arrow'))
    tool.click()
    WebDriverWait(browser, WAIT_S).until(lambda _: 'text-accent' in (tool.get_attribute('class') or ''))  # chosen
    pointer(browser, canvas, 'pointerdown', *tail)
    pointer(browser, canvas, 'pointermove', *middle)
    pointer(browser, canvas, 'pointerup', *head)
    wait_for(browser, marker('annotation-row'))

    browser.refresh()
    canvas = _open(browser, served)
    WebDriverWait(browser, WAIT_S).until(lambda _: _amber_near(browser, canvas, *middle))
    assert not _amber_near(browser, canvas, width / 2 - 80, height / 2 - 60)  # off the arrow: still grey

    # the author drags the head 30 CSS pixels down: the arrow is moved, not a new one drawn
    tool = wait_for(browser, marker('tool-arrow'))
    tool.click()
    WebDriverWait(browser, WAIT_S).until(lambda _: 'text-accent' in (tool.get_attribute('class') or ''))
    moved = (head[0], head[1] + 30)
    pointer(browser, canvas, 'pointerdown', *head)
    pointer(browser, canvas, 'pointermove', head[0], head[1] + 15)
    pointer(browser, canvas, 'pointerup', *moved)

    def presentation_state() -> pydicom.Dataset | None:
        answer = httpx.get(f'{served.url}/viewer/1/annotations.dcm', auth=('admin', ADMIN_PASSWORD), timeout=WAIT_S)
        assert answer.status_code == 200
        found = pydicom.dcmread(io.BytesIO(answer.content))
        shaft = found.GraphicAnnotationSequence[0].GraphicObjectSequence[0]
        return found if abs(float(shaft.GraphicData[3]) - ((moved[1] - height / 2) / scale + SIZE / 2)) < 0.6 else None

    ds = wait_until(presentation_state, 'the moved arrow in the presentation state')
    head = moved
    assert ds.SOPClassUID == '1.2.840.10008.5.1.4.1.1.11.1'
    (item,) = ds.GraphicAnnotationSequence
    assert (
        item.ReferencedImageSequence[0].ReferencedSOPInstanceUID
        == ds.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID
    )
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == SERIES_UID
    assert len(item.GraphicObjectSequence) == 2  # one arrow (shaft and head): moved, not drawn again
    shaft = item.GraphicObjectSequence[0]
    expected = [
        (tail[0] - width / 2) / scale + SIZE / 2,
        (tail[1] - height / 2) / scale + SIZE / 2,
        (head[0] - width / 2) / scale + SIZE / 2,
        (head[1] - height / 2) / scale + SIZE / 2,
    ]
    assert shaft.GraphicType == 'POLYLINE'
    assert np.allclose([float(v) for v in shaft.GraphicData], expected, atol=0.6), (shaft.GraphicData, expected)
    browser.save_screenshot(str(served.data_dir.parent / 'annotations.png'))
