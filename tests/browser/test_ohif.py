"""The prebuilt OHIF viewer (npm @ohif/app, fetched by tools/fetch_ohif.sh) served from another origin and pointed
at ClinicPACS's /dicomweb: its study list shows the studies, and its viewer draws every image of a CT series, every
frame of an ultrasound cine and a CR, with every DICOMweb request answered 2xx."""

import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar, TypeVar

import httpx
import numpy as np
import pydicom
import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import ROOT, free_port, log_in, wait_for
from tests.conftest import WAIT_S, need_tool, wait_until
from tests.dicom.conftest import sample
from tests.test_serve import _health, _serve
from tests.viewer.synthetic import write_image

pytestmark = pytest.mark.browser
T = TypeVar('T')

FETCH = ROOT / 'tools' / 'fetch_ohif.sh'
VERSION = re.search(r"^VERSION='([^']+)'", FETCH.read_text(), re.MULTILINE)[1]  # type: ignore[index]
DIST = ROOT / '.cache' / 'ohif' / VERSION / 'dist'
ADMIN_PASSWORD = 'serve admin password'  # tests/test_serve.py's _serve
CT_SLICES, CT_SIZE = 24, 256
# A loaded machine draws a big CR and thirty JPEG frames slowly; every wait still ends as soon as its condition holds.
LONG_WAIT_S = 3 * WAIT_S
MIN_LIT = 0.01  # an image is drawn when at least this share of the viewport's pixels is not black


# ---------------------------------------------------------------- OHIF on an origin of its own


def app_config(dicomweb: str, username: str, password: str) -> str:
    """OHIF's window.config: one DICOMweb data source (QIDO-RS and WADO-RS frames, no WADO-URI), HTTP Basic
    through an inline extension that sets the user-authentication service (OHIF's own hook for a header)."""
    source = {
        'namespace': '@ohif/extension-default.dataSourcesModule.dicomweb',
        'sourceName': 'clinicpacs',
        'configuration': {
            'friendlyName': 'ClinicPACS',
            'name': 'clinicpacs',
            'qidoRoot': dicomweb,
            'wadoRoot': dicomweb,
            'wadoUriRoot': dicomweb,
            'qidoSupportsIncludeField': False,
            'imageRendering': 'wadors',
            'thumbnailRendering': 'wadors',
            'enableStudyLazyLoad': True,
            'supportsFuzzyMatching': False,
            'supportsWildcard': True,
            'staticWado': False,
            'singlepart': False,
            'bulkDataURI': {'enabled': True},
            'omitQuotationForMultipartRequest': True,
        },
    }
    config = {
        'routerBasename': '/',
        'modes': [],
        'customizationService': {},
        'showStudyList': True,
        'maxNumberOfWebWorkers': 2,
        'showWarningMessageForCrossOrigin': False,
        'showCPUFallbackMessage': False,
        'showLoadingIndicator': True,
        'strictZSpacingForVolumeViewport': True,
        'investigationalUseDialog': {'option': 'never'},
        'defaultDataSourceName': 'clinicpacs',
        'dataSources': [source],
    }
    basic = json.dumps(f'{username}:{password}')
    return (
        # every request of the page stays in the Resource Timing buffer (250 by default) for the final check
        'performance.setResourceTimingBufferSize(100000);\n'
        f'window.config = {json.dumps(config, indent=1)};\n'
        'window.config.extensions = [{\n'
        "  id: 'clinicpacs-basic-auth',\n"
        '  preRegistration({ servicesManager }) {\n'
        '    servicesManager.services.userAuthenticationService.setServiceImplementation({\n'
        f"      getAuthorizationHeader: () => ({{ Authorization: 'Basic ' + btoa({basic}) }}),\n"
        '    });\n'
        '  },\n'
        '}];\n'
    )


_TYPES = {'.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json'}


