"""Viewer benchmark: our rendered-frame endpoint against Orthanc's DICOMweb /rendered, and the canvas in chromium.

Starts ClinicPACS (`main.py serve`) and Debian's Orthanc with its DICOMweb plugin, each on loopback ports
with a data directory of its own, loads the same corpus into both (bench/viewer_corpus.py: a 200-slice
512×512 CT, a 2500×2000 radiograph, a 640×480 ultrasound loop), then measures over HTTP with one kept-alive
connection per server, interleaving rounds so both see the same machine load. Prints medians and the ratio
ours / Orthanc (≤ 1.0 means at or below Orthanc). Then opens the CT and the loop in headless chromium:
first image visible, slices per second while scrolling all 200, and cine frames per second.

    .venv/bin/python bench/viewer.py [--rounds 40]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pydicom

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

import viewer_corpus  # noqa: E402

PASSWORD = 'bench admin password'
ORTHANC_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix='viewer-bench-'))
    corpus = viewer_corpus.build(Path(tempfile.gettempdir()) / 'viewer-corpus')
    files = corpus['ct'] + corpus['radiograph'] + corpus['ultrasound']
    viewer_corpus.load(work / 'pacs', files)
    ours, orthanc = None, None
    try:
        ours = _start_ours(work / 'pacs')
        orthanc = _start_orthanc(work / 'orthanc', files)
        cases = _cases(corpus)
        print(f'{"case":<34} {"ours p50 ms":>12} {"Orthanc p50 ms":>15} {"ratio":>7}')
        with (
            httpx.Client(base_url=ours[0], auth=('admin', PASSWORD), timeout=60) as mine,
            httpx.Client(base_url=orthanc[0], timeout=60) as theirs,
        ):
            for name, paths in cases.items():
                for path in paths[:2]:  # warm both: first decode, connection
                    _get(mine, path), _get(theirs, path)
                ours_ms, theirs_ms = [], []
                for n in range(args.rounds):
                    path = paths[n % len(paths)]
                    first, second = (mine, theirs) if n % 2 == 0 else (theirs, mine)
                    a, b = _timed(first, path), _timed(second, path)
                    (ours_ms if first is mine else theirs_ms).append(a)
                    (theirs_ms if first is mine else ours_ms).append(b)
                p50, q50 = statistics.median(ours_ms), statistics.median(theirs_ms)
                print(f'{name:<34} {p50:>12.1f} {q50:>15.1f} {p50 / q50:>7.2f}')
        _browser(ours[0])
    finally:
        for started in (ours, orthanc):
            if started:
                started[1].terminate()
                started[1].wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _cases(corpus: dict[str, list[Path]]) -> dict[str, list[str]]:
    ct = _base(corpus['ct'][0])
    radiograph = _base(corpus['radiograph'][0])
    loop = _base(corpus['ultrasound'][0])
    frames = int(pydicom.dcmread(corpus['ultrasound'][0], stop_before_pixels=True).NumberOfFrames)
    return {
        'CT 512² new window (JPEG)': [
            f'{ct}/frames/1/rendered?window={40 + n},{400 + 3 * n},linear' for n in range(400)
        ],
        'radiograph 2500×2000 → 1024 (JPEG)': [f'{radiograph}/frames/1/rendered?viewport=1024,1024'],
        'US 640×480 frame of a loop (JPEG)': [f'{loop}/frames/{1 + n % frames}/rendered' for n in range(frames)],
    }


def _base(path: Path) -> str:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return f'/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}'


def _get(client: httpx.Client, path: str) -> None:
    response = client.get(path, headers={'Accept': 'image/jpeg'})
    if response.status_code != 200:
        raise RuntimeError(f'{client.base_url}{path} answered {response.status_code}: {response.text[:200]}')


def _timed(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    _get(client, path)
    return (time.perf_counter() - start) * 1000


def _start_ours(data_dir: Path) -> tuple[str, subprocess.Popen]:
    port, dicom = _free_port(), _free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith('PACS_')},
        'PACS_DATA_DIR': str(data_dir),
        'PACS_HTTP_HOST': '127.0.0.1',
        'PACS_HTTP_PORT': str(port),
        'PACS_DICOM_PORT': str(dicom),
        'PACS_ADMIN_PASSWORD': PASSWORD,
    }
    log = (data_dir.parent / 'pacs.log').open('w')
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'serve'], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f'http://127.0.0.1:{port}'
    _wait(f'{url}/health', process)
    return url, process


def _start_orthanc(folder: Path, files: list[Path]) -> tuple[str, subprocess.Popen]:
    folder.mkdir(parents=True)
    port, dicom = _free_port(), _free_port()
    config = {
        'Name': 'bench',
        'StorageDirectory': str(folder / 'db'),
        'IndexDirectory': str(folder / 'db'),
        'HttpPort': port,
        'DicomPort': dicom,
        'RemoteAccessAllowed': False,
        'AuthenticationEnabled': False,
        'Plugins': [ORTHANC_PLUGIN],
        'DicomWeb': {'Enable': True, 'Root': '/dicomweb/'},
        'KeepAlive': True,
    }
    (folder / 'orthanc.json').write_text(json.dumps(config))
    log = (folder / 'orthanc.log').open('w')
    process = subprocess.Popen(['Orthanc', str(folder / 'orthanc.json')], stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    _wait(f'{url}/system', process)
    with httpx.Client(base_url=url, timeout=60) as client:
        for path in files:
            client.post('/instances', content=path.read_bytes()).raise_for_status()
    return url, process


def _wait(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'{url}: the server exited')
        try:
            if httpx.get(url, timeout=1).status_code in (200, 503):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f'{url} did not answer')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _browser(url: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    for flag in (
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--window-size=1400,900',
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=options)
    try:
        driver.get(f'{url}/login')
        _until(driver, 'return !!document.querySelector(\'input[autocomplete="username"]\')')
        driver.find_element(By.CSS_SELECTOR, 'input[autocomplete="username"]').send_keys('admin')
        driver.find_element(By.CSS_SELECTOR, 'input[autocomplete="current-password"]').send_keys(PASSWORD)
        driver.find_element(By.XPATH, '//button[.//span[text()="Sign in"]]').click()
        _until(driver, "return !!document.querySelector('header')")
        start = time.perf_counter()
        driver.get(f'{url}/viewer/1')  # the CT study was loaded first
        _until(
            driver,
            "const c = document.querySelector('[data-testid=viewport-0]');return c && +(c.dataset.drawn || 0) > 0",
            timeout=30,
        )
        print(f'first CT image visible after opening the viewer: {(time.perf_counter() - start) * 1000:.0f} ms')
        rate = driver.execute_async_script(_SCROLL)
        print(f'scrolling all 200 CT slices (as they stream in): {rate:.1f} slices/s')
        rate = driver.execute_async_script(_SCROLL)
        print(f'scrolling all 200 CT slices again (prefetched): {rate:.1f} slices/s')
        driver.get(f'{url}/viewer/3')  # the ultrasound loop
        _until(
            driver,
            "const c = document.querySelector('[data-testid=viewport-0]');return c && +(c.dataset.drawn || 0) > 0",
            timeout=30,
        )
        time.sleep(3)  # the loop's frames are prefetched while the first frame is looked at
        driver.find_element(By.XPATH, '//button[.//i[text()="play_arrow"]]').click()
        time.sleep(0.5)
        before = driver.execute_script('return {...window.viewerStats, t: performance.now()}')
        time.sleep(4)
        after = driver.execute_script('return {...window.viewerStats, t: performance.now()}')
        seconds = (after['t'] - before['t']) / 1000
        print(
            f'cine 640×480 loop at its 30 fps: {(after["drawn"] - before["drawn"]) / seconds:.1f} frames/s drawn, '
            f'{after["dropped"] - before["dropped"]} dropped'
        )
    finally:
        driver.quit()


_SCROLL = """
const done = arguments[arguments.length - 1];
const canvas = document.querySelector('[data-testid=viewport-0]');
const from = +canvas.dataset.index || 0;
const direction = from === 0 ? 1 : -1;
const last = direction > 0 ? 199 : 0;
let expected = from + direction;
const t0 = performance.now();
const wheel = () => canvas.dispatchEvent(new WheelEvent('wheel', {deltaY: 100 * direction, bubbles: true,
                                                                  cancelable: true}));
function tick() {
  if (+canvas.dataset.index === expected) {
    if (expected === last) return done(199 / ((performance.now() - t0) / 1000));
    expected += direction;
    wheel();
  }
  if (performance.now() - t0 > 60000) return done(-1);
  requestAnimationFrame(tick);
}
wheel();
requestAnimationFrame(tick);
"""


def _until(driver, script: str, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return
        time.sleep(0.02)
    raise RuntimeError(f'timed out waiting for: {script[:80]}')


if __name__ == '__main__':
    main()
