"""Viewer benchmark: our rendered-frame endpoint against Orthanc's DICOMweb /rendered, the canvas in chromium, MPR.

Starts ClinicPACS (`main.py serve`) and Debian's Orthanc with its DICOMweb plugin, each on loopback ports
with a data directory of its own, loads the same corpus into both (bench/viewer_corpus.py: a 200-slice
512×512 CT, a 2500×2000 radiograph, a 640×480 ultrasound loop), then measures over HTTP with one kept-alive
connection per server, interleaving rounds so all see the same machine load. Prints medians and the ratio
ours / Orthanc (≤ 1.0 means at or below Orthanc). Then opens the CT and the loop in headless chromium (a fresh
browser each round): first image visible, slices per second while scrolling all 200, and cine frames per second.
Then MPR (bench/viewer_mpr.py): the first coronal image of a 300-slice CT from cold and reslices over HTTP, and
coronal images per second while scrolling in the viewer's MPR mode.

`--before DIR` also serves an earlier checkout of ClinicPACS (e.g. `git worktree add /tmp/before c2f0666` with
the .venv linked in) from its own data directory, measured in the same rounds, and prints "before vs now".

    .venv/bin/python bench/viewer.py [--rounds 40] [--browser-rounds 3] [--before DIR]
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
import viewer_mpr  # noqa: E402

PASSWORD = 'bench admin password'
ORTHANC_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=40)
    parser.add_argument('--browser-rounds', type=int, default=3)
    parser.add_argument('--mpr-copies', type=int, default=7, help='300-slice CTs (more than the MPR cache holds)')
    parser.add_argument('--before', type=Path, help='an earlier checkout to measure beside this one')
    parser.add_argument('--mpr-only', action='store_true', help='only the MPR figures (no Orthanc, no --before)')
    args = parser.parse_args()
    print(f'load before: {_load_average()}')
    work = Path(tempfile.mkdtemp(prefix='viewer-bench-'))
    corpus = viewer_corpus.build(Path(tempfile.gettempdir()) / 'viewer-corpus')
    files = corpus['ct'] + corpus['radiograph'] + corpus['ultrasound']
    mpr_series = viewer_corpus.build_mpr(Path(tempfile.gettempdir()) / 'viewer-mpr-corpus', args.mpr_copies)
    ids = viewer_corpus.load(work / 'pacs', files + [path for series in mpr_series for path in series])
    os.sync()  # the stored copies written out before anything is timed
    mpr_ids = [ids[str(pydicom.dcmread(series[0], stop_before_pixels=True).SeriesInstanceUID)] for series in mpr_series]
    servers: dict[str, tuple[str, subprocess.Popen]] = {}
    orthanc = None
    try:
        servers['now'] = _start_ours(ROOT, work / 'pacs')
        if args.mpr_only:
            _mpr(servers['now'][0], mpr_ids, args.browser_rounds)
            return
        if args.before:
            before = _label(args.before)
            _load_elsewhere(args.before, work / 'before', files)
            servers[before] = _start_ours(args.before, work / 'before')
        orthanc = _start_orthanc(work / 'orthanc', files)
        _rendered(servers, orthanc[0], _cases(corpus), args.rounds)
        _browsers(servers, args.browser_rounds)
        _mpr(servers['now'][0], mpr_ids, args.browser_rounds)
        print(f'load after: {_load_average()}')
    finally:
        for started in (*servers.values(), orthanc):
            if started:
                started[1].terminate()
                started[1].wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _rendered(
    servers: dict[str, tuple[str, subprocess.Popen]], orthanc: str, cases: dict[str, list[str]], rounds: int
) -> None:
    """Each case's median over HTTP, every server asked in each round (in turn first), ratio to Orthanc."""
    names = [*servers, 'Orthanc']
    clients = {
        name: httpx.Client(base_url=url, auth=('admin', PASSWORD), timeout=60) for name, (url, _p) in servers.items()
    }
    clients['Orthanc'] = httpx.Client(base_url=orthanc, timeout=60)
    header = ''.join(f'{name + " p50 ms":>16}' for name in names)
    ratios = ''.join(f'{name + "/Orthanc":>16}' for name in servers)
    print(f'{"case":<34}{header}{ratios}')
    try:
        for name, paths in cases.items():
            for path in paths[:2]:  # warm every server: first decode, connection
                for client in clients.values():
                    _get(client, path)
            times: dict[str, list[float]] = {server: [] for server in names}
            for n in range(rounds):
                path = paths[n % len(paths)]
                for k in range(len(names)):
                    server = names[(n + k) % len(names)]
                    times[server].append(_timed(clients[server], path))
            medians = {server: statistics.median(found) for server, found in times.items()}
            cells = ''.join(f'{medians[server]:>16.1f}' for server in names)
            cells += ''.join(f'{medians[server] / medians["Orthanc"]:>16.2f}' for server in servers)
            print(f'{name:<34}{cells}')
    finally:
        for client in clients.values():
            client.close()


