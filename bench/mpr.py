"""MPR benchmark: the first coronal image of a 512×512×300 CT from cold, then ms per resliced image once loaded.

Builds the CT with bench/viewer_corpus.py (pydicom-data's real CT slice, 300 slices 1.25 mm apart, written
uncompressed), then in this process, as the MPR route does it (dicom/wado_mpr.py without HTTP):
- cold: an empty volume cache, every slice read and checked, the volume built, the coronal plane through the
  middle resliced, windowed and encoded as the canvas asks for it (JPEG, viewport 1024); the files are in the
  operating system's page cache after the first round, as on a server that just received the study;
- warm: axial, coronal and sagittal images at random positions (thin and a 10 mm MIP slab), each rendered
  to JPEG as above. Prints medians (and p90) in milliseconds, and the machine's load average before and after.
The first round also pays for the process's first touch of 157 MB of memory (slow on a VM that backs memory lazily);
later rounds reuse the memory the previous round freed. bench/viewer.py measures the same through HTTP.

    .venv/bin/python bench/mpr.py [--rounds 5] [--reslices 200]
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

import viewer_corpus  # noqa: E402

from dicom import mpr  # noqa: E402
from dicom.volume import VolumeCache  # noqa: E402

SLICES = 300
VIEWPORT = (1024, 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--reslices', type=int, default=200)
    args = parser.parse_args()
    print(f'load average before: {_load()}')
    folder = Path(tempfile.gettempdir()) / 'mpr-corpus'
    files = viewer_corpus.build(folder, slices=SLICES)['ct']
    cold = []
    for _round in range(args.rounds):
        cache = VolumeCache()
        start = time.perf_counter()
        volume = cache.get('ct', files)
        middle = mpr.geometry(volume, 'coronal').count // 2
        mpr.rendered(volume, 'coronal', middle, viewport=VIEWPORT)
        cold.append((time.perf_counter() - start) * 1000)
    print(f'volume {volume.shape} (z, y, x), {volume.nbytes / 1e6:.0f} MB, spacing {volume.spacing} mm')
    _report('first coronal image from cold (volume load included)', cold, 300)
    chooser = random.Random(17)
    for plane in mpr.PLANES:
        count = mpr.geometry(volume, plane).count
        for mode, thickness in (('avg', 1), ('mip', round(10 / volume.spacing[mpr.PLANES.index(plane)]))):
            times = []
            for _n in range(args.reslices):
                index = chooser.randrange(count)
                start = time.perf_counter()
                mpr.rendered(volume, plane, index, thickness=thickness, mode=mode, viewport=VIEWPORT)
                times.append((time.perf_counter() - start) * 1000)
            label = f'{plane} reslice, {"thin" if thickness == 1 else f"{mode} slab of {thickness}"}'
            _report(label, times, 20)
    print(f'load average after: {_load()}')


def _load() -> str:
    return ' '.join(Path('/proc/loadavg').read_text().split()[:3])


def _report(name: str, times: list[float], target: float) -> None:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    median = statistics.median(times)
    verdict = 'within' if median <= target else 'OVER'
    print(f'{name:<56} p50 {median:8.1f} ms   p90 {p90:8.1f} ms   ({verdict} the {target:g} ms target)')


if __name__ == '__main__':
    main()
