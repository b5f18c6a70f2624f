"""DICOMweb and C-MOVE benchmark: ClinicPACS against Orthanc's DICOMweb plugin, in the same run.

Starts `main.py serve`, Debian's Orthanc (+ orthanc-dicomweb at its defaults: StudiesMetadata and
SeriesMetadata "Full", i.e. read from every stored file) and DCMTK's storescp, each a process of its own
on free loopback ports (bench/dicomweb_peers.py). The same 200-image 512×512 16-bit CT study (a real
slice from pydicom-data, new UIDs and positions) is C-STOREd into both servers, plus one more such
series per round for the cold metadata figure. Then, rounds interleaved (ours, Orthanc; Orthanc, ours; …),
one kept-alive HTTP Basic connection per server, medians:

1. series metadata (application/dicom+json) of a 200-image series: cold-ish = the first request ever for
   that series (a new one each round; files in the OS page cache, as just received), and warm = the
   same series asked again;
2. one frame (`.../frames/1`, multipart/related; type="application/octet-stream"), p50 over random
   instances of the series;
3. whole-study retrieve (multipart/related; type="application/dicom"; transfer-syntax=*), MB/s;
4. C-MOVE of the study to storescp with DCMTK's movescu, seconds until the final response.

The ratio column is ours / Orthanc in time (for MB/s: Orthanc's MB/s / ours); ≤ 1.0 is the target.

    .venv/bin/python bench/dicomweb.py [--rounds 5] [--frames 100] [--only metadata frame retrieve move] [--keep]
"""

import argparse
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dicomweb_peers import (
    DESTINATION_AE,
    ROOT,
    SCU_AE,
    Peer,
    Series,
    ct_series,
    start_orthanc,
    start_ours,
    start_storescp,
    store,
    wait_indexed,
)

FIGURES = ('metadata', 'frame', 'retrieve', 'move')
METADATA = 'application/dicom+json'
FRAME = 'multipart/related; type="application/octet-stream"'
STUDY = 'multipart/related; type="application/dicom"; transfer-syntax=*'


PROFILED = (  # the modules on the measured paths, for the profile's summary
    r'/(dicom/(wado_rs|dicom_json|multipart|pixel_frames|accept|qr|sending|transcode|storage)'
    r'|domain/(image_retrieval|viewing|audit|machine_auth|access|db)|ui/(guard|asgi|edge_security))\.py'
)
SIZES: dict[tuple[str, str], int] = {}  # (what, peer) -> bytes of the last answer, to compare like with like


