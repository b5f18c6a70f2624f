"""A hanging protocol in real chromium: a CT chest opens with its prior on the right, both in the lung window, and
`]` steps to the next stage (lung and mediastinum windows of this study side by side), proven on canvas pixels.

This study and its prior are told apart by a white bar: top-left in this study, bottom-right in the prior. A patch
of 0 HU in the middle tells the window: about 229 in the lung window (-600 / 1500), about 91 in the mediastinum
window (50 / 350), and 128 in the files' own window (0 / 1000) that would show if no preset were applied.
"""

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.canvas import Snapshot, wait_for_picture
from tests.browser.conftest import ADMIN_PASSWORD, Served, headless_chromium, log_in, marker, wait_for
from tests.conftest import WAIT_S, wait_until
from tests.viewer.synthetic import write_image

pytestmark = pytest.mark.browser

SIZE, SLICES = 128, 3
BAR = (8, 8, 48, 24)  # left, top, right, bottom: 3000 HU, white in every window
PATCH = (48, 48, 80, 80)  # 0 HU
LUNG, MEDIASTINUM = 229, 91  # the patch's grey level in each window
STUDY_UID, PRIOR_UID = '1.2.826.0.1.3680043.2.1125.181', '1.2.826.0.1.3680043.2.1125.182'


def _slice(*, prior: bool) -> np.ndarray:
    hu = np.full((SIZE, SIZE), -1000, np.int32)
    left, top, right, bottom = BAR
    if prior:
        left, top, right, bottom = SIZE - right, SIZE - bottom, SIZE - left, SIZE - top
    hu[top:bottom, left:right] = 3000
    hu[PATCH[1] : PATCH[3], PATCH[0] : PATCH[2]] = 0
    return (hu + 1024).astype(np.uint16)


def _study(folder: Path, study_uid: str, date: str, *, prior: bool) -> list[Path]:
    return [
        write_image(
            folder / f'{study_uid}-{n}.dcm',
            _slice(prior=prior),
            study_uid=study_uid,
            series_uid=f'{study_uid}.1',
            RescaleSlope=1,
            RescaleIntercept=-1024,
            BitsStored=12,
            InstanceNumber=n + 1,
            SeriesNumber=1,
            SeriesDescription='AXIAL 1 mm',
            StudyDate=date,
            StudyDescription='CT CHEST WITHOUT CONTRAST',
            BodyPartExamined='CHEST',
            WindowCenter=0,
            WindowWidth=1000,
        )
        for n in range(SLICES)
    ]


@pytest.fixture(scope='module')
def study(served: Served, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CT chest and last year's CT chest of the same patient, pushed by storescu; the viewer's address."""
    folder = tmp_path_factory.mktemp('hanging')
    files = [*_study(folder, STUDY_UID, '20261201', prior=False), *_study(folder, PRIOR_UID, '20251201', prior=True)]
    served.push('HANGTEST', files)

    def both_arrived() -> bool:
        found = httpx.get(f'{served.url}/dicomweb/studies', auth=('admin', ADMIN_PASSWORD), timeout=5)
        return found.status_code == 200 and len(found.json()) == 2

    wait_until(both_arrived, 'the study and its prior')
    with sqlite3.connect(f'file:{served.data_dir / "clinicpacs.sqlite3"}?mode=ro', uri=True) as connection:
        (study_id,) = connection.execute('SELECT id FROM study WHERE study_instance_uid = ?', (STUDY_UID,)).fetchone()
    return f'{served.url}/viewer/{study_id}'


@pytest.fixture
def browser(served: Served) -> Iterator[Any]:
    driver = headless_chromium()
    try:
        log_in(driver, served.url)
        yield driver
    finally:
        driver.quit()


def _shows(*, prior: bool, grey: int) -> Callable[[Snapshot], bool]:
    """The viewport shows this study (bar top-left) or the prior (bar bottom-right), its patch at `grey`."""

    def check(shot: Snapshot) -> bool:
        box = shot.bright_box()
        if box is None:
            return False
        right, low = box.centre[0] > shot.width / 2, box.centre[1] > shot.height / 2
        where = (right and low) if prior else not (right or low)
        patch = shot.fitted(SIZE, SIZE, PATCH).inset(0.25)
        return where and abs(shot.mean(patch) - grey) <= 12

    return check


def test_a_ct_chest_opens_with_the_prior_on_the_right_then_steps_to_lung_and_mediastinum(
    browser: Any, study: str
) -> None:
    browser.get(study)
    WebDriverWait(browser, WAIT_S).until(
        lambda b: b.find_element(By.XPATH, '//*[@data-testid="protocol"]').text.find('CT chest') >= 0
    )
    left, right = wait_for(browser, marker('viewport-0')), wait_for(browser, marker('viewport-1'))
    wait_for_picture(browser, left, _shows(prior=False, grey=LUNG), 'this study in the lung window on the left')
    wait_for_picture(browser, right, _shows(prior=True, grey=LUNG), 'the prior in the lung window on the right')
    assert abs(left.location['y'] - right.location['y']) <= 2
    assert right.location['x'] >= left.location['x'] + 0.9 * left.size['width']

    ActionChains(browser).send_keys(']').perform()
    wait_for_picture(
        browser, right, _shows(prior=False, grey=MEDIASTINUM), 'this study in the mediastinum window on the right'
    )
    wait_for_picture(browser, left, _shows(prior=False, grey=LUNG), 'this study still in the lung window on the left')

    ActionChains(browser).send_keys('[').perform()
    wait_for_picture(browser, right, _shows(prior=True, grey=LUNG), 'the prior back on the right')