def _mpr(url: str, series: list[tuple[int, int]], rounds: int) -> None:
    """MPR over HTTP (cold first coronal image, reslices), then coronal scrolling in chromium."""
    touch = [viewer_mpr.first_touch_ms() for _n in range(3)]
    with httpx.Client(base_url=url, auth=('admin', PASSWORD), timeout=60) as client:
        found = viewer_mpr.http(client, [series_id for _study, series_id in series])
    touch += [viewer_mpr.first_touch_ms() for _n in range(3)]
    tries = ', '.join(f'{t:.0f}' for t in touch)
    print(f'fresh memory on this machine: {statistics.median(touch):.0f} ms to touch 157 MB (tries: {tries})')
    for name in ('cold, first pass', 'cold'):
        times = found.pop(name)
        print(
            f'MPR first coronal image of a 512×512×300 CT from {name} (page cache warm), over HTTP: '
            f'p50 {viewer_mpr.median(times):.0f} ms (target 300; {", ".join(f"{t:.0f}" for t in times)})'
        )
    for name, times in found.items():
        print(f'MPR {name} image once loaded, over HTTP: p50 {viewer_mpr.median(times):.1f} ms (target 20)')
    streaming, prefetched = [], []
    for n in range(rounds):
        driver = _driver()
        try:
            _log_in(driver, url)
            a, b = viewer_mpr.browser(driver, url, series[n % len(series)][0], _until)
        finally:
            driver.quit()
        streaming.append(a), prefetched.append(b)
    print(
        f'MPR scrolling {viewer_mpr.CORONAL_IMAGES // 2 - 1} coronal images in chromium (as they stream in): '
        f'{viewer_mpr.median(streaming):.1f} images/s (target 20; rounds {", ".join(f"{r:.1f}" for r in streaming)})'
    )
    print(
        f'MPR scrolling {viewer_mpr.SCROLLED} coronal images again (prefetched): '
        f'{viewer_mpr.median(prefetched):.1f} images/s (rounds {", ".join(f"{r:.1f}" for r in prefetched)})'
    )


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


def _start_ours(checkout: Path, data_dir: Path) -> tuple[str, subprocess.Popen]:
    port, dicom = _free_port(), _free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith('PACS_')},
        'PACS_DATA_DIR': str(data_dir),
        'PACS_HTTP_HOST': '127.0.0.1',
        'PACS_HTTP_PORT': str(port),
        'PACS_DICOM_PORT': str(dicom),
        'PACS_ADMIN_PASSWORD': PASSWORD,
    }
    log = (data_dir.parent / f'{data_dir.name}.log').open('w')
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'serve'], cwd=checkout, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f'http://127.0.0.1:{port}'
    _wait(f'{url}/health', process)
    _settle(process.pid)
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


def _settle(pid: int, timeout: float = 180) -> None:
    """Wait until a started server is idle: the studies just loaded are processed (thumbnails, series) first."""
    ticks = os.sysconf('SC_CLK_TCK')

    def cpu_seconds() -> float:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    deadline, quiet, last = time.monotonic() + timeout, 0, cpu_seconds()
    while quiet < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds()
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _browsers(servers: dict[str, tuple[str, subprocess.Popen]], rounds: int) -> None:
    """The canvas in chromium for every server, a fresh browser per server and round, servers in turn first."""
    names = list(servers)
    found: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for n in range(rounds):
        for k in range(len(names)):
            name = names[(n + k) % len(names)]
            for measure, value in _browser(servers[name][0]).items():
                found[name].setdefault(measure, []).append(value)
    print(
        f'{"in chromium (median of " + str(rounds) + " rounds)":<52}'
        + ''.join(f'{name:>12}' for name in reversed(names))
    )
    for measure in found[names[0]]:
        print(
            f'{measure:<52}' + ''.join(f'{statistics.median(found[name][measure]):>12.1f}' for name in reversed(names))
        )


def _browser(url: str) -> dict[str, float]:
    from selenium.webdriver.common.by import By

    driver = _driver()
    try:
        _log_in(driver, url)
        start = time.perf_counter()
        driver.get(f'{url}/viewer/1')  # the CT study was loaded first
        _until(
            driver,
            "const c = document.querySelector('[data-testid=viewport-0]');return c && +(c.dataset.drawn || 0) > 0",
            timeout=30,
        )
        found = {'first CT image visible (ms)': (time.perf_counter() - start) * 1000}
        found['scrolling 200 CT slices as they stream in (slices/s)'] = driver.execute_async_script(_SCROLL)
        found['scrolling 200 CT slices again, prefetched (slices/s)'] = driver.execute_async_script(_SCROLL)
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
        found['cine 640×480 loop at 30 fps (frames/s drawn)'] = (after['drawn'] - before['drawn']) / seconds
        found['cine frames dropped in 4 s'] = after['dropped'] - before['dropped']
        return found
    finally:
        driver.quit()


def _driver():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
    driver.set_script_timeout(300)  # a slow scroll is a figure, not an error
    return driver


def _log_in(driver, url: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f'{url}/login')
    _until(driver, 'return !!document.querySelector(\'input[autocomplete="username"]\')')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete="username"]').send_keys('admin')
    driver.find_element(By.CSS_SELECTOR, 'input[autocomplete="current-password"]').send_keys(PASSWORD)
    driver.find_element(By.XPATH, '//button[.//span[text()="Sign in"]]').click()
    _until(driver, "return !!document.querySelector('header')")


def _load_average() -> str:
    return ' '.join(Path('/proc/loadavg').read_text().split()[:3]) + f' ({os.cpu_count()} cores)'


def _label(checkout: Path) -> str:
    found = subprocess.run(
        ['git', 'rev-parse', '--short', 'HEAD'], cwd=checkout, capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or checkout.name


def _load_elsewhere(checkout: Path, data_dir: Path, files: list[Path]) -> None:
    """The corpus into a data directory through another checkout's own ingest and schema (a process of its own)."""
    script = (
        'import sys; from pathlib import Path; sys.path.insert(0, "bench"); import viewer_corpus; '
        'viewer_corpus.load(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])'
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith('PACS_')}
    subprocess.run(
        [sys.executable, '-c', script, str(data_dir), *map(str, files)], cwd=checkout, env=environment, check=True
    )


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