class _Site(SimpleHTTPRequestHandler):
    """OHIF's dist as a single-page app: files as they are, app-config.js generated, any other path index.html."""

    config: ClassVar[bytes] = b''

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return _TYPES.get(Path(path).suffix) or super().guess_type(path)

    def do_GET(self) -> None:
        path = self.path.split('?', 1)[0]
        if path == '/app-config.js':
            self.send_response(200)
            self.send_header('Content-Type', 'text/javascript')
            self.send_header('Content-Length', str(len(self.config)))
            self.end_headers()
            self.wfile.write(self.config)
            return
        if not (Path(self.directory) / path.lstrip('/')).is_file():
            self.path = '/index.html'
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Ohif:
    url: str


@contextmanager
def serve_ohif(port: int, dicomweb: str, username: str, password: str) -> Iterator[Ohif]:
    """The fetched dist on 127.0.0.1:port (a plain static server, as any web server would serve it)."""
    handler = type('Site', (_Site,), {'config': app_config(dicomweb, username, password).encode()})
    server = ThreadingHTTPServer(('127.0.0.1', port), partial(handler, directory=str(DIST)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Ohif(f'http://127.0.0.1:{port}')
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------- the studies


@dataclass(frozen=True)
class Study:
    patient_id: str
    listed_as: str  # the patient's name as OHIF's study list shows it
    study_uid: str
    images: int  # frames OHIF shows: CT slices, cine frames, 1 for the CR


def _as(source: Path, target: Path, patient_id: str, name: str) -> Path:
    dataset = pydicom.dcmread(source)
    dataset.PatientID, dataset.PatientName = patient_id, name
    dataset.StudyDescription = f'OHIF {patient_id}'
    target.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(target, enforce_file_format=True)
    return target


def make_studies(folder: Path) -> tuple[list[Path], list[Study]]:
    """A 24-slice CT (a disc that grows slice by slice, so every slice draws differently), the 30-frame ultrasound
    cine from pydicom's test data (JPEG baseline, YBR_FULL_422) and a CR (MONOCHROME1, 1760 × 1760)."""
    files: list[Path] = []
    ct_study = pydicom.uid.generate_uid()
    ct_series, frame_of_reference = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    rows, columns = np.mgrid[:CT_SIZE, :CT_SIZE]
    distance = np.hypot(rows - CT_SIZE / 2, columns - CT_SIZE / 2)
    for n in range(CT_SLICES):
        pixels = np.zeros((CT_SIZE, CT_SIZE), np.int16)  # -1024 HU: air
        pixels[distance < 20 + 4 * n] = 1024 + 60  # soft tissue
        pixels[distance < 8 + 2 * n] = 1024 + 700  # bone
        files.append(
            write_image(
                folder / 'ct' / f'{n:02}.dcm',
                pixels,
                study_uid=ct_study,
                series_uid=ct_series,
                PatientName='Ohif^Ct',
                PatientID='OHIF-CT',
                StudyDescription='OHIF OHIF-CT',
                StudyDate='20260102',
                StudyTime='101500',
                SeriesNumber=1,
                SeriesDescription='axial',
                InstanceNumber=n + 1,
                FrameOfReferenceUID=frame_of_reference,
                ImagePositionPatient=[-CT_SIZE * 0.35, -CT_SIZE * 0.35, 2.5 * n],
                ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                PixelSpacing=[0.7, 0.7],
                SliceThickness=2.5,
                BitsStored=12,
                RescaleIntercept=-1024,
                RescaleSlope=1,
                WindowCenter=40,
                WindowWidth=400,
            )
        )
    us = _as(sample('examples_ybr_color.dcm'), folder / 'us.dcm', 'OHIF-US', 'Ohif^Us')
    cr = _as(sample('RG3_UNCR.dcm'), folder / 'cr.dcm', 'OHIF-CR', 'Ohif^Cr')
    files += [us, cr]
    cine, radiograph = (pydicom.dcmread(path, stop_before_pixels=True) for path in (us, cr))
    studies = [
        Study('OHIF-CT', 'Ohif, Ct', ct_study, CT_SLICES),
        Study('OHIF-US', 'Ohif, Us', cine.StudyInstanceUID, int(cine.NumberOfFrames)),
        Study('OHIF-CR', 'Ohif, Cr', radiograph.StudyInstanceUID, 1),
    ]
    return files, studies


# ---------------------------------------------------------------- what the browser shows

# Installed on the page once the viewport exists: every time cornerstone draws a viewport, the image it drew is
# measured (lit pixels and a hash of the canvas) under that image's id. The first draw may already be over, so the
# probe asks for one more.
_PROBE = """
const cs = window.cornerstone;
if (!cs || !cs.getRenderingEngines) return null;
const viewports = cs.getRenderingEngines().flatMap(engine => engine.getViewports())
    .filter(v => v.getImageIds && v.getImageIds().length);
if (!viewports.length) return null;
window.__drawn = window.__drawn || {};
const measure = canvas => {
    const copy = document.createElement('canvas');
    copy.width = canvas.width; copy.height = canvas.height;
    const context = copy.getContext('2d', {willReadFrequently: true});
    context.drawImage(canvas, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    let lit = 0, hash = 0;
    for (let i = 0; i < data.length; i += 4) {
        const value = data[i] + data[i + 1] + data[i + 2];
        if (value > 24) lit++;
        hash = (Math.imul(hash, 31) + value) | 0;
    }
    return {lit: lit / (copy.width * copy.height), hash};
};
for (const viewport of viewports) {
    if (!viewport.element.__probed) {
        viewport.element.__probed = true;
        viewport.element.addEventListener(cs.Enums.Events.IMAGE_RENDERED, () => {
            const image = viewport.getCurrentImageId();
            if (image) window.__drawn[image] = measure(viewport.canvas);
        });
        viewport.render();
    }
}
const viewport = viewports[0];
return {images: viewport.getImageIds(), index: viewport.getCurrentImageIdIndex()};
"""


def visit(browser: webdriver.Chrome, url: str) -> None:
    """Open the page; from its load on, Resource Timing keeps every request (250 by default) for the final check."""
    browser.get(url)
    browser.execute_script('performance.setResourceTimingBufferSize(100000);')


def _dicomweb_requests(browser: webdriver.Chrome) -> list[dict]:
    return browser.execute_script(
        """return performance.getEntriesByType('resource').filter(e => e.name.includes('/dicomweb'))
            .map(e => ({url: e.name, status: e.responseStatus}));"""
    )


def _failed_requests(browser: webdriver.Chrome) -> list[dict]:
    return [r for r in _dicomweb_requests(browser) if not 200 <= r['status'] < 300]


def until(browser: webdriver.Chrome, check: Callable[[], T], what: str) -> T:
    """wait_until the check holds, but stop at the first DICOMweb request that failed (and name it): responseStatus
    is the HTTP status, 0 when the request never got one (refused by CORS, connection closed)."""
    failed: list[dict] = []

    def done() -> T | list[dict]:
        failed[:] = _failed_requests(browser)
        return failed or check()

    result = wait_until(done, what, timeout=LONG_WAIT_S)
    assert not failed, f'{what}: DICOMweb requests failed: {failed}'
    return result  # type: ignore[return-value]


def assert_every_dicomweb_request_succeeded(browser: webdriver.Chrome) -> None:
    assert _dicomweb_requests(browser), 'the page made no DICOMweb request'
    assert not (failed := _failed_requests(browser)), failed


def _drawn(browser: webdriver.Chrome, image: str) -> dict:
    return browser.execute_script('return window.__drawn[arguments[0]] || {lit: 0, hash: null};', image)


def _drawn_with_content(browser: webdriver.Chrome, image: str) -> bool:
    return _drawn(browser, image)['lit'] >= MIN_LIT


def open_study(browser: webdriver.Chrome, ohif: Ohif, study: Study) -> dict[str, dict]:
    """Open the study in OHIF's viewer and step through its images with the down arrow (OHIF's next-image key),
    waiting for each to be drawn; what each image drew, by image id."""
    visit(browser, f'{ohif.url}/viewer?StudyInstanceUIDs={study.study_uid}')
    state = until(browser, lambda: browser.execute_script(_PROBE), f'OHIF to show {study.patient_id}')
    images = state['images']
    assert len(images) == study.images, (study.patient_id, len(images))
    for index, image in enumerate(images):
        if index:
            ActionChains(browser).send_keys(Keys.ARROW_DOWN).perform()
        until(
            browser,
            partial(_drawn_with_content, browser, image),
            f'{study.patient_id} image {index + 1}/{len(images)} to be drawn',
        )
    return {image: _drawn(browser, image) for image in images}


# ---------------------------------------------------------------- the test


@dataclass(frozen=True)
class Pacs:
    url: str
    dicom_port: int
    ohif_port: int  # the port OHIF's own origin is to listen on


@pytest.fixture(scope='module')
def clinicpacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pacs]:
    """ClinicPACS (`main.py serve`) with DICOMweb open to OHIF's origin, http://127.0.0.1:<ohif_port>."""
    folder = tmp_path_factory.mktemp('ohif-pacs')
    ohif_port, dicom_port = free_port(), free_port()
    process, health = _serve(
        folder / 'data',
        log=folder / 'serve.log',
        PACS_DICOM_PORT=str(dicom_port),
        PACS_ACCEPT_ANY_AE='true',
        PACS_CORS_ORIGINS=f'http://127.0.0.1:{ohif_port}',
    )
    try:
        _health(process, health)
        yield Pacs(health.removesuffix('/health'), dicom_port, ohif_port)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def ohif_dist() -> Path:
    if not all((folder / 'index.html').is_file() for folder in (DIST, DIST.with_name('dist-ohif'))):
        pytest.skip(f'the OHIF viewer is not fetched: run tools/fetch_ohif.sh (it fills {DIST.relative_to(ROOT)})')
    return DIST


@pytest.fixture(scope='module')
def studies(clinicpacs: Pacs, tmp_path_factory: pytest.TempPathFactory) -> list[Study]:
    """The CT, the cine and the CR, C-STOREd into ClinicPACS and indexed."""
    files, studies = make_studies(tmp_path_factory.mktemp('ohif-studies'))
    storescu = need_tool('storescu')
    peer = ['-aet', 'OHIFTEST', '-aec', 'CLINICPACS', '127.0.0.1', str(clinicpacs.dicom_port)]
    subprocess.run(
        [storescu, '-xy', *peer, *map(str, files)],  # -xy: the cine is JPEG baseline, proposed only when asked
        check=True,
        capture_output=True,
        timeout=120,
    )

    def all_found() -> bool:
        found = httpx.get(f'{clinicpacs.url}/dicomweb/studies', auth=('admin', ADMIN_PASSWORD), timeout=5)
        return found.status_code == 200 and len(found.json()) == len(studies)

    wait_until(all_found, 'the three studies to be indexed')
    return studies


def test_ohif_from_another_origin_lists_the_studies_and_draws_every_image(
    ohif_dist: Path, clinicpacs: Pacs, studies: list[Study], browser: webdriver.Chrome
) -> None:
    with serve_ohif(clinicpacs.ohif_port, f'{clinicpacs.url}/dicomweb', 'admin', ADMIN_PASSWORD) as ohif:
        check_ohif(browser, ohif, studies)


def test_clinicpacs_serves_ohif_under_ohif_reading_dicomweb_with_the_session(
    ohif_dist: Path, clinicpacs: Pacs, studies: list[Study], browser: webdriver.Chrome
) -> None:
    browser.get(f'{clinicpacs.url}/ohif/')
    wait_for(browser, 'input[autocomplete="username"]')  # no session yet: sent to sign in
    log_in(browser, clinicpacs.url, password=ADMIN_PASSWORD)
    check_ohif(browser, Ohif(f'{clinicpacs.url}/ohif'), studies)


def check_ohif(browser: webdriver.Chrome, ohif: Ohif, studies: list[Study]) -> None:
    """The study list, then each study in the viewer: every image drawn (the CT's slices all different)."""
    visit(browser, f'{ohif.url}/')
    until(
        browser,
        lambda: all(s.listed_as in browser.find_element(By.TAG_NAME, 'body').text for s in studies),
        'the study list to show the three studies',
    )
    assert_every_dicomweb_request_succeeded(browser)
    for study in studies:
        drawn = open_study(browser, ohif, study)
        if study.patient_id == 'OHIF-CT':
            assert len({seen['hash'] for seen in drawn.values()}) == CT_SLICES, 'two CT slices drew the same'
        assert_every_dicomweb_request_succeeded(browser)