class Unavailable(Exception):
    """A peer cannot serve this figure (e.g. the route answers 404)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--frames', type=int, default=100, help='random instances for the frame p50')
    parser.add_argument('--slices', type=int, default=200, help='images in the CT series (200; fewer to debug)')
    parser.add_argument(
        '--only', nargs='+', choices=FIGURES, default=list(FIGURES), help='measure only these (default: all four)'
    )
    parser.add_argument('--keep', action='store_true', help='keep the temporary directory')
    parser.add_argument(
        '--profile', type=Path, help='run our server under cProfile (bench/profiled_serve.py) and write its stats here'
    )
    args = parser.parse_args()
    for tool in ('storescu', 'storescp', 'movescu', 'Orthanc'):
        if shutil.which(tool) is None:
            print(f'{tool} is not installed', file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix='bench-dicomweb-'))
    started: list[Peer] = []
    storescp = None
    load_before = os.getloadavg()
    try:
        study = ct_series(work / 'corpus' / 'study', args.slices)
        cold_rounds = args.rounds if 'metadata' in args.only else 0
        cold = [ct_series(work / 'corpus' / f'cold{k}', args.slices) for k in range(cold_rounds)]
        size_mb = sum(path.stat().st_size for path in study.files) / 1e6
        print(f'corpus: a {len(study.files)}-image CT study ({size_mb:.0f} MB) + {len(cold)} more for cold metadata')
        storescp, destination_port = start_storescp(work / 'received')
        started.append(start_ours(work / 'ours', destination_port, profile=args.profile))
        started.append(start_orthanc(work / 'orthanc', destination_port))
        print(
            f'{started[1].extra["version"]}, plugin options at their defaults: StudiesMetadata and SeriesMetadata '
            '"Full" (every file of the series read per request)'
        )
        for peer in started:
            begun = time.perf_counter()
            store(peer, [f for series in (study, *cold) for f in series.files])
            wait_indexed(peer, [study, *cold])
            print(f'{peer.name}: stored and indexed in {time.perf_counter() - begun:.1f} s')
        results = _measure(
            started, study, cold, only=args.only, frames=args.frames, rounds=args.rounds, received=work / 'received'
        )
        _table(results, [peer.name for peer in started])
        load_after = os.getloadavg()
        print(
            f'machine: {os.cpu_count()} cores; load average (1/5/15 min) {_load(load_before)} before, '
            f'{_load(load_after)} after — shared with other work, so absolute times are noisy; the ratios matter'
        )
        return 0
    finally:
        for peer in started:
            peer.stop()
        if storescp is not None:
            storescp.terminate()
            storescp.wait(timeout=10)
        if args.profile is not None and args.profile.exists():
            _profile_summary(args.profile)
        if args.keep:
            print(f'kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)


Figures = dict[str, dict[str, list[float] | str]]


def _measure(
    peers: list[Peer], study: Series, cold: list[Series], *, only: list[str], frames: int, rounds: int, received: Path
) -> Figures:
    results: Figures = {}
    clients = {peer.name: httpx.Client(auth=peer.auth, timeout=300) for peer in peers}
    try:
        if 'metadata' in only:
            results['series metadata, cold-ish (ms)'] = _interleave(
                peers, [partial(_metadata, clients, series=s) for s in cold], warm=False
            )
            results['series metadata, warm (ms)'] = _interleave(
                peers, [partial(_metadata, clients, series=study)] * rounds * 2
            )
        if 'frame' in only:
            chosen = random.Random(13).sample(study.instances, min(frames, len(study.instances)))
            results['one frame p50 (ms)'] = _interleave(
                peers, [partial(_frame, clients, study=study, instance=i) for i in chosen]
            )
        if 'retrieve' in only:
            results['whole-study retrieve (MB/s)'] = _interleave(
                peers, [partial(_retrieve, clients, study=study)] * rounds
            )
        if 'move' in only:
            results['C-MOVE to storescp (s)'] = _interleave(
                peers, [partial(_move, study=study, received=received)] * rounds, warm=False
            )
    finally:
        for client in clients.values():
            client.close()
    return results


def _interleave(peers: list[Peer], steps: Sequence[Callable[[Peer], float]], *, warm: bool = True) -> dict:
    """Run each step on every peer, the peers' order alternating; a peer that fails its first try drops out."""
    figures: dict[str, list[float] | str] = {peer.name: [] for peer in peers}
    if warm:
        for peer in peers:
            try:
                steps[0](peer)
            except Unavailable as refusal:
                figures[peer.name] = f'n/a ({refusal})'
    for index, step in enumerate(steps):
        order = peers if index % 2 == 0 else peers[::-1]
        for peer in order:
            values = figures[peer.name]
            if isinstance(values, str):
                continue
            try:
                values.append(step(peer))
            except Unavailable as refusal:
                figures[peer.name] = f'n/a ({refusal})'
    return figures


# ---------------------------------------------------------------- the four figures


def _metadata(clients: dict[str, httpx.Client], peer: Peer, *, series: Series) -> float:
    client = clients[peer.name]
    path = f'{peer.dicomweb}/studies/{series.study}/series/{series.series}/metadata'
    begun = time.perf_counter()
    response = client.get(path, headers={'Accept': METADATA})
    elapsed = time.perf_counter() - begun
    _ok(response)
    if len(response.json()) != len(series.instances):
        raise Unavailable(f'{len(response.json())} datasets, not {len(series.instances)}')
    SIZES['series metadata', peer.name] = len(response.content)
    return elapsed * 1000


def _frame(clients: dict[str, httpx.Client], peer: Peer, *, study: Series, instance: str) -> float:
    client = clients[peer.name]
    path = f'{peer.dicomweb}/studies/{study.study}/series/{study.series}/instances/{instance}/frames/1'
    begun = time.perf_counter()
    response = client.get(path, headers={'Accept': FRAME})
    elapsed = time.perf_counter() - begun
    _ok(response)
    if len(response.content) < 512 * 512 * 2:
        raise Unavailable(f'a frame of {len(response.content)} bytes')
    SIZES['one frame', peer.name] = len(response.content)
    return elapsed * 1000


