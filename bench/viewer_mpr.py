"""The viewer benchmark's MPR part: cold first coronal image and reslices over HTTP, coronal scrolling in chromium.

Over HTTP (one kept-alive connection, as the canvas asks: JPEG, viewport 1024, quality 90):
- cold: the middle coronal image of a 300-slice 512×512 CT that the server has not read yet. The bench loads
  more such series than the server's MPR cache holds (7 × 157 MB against 1 GiB) and asks for them in turn, so
  each request finds its volume evicted and reads all 300 files again. The files were just stored, so they are
  in the operating system's page cache (page cache warm, volume cache cold), as on a server that just received
  the study;
- warm: coronal, sagittal and a 10 mm coronal MIP at random positions of a volume already read.
In chromium: the viewer's MPR mode on a 300-slice CT, scrolling its coronal images with the mouse wheel, one
wheel step per animation frame once the canvas drew the image before (so at most the display's 60 images/s):
from the middle image, where MPR opens, to the last (255 images) while the planes still stream in, then 300
images back once all 512 are prefetched.
"""

import random
import statistics
import time
from collections.abc import Callable

import httpx

QUERY = '?viewport=1024,1024&quality=90'  # what ui/viewer_canvas.js asks for
CORONAL_IMAGES = 512  # a 512×512 CT has 512 coronal planes
SCROLLED = 300  # images scrolled once prefetched


def http(client: httpx.Client, series_ids: list[int], passes: int = 3, reslices: int = 60) -> dict[str, list[float]]:
    """Milliseconds per request: cold first coronal images (every series in turn, `passes` times: 'cold, first pass'
    while the server's memory grows, then 'cold'), then reslices."""
    found: dict[str, list[float]] = {'cold, first pass': [], 'cold': []}
    middle = CORONAL_IMAGES // 2
    for n in range(passes):
        for series_id in series_ids:
            time_ms = _timed(client, f'/mpr/{series_id}/coronal/avg/1/{middle}{QUERY}')
            found['cold' if n else 'cold, first pass'].append(time_ms)
    loaded = series_ids[-1]
    chooser = random.Random(17)
    for name, path in (
        ('coronal', 'coronal/avg/1'),
        ('sagittal', 'sagittal/avg/1'),
        ('coronal MIP 10 mm', 'coronal/mip/21'),
    ):
        found[name] = [
            _timed(client, f'/mpr/{loaded}/{path}/{chooser.randrange(CORONAL_IMAGES)}{QUERY}') for _n in range(reslices)
        ]
    return found


def browser(driver, url: str, study_id: int, until: Callable[..., None]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Coronal images per second in the viewer's MPR mode: while the planes stream in, and once prefetched."""
    from selenium.webdriver.common.by import By

    driver.get(f'{url}/viewer/{study_id}')
    until(driver, "return !!document.querySelector('[data-testid=mpr]')", timeout=30)
    until(driver, _DRAWN.format(n=0), timeout=30)
    driver.find_element(By.CSS_SELECTOR, '[data-testid=mpr]').click()
    until(driver, _DRAWN.format(n=1) + ' && c.dataset.crosshair !== undefined', timeout=60)
    middle, last = CORONAL_IMAGES // 2, CORONAL_IMAGES - 1
    streaming = driver.execute_async_script(_SCROLL, middle, last)
    until(driver, _PREFETCHED.format(count=CORONAL_IMAGES), timeout=120)
    prefetched = driver.execute_async_script(_SCROLL, last, last - SCROLLED)
    return streaming, prefetched


def first_touch_ms(megabytes: int = 157) -> float:
    """How long this machine takes to hand out and touch fresh memory the size of a volume (page faults; on a VM
    whose host backs guest memory lazily this is much more than zeroing it)."""
    import numpy as np

    start = time.perf_counter()
    np.ones(megabytes * 1024 * 1024, np.uint8)
    return (time.perf_counter() - start) * 1000


def _timed(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path, headers={'Accept': 'image/jpeg'})
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f'{path} answered {response.status_code}: {response.text[:200]}')
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float('nan')


_DRAWN = "const c = document.querySelector('[data-testid=viewport-{n}]'); return !!c && +(c.dataset.drawn || 0) > 0"
_PREFETCHED = """
const el = document.querySelector('[data-testid=viewport-1]');
return getElement(el).cache.size >= {count};
"""

# From image `from` (jumped to without an 'index' event when not there already), one wheel step at a time to `to`,
# each step once the image before is drawn.
_SCROLL = """
const [from, to, done] = arguments;
const canvas = document.querySelector('[data-testid=viewport-1]');
if (+canvas.dataset.index !== from) getElement(canvas).goTo(from);
const direction = to > from ? 1 : -1;
let expected = null;
let t0 = 0;
const wheel = () => canvas.dispatchEvent(new WheelEvent('wheel', {deltaY: 100 * direction, bubbles: true,
                                                                  cancelable: true}));
const vue = getElement(canvas);
// drawn: the canvas shows image i's own picture (data-index alone may run ahead of the picture while it loads)
const drawn = (i) => +canvas.dataset.index === i && vue.shownBitmap === vue.cache.get(vue.url(i));
function tick() {
  if (expected === null) {
    if (drawn(from)) { t0 = performance.now(); expected = from + direction; wheel(); }
  } else if (drawn(expected)) {
    if (expected === to) return done(Math.abs(to - from) / ((performance.now() - t0) / 1000));
    expected += direction;
    wheel();
  }
  if (t0 && performance.now() - t0 > 120000) return done(-1);
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);
"""