def _retrieve(clients: dict[str, httpx.Client], peer: Peer, *, study: Series) -> float:
    client = clients[peer.name]
    """MB/s of the whole study as multipart/related application/dicom, read to its last byte."""
    received = 0
    begun = time.perf_counter()
    with client.stream('GET', f'{peer.dicomweb}/studies/{study.study}', headers={'Accept': STUDY}) as response:
        if response.status_code != 200:
            response.read()
            _ok(response)
        boundary = _boundary(response.headers.get('content-type', ''))
        parts = 0
        tail = b''
        for chunk in response.iter_raw(1 << 20):
            received += len(chunk)
            window = tail + chunk
            parts += window.count(boundary) - tail.count(boundary)
            tail = window[-len(boundary) :]
    elapsed = time.perf_counter() - begun
    if parts < len(study.instances):  # the closing delimiter counts one more
        raise Unavailable(f'{parts} boundaries for {len(study.instances)} instances')
    SIZES['whole study', peer.name] = received
    return received / 1e6 / elapsed


def _move(peer: Peer, *, study: Series, received: Path) -> float:
    for old in received.iterdir():
        old.unlink()
    command = [
        'movescu', '-S', '-aet', SCU_AE, '-aec', peer.ae_title, '-aem', DESTINATION_AE,
        '-k', 'QueryRetrieveLevel=STUDY', '-k', f'StudyInstanceUID={study.study}',
        '127.0.0.1', str(peer.dicom_port),
    ]  # fmt: skip
    begun = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - begun
    arrived = sum(1 for _ in received.iterdir())
    if result.returncode != 0 or arrived != len(study.instances):
        raise Unavailable(f'movescu exit {result.returncode}, {arrived} files; {result.stderr.strip()[-200:]}')
    return elapsed


def _ok(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise Unavailable(f'HTTP {response.status_code}')


def _boundary(content_type: str) -> bytes:
    for parameter in content_type.split(';'):
        name, _, value = parameter.strip().partition('=')
        if name.lower() == 'boundary':
            return b'--' + value.strip('"').encode()
    raise Unavailable(f'no boundary in {content_type!r}')


# ---------------------------------------------------------------- output


def _table(results: Figures, names: list[str]) -> None:
    ours, theirs = names
    print()
    print(f'{"figure":<34} {ours:>12} {theirs:>12} {"ratio":>7}   (ratio: ours/Orthanc in time; <= 1.0 is the target)')
    for figure, values in results.items():
        mine, other = values[ours], values[theirs]
        a = statistics.median(mine) if isinstance(mine, list) and mine else None
        b = statistics.median(other) if isinstance(other, list) and other else None
        ratio = '' if a is None or b is None else f'{(b / a if "MB/s" in figure else a / b):.2f}'
        print(f'{figure:<34} {_cell(a, mine):>12} {_cell(b, other):>12} {ratio:>7}   n={_count(mine)}/{_count(other)}')

    sizes = [
        f'{what} {SIZES.get((what, ours), 0) / 1e3:,.0f} / {SIZES.get((what, theirs), 0) / 1e3:,.0f} kB'
        for what in ('series metadata', 'one frame', 'whole study')
        if (what, ours) in SIZES or (what, theirs) in SIZES
    ]
    if sizes:
        print(f'answer sizes, {ours} / {theirs}: ' + '; '.join(sizes))


def _cell(median: float | None, values: list[float] | str) -> str:
    if median is None:
        return values if isinstance(values, str) else 'n/a'
    return f'{median:.1f}' if median >= 10 else f'{median:.2f}'


def _count(values: list[float] | str) -> str:
    return str(len(values)) if isinstance(values, list) else '-'


def _profile_summary(path: Path) -> None:
    print(f'\nour server under cProfile (figures above are slowed by it), {path}: top functions by own time')
    stats = pstats.Stats(str(path))
    stats.sort_stats('tottime').print_stats(25)
    print('by cumulative time, our code on the measured paths (routes, retrieve, C-MOVE):')
    stats.sort_stats('cumulative').print_stats(re.escape(str(ROOT)) + PROFILED, 40)


def _load(load: tuple[float, float, float]) -> str:
    return '/'.join(f'{value:.1f}' for value in load)


if __name__ == '__main__':
    sys.exit(main())
