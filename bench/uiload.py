"""Concurrent staff on the web UI (issue 15): per-action p50/p95 and errors at 25, 50 and 100 signed-in sessions.

Each simulated member of staff is a browser as NiceGUI sees it (bench/uiload_client.py): a real sign-in on the
login page (username and password typed, the button clicked over socket.io, the ticket traded for the cookie),
then one action every `--think` seconds (uniform), sockets kept open: the board, the patients list, a search, a
patient page and, for radiologists, the reading worklist (mix in bench/uiload_load.py). An action is timed as the
user feels it: a page from the request until its socket is connected and its refreshable parts have content (an
async page sends them over the socket after its HTML; how many to wait for is learnt on the quiet server first); a
search from the event sent to the redrawn results; opening a patient from the list from the click to the patient
page ready. Sessions start spread over `--ramp` seconds;
pages count from the end of the ramp, sign-ins from the start.

The server is `main.py serve` of its own (embedded mode, SQLite) on `main.py demo` plus bench/uiload_data.py's
volume (2,000 patients, 200 more appointments today, past studies with reports, 40 studies to read), restarted
for each session count; or `--url` with a plan file from bench/uiload_data.py. The load generator runs in
processes of its own. Server CPU seconds and peak RSS come from /proc (the server's whole process tree).

Target: 100 sessions at one action every 3-7 s each: p95 <= 500 ms, 0 errors.

`--page-cpu`: server CPU milliseconds per page view of the board, patients list, patient page and reading
worklist: one session opens each page `--views` times in a row (socket connected, content there, left), CPU time
of the server's process tree over those views and the deletion of their clients, less its idle rate; medians over
`--rounds` interleaved rounds. CPU time, not wall time, so other work on the machine matters less.

Run: .venv/bin/python bench/uiload.py [--sessions 25,50,100] [--seconds 120] [--think 3-7] [--json out.json]
     .venv/bin/python bench/uiload.py --page-cpu [--views 20] [--rounds 5]
     .venv/bin/python bench/uiload.py --sessions 3 --seconds 20   (smoke)
"""

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.uiload_client import Browser, Failed  # noqa: E402
from bench.uiload_load import learn, role_of, run, sign_in  # noqa: E402
from bench.uiload_server import Server  # noqa: E402

TICK = os.sysconf('SC_CLK_TCK')
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')
IDLE_S = 10.0
RECONNECT_S = 10.0  # main.py's ui.run(reconnect_timeout=…): a left page's client is deleted this long after
ORDER = ('sign-in', 'board', 'patients list', 'search', 'patient page', 'reading worklist')
TARGET_P95_MS = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sessions', default='25,50,100', help='session counts, comma-separated')
    parser.add_argument('--seconds', type=float, default=120.0, help='measured seconds per session count')
    parser.add_argument(
        '--ramp', type=float, help='seconds over which the sessions sign in (default: 0.5 s a session, at least 20)'
    )
    parser.add_argument('--think', default='3-7', help='seconds between a session’s actions, low-high')
    parser.add_argument('--generators', type=int, default=0, help='load-generator processes (0: one per 100)')
    parser.add_argument(
        '--web-processes', type=int, default=1, help='N > 1: PACS_WEB_PROCESSES=N behind HAProxy (deploy/haproxy.cfg)'
    )
    parser.add_argument('--url', help='a running server instead of one of our own (needs --plan)')
    parser.add_argument('--plan', type=Path, help="bench/uiload_data.py's output for the server at --url")
    parser.add_argument('--server-pid', type=int, action='append', default=[], help='with --url: its process(es)')
    parser.add_argument('--patients', type=int, default=2000)
    parser.add_argument('--appointments', type=int, default=200)
    parser.add_argument('--json', type=Path, help='also write the figures as JSON to this file')
    parser.add_argument('--page-cpu', action='store_true', help='CPU ms per page view instead of the load run')
    parser.add_argument('--views', type=int, default=20, help='--page-cpu: page views per page and round')
    parser.add_argument('--rounds', type=int, default=5, help='--page-cpu: rounds')
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops our server
    low, high = (float(part) for part in args.think.split('-'))
    with tempfile.TemporaryDirectory(prefix='bench-uiload-') as tmp:
        work = Path(tmp)
        server = Server(work, args)
        try:
            if args.page_cpu:
                figures = page_cpu(server, args.views, args.rounds)
                print_page_cpu(figures)
            else:
                figures = {'think_s': [low, high], 'levels': []}
                for count in (int(part) for part in args.sessions.split(',')):
                    level = load_level(server, work, count, args, (low, high))
                    figures['levels'].append(level)
                    print_level(level, flush=True)
                print_summary(figures['levels'])
        finally:
            server.stop()
    figures.update(
        commit=_commit(),
        web_processes=args.web_processes,
        clinic={'patients': args.patients, 'appointments_today': args.appointments} if not args.url else args.url,
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


class Sampler(threading.Thread):
    """CPU seconds and resident memory of the server's process tree, sampled twice a second."""

    def __init__(self, roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.samples: list[tuple[float, float, int]] = []  # (epoch s, cpu s, rss bytes)
        self.gone_cpu: dict[int, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append((time.time(), *tree_usage(self.roots)))
            self.halt.wait(0.5)
        self.samples.append((time.time(), *tree_usage(self.roots)))

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def between(self, start: float, end: float) -> tuple[float, int]:
        """CPU seconds spent between two moments, and the peak RSS then."""
        inside = [s for s in self.samples if start <= s[0] <= end] or self.samples[-1:]
        before = max((s for s in self.samples if s[0] <= start), default=inside[0], key=lambda s: s[0])
        return inside[-1][1] - before[1], max(s[2] for s in inside)


def tree_usage(roots: list[int]) -> tuple[float, int]:
    """CPU seconds (own and reaped children's) and RSS bytes of these processes and all their descendants."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(stat[1])].append(int(entry.name))
    cpu, rss, pending = 0.0, 0, list(roots)
    while pending:
        pid = pending.pop()
        stat = _stat(pid)
        if stat is None:
            continue
        # fields after the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … rss(21)
        cpu += sum(int(value) for value in stat[11:15]) / TICK
        rss += int(stat[21]) * PAGE_SIZE
        pending += parents.get(pid, [])
    return cpu, rss


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return None
    return text[text.rindex(')') + 2 :].split()


def load_level(
    server: Server, work: Path, count: int, args: argparse.Namespace, think: tuple[float, float]
) -> dict[str, Any]:
    """One session count on a freshly started server: the figures of its measured window."""
    server.start()
    try:
        errors_before = server.errors_logged()
        expects = asyncio.run(learn({**server.plan, 'url': server.url}))
        generators = args.generators or max(1, math.ceil(count / 100))
        ramp = args.ramp if args.ramp is not None else max(20.0, count / 2)  # staff do not all sign in at once
        start = time.time() + 2
        plan = {
            **server.plan,
            'url': server.url,
            'expects': expects,
            'think': list(think),
            'ramp': ramp,
            'seconds': args.seconds,
            'ramp_s': ramp,
            'start': start,
        }
        sampler = Sampler(server.pids)
        sampler.start()
        context = multiprocessing.get_context('spawn')
        outs = [work / f'records-{count}-{g}.jsonl' for g in range(generators)]
        processes = [
            context.Process(target=run, args=(plan, list(range(g, count, generators)), str(outs[g])), daemon=True)
            for g in range(generators)
        ]
        for process in processes:
            process.start()
        try:
            for process in processes:
                process.join(timeout=ramp + args.seconds + 120)
        finally:
            for process in processes:
                if process.is_alive():
                    process.kill()
                    process.join()
            sampler.stop()
        steady = start + ramp
        end = steady + args.seconds
        records, generator_cpu = [], 0.0
        for out in outs:
            for line in out.read_text().splitlines() if out.exists() else []:
                row = json.loads(line)
                if 'generator_cpu_s' in row:
                    generator_cpu += row['generator_cpu_s']
                else:
                    records.append(row)
        cpu, peak = sampler.between(steady, end)
        level = {
            'sessions': count,
            'web_processes': server.web_processes,
            'radiologists': sum(role_of(n) == 'radiologist' for n in range(count)),
            'seconds': args.seconds,
            'settle': expects,
            'actions': summarise(records, steady, end),
            'server_cpu_s': round(cpu, 1),
            'server_cpu_share': round(cpu / args.seconds, 2),
            'server_peak_rss_mb': round(peak / 2**20),
            'generator_cpu_s': round(generator_cpu, 1),
            'server_errors_logged': len(logged := server.errors_logged()[len(errors_before) :]),
            'server_error_samples': sorted({_without_stamp(line) for line in logged})[:5],
            'error_samples': sorted({r['error'] for r in records if r['error']})[:5],
        }
        return level
    finally:
        server.stop()


def summarise(records: list[dict[str, Any]], steady: float, end: float) -> dict[str, dict[str, float]]:
    """Per action: count, errors, p50 and p95 (ms) of the measured window (sign-ins: from the start)."""
    by_action: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record['action'] == 'sign-in' or steady <= record['start'] <= end:
            by_action[record['action']].append(record)
    every = [r for action, rows in by_action.items() if action != 'sign-in' for r in rows]
    figures = {}
    for action, rows in [*sorted(by_action.items(), key=lambda i: _rank(i[0])), ('all pages', every)]:
        good = sorted(r['ms'] for r in rows if not r['error'])
        figures[action] = {
            'n': len(rows),
            'errors': sum(bool(r['error']) for r in rows),
            'p50_ms': round(_quantile(good, 0.50)),
            'p95_ms': round(_quantile(good, 0.95)),
            'max_ms': round(good[-1]) if good else 0,
        }
    return figures


def page_cpu(server: Server, views: int, rounds: int) -> dict[str, Any]:
    """Server CPU ms per page view of each screen (median over rounds), with the samples."""
    server.start()
    return asyncio.run(_page_cpu(server, views, rounds))


async def _page_cpu(server: Server, views: int, rounds: int) -> dict[str, Any]:
    plan = {**server.plan, 'url': server.url}
    expects = await learn(plan)
    reception, radiologist = Browser(server.url), Browser(server.url)
    await sign_in(reception, plan, 'receptionist', 0, expects)
    await sign_in(radiologist, plan, 'radiologist', 0, expects)
    await reception.leave()
    await radiologist.leave()
    patients = plan['patients_with_studies']
    screens = {
        'board': (reception, lambda n: '/board'),
        'patients list': (reception, lambda n: '/patients'),
        'patient page': (reception, lambda n: f'/patients/{patients[n % len(patients)]}'),
        'reading worklist': (radiologist, lambda n: '/reading'),
    }
    blocks: dict[str, list[tuple[float, float]]] = defaultdict(list)  # (CPU s, wall s) of each page's views
    idle_rates: list[float] = []
    failures: dict[str, list[str]] = defaultdict(list)
    await asyncio.sleep(RECONNECT_S + 1)  # the sign-in pages' clients are gone
    try:
        for round_ in range(rounds):
            idle_rates.append(await _idle_rate(server.pids, IDLE_S))
            for name, (browser, path) in screens.items():
                before, started = tree_usage(server.pids)[0], time.monotonic()
                for n in range(views):
                    try:
                        await browser.open(path(round_ * views + n), settle=expects[name])
                    except Failed as failed:  # counted, and the view's CPU stays in the figure
                        failures[name].append(str(failed))
                    await browser.leave()
                await asyncio.sleep(RECONNECT_S + 1)  # their clients deleted: part of what a view costs
                blocks[name].append((tree_usage(server.pids)[0] - before, time.monotonic() - started))
            print(
                f'round {round_ + 1}/{rounds} (idle {idle_rates[-1]:.1%} of a core): '
                + ', '.join(f'{k} {v[-1][0] * 1000 / views:.0f} ms' for k, v in blocks.items()),
                flush=True,
            )
    finally:
        await reception.close()
        await radiologist.close()
    # What the server spends doing nothing (its scheduler, heartbeats, start-up jobs) is taken off each page's
    # figure: the median of the idle windows, one per round (a single window can catch a burst).
    idle = statistics.median(idle_rates)
    samples = {name: [(cpu - idle * wall) * 1000 / views for cpu, wall in got] for name, got in blocks.items()}
    return {
        'views_per_round': views,
        'rounds': rounds,
        'settle': expects,
        'idle_cpu_share': round(idle, 4),
        'idle_windows': [round(rate, 4) for rate in idle_rates],
        'cpu_ms_per_view': {name: round(statistics.median(values), 1) for name, values in samples.items()},
        'samples_ms': {name: [round(v, 1) for v in values] for name, values in samples.items()},
        'failed_views': {name: len(found) for name, found in failures.items()},
        'failure_samples': sorted({text for found in failures.values() for text in found})[:5],
    }


async def _idle_rate(pids: list[int], seconds: float) -> float:
    before, started = tree_usage(pids)[0], time.monotonic()
    await asyncio.sleep(seconds)
    return (tree_usage(pids)[0] - before) / (time.monotonic() - started)


def print_level(level: dict[str, Any], *, flush: bool = False) -> None:
    print(
        f'\n{level["sessions"]} sessions ({level["radiologists"]} radiologists), {level["seconds"]:.0f} s measured, '
        f'{level["web_processes"]} web process(es); '
        f'server CPU {level["server_cpu_s"]} s ({level["server_cpu_share"]:.0%} of a core), '
        f'peak RSS {level["server_peak_rss_mb"]} MB; load generator CPU {level["generator_cpu_s"]} s'
    )
    print(f'  {"action":18} {"n":>6} {"errors":>7} {"p50 ms":>8} {"p95 ms":>8} {"max ms":>8}')
    for action, row in level['actions'].items():
        print(
            f'  {action:18} {row["n"]:6d} {row["errors"]:7d} {row["p50_ms"]:8d} {row["p95_ms"]:8d} {row["max_ms"]:8d}'
        )
    if level['error_samples']:
        print('  errors seen: ' + ' | '.join(level['error_samples']))
    if level['server_errors_logged']:
        print(f'  server logged {level["server_errors_logged"]} ERRORs: ' + ' | '.join(level['server_error_samples']))
    print(f'  refreshable parts a page is timed until (filled over the socket): {level["settle"]}')
    if flush:
        sys.stdout.flush()


def print_summary(levels: list[dict[str, Any]]) -> None:
    print(
        f'\n{"sessions":>8} {"pages p50":>10} {"pages p95":>10} {"worst p95":>22} {"errors":>7} '
        f'{"CPU s":>7} {"RSS MB":>7}'
    )
    for level in levels:
        pages = level['actions']['all pages']
        worst = max(
            ((a, r['p95_ms']) for a, r in level['actions'].items() if a != 'all pages'),
            key=lambda i: i[1],
            default=('', 0),
        )
        errors = sum(r['errors'] for a, r in level['actions'].items() if a != 'all pages')
        print(
            f'{level["sessions"]:8d} {pages["p50_ms"]:10d} {pages["p95_ms"]:10d} {f"{worst[0]} {worst[1]}":>22} '
            f'{errors:7d} {level["server_cpu_s"]:7.1f} {level["server_peak_rss_mb"]:7d}'
        )
    for level in levels:  # the target is the working actions'; a sign-in (argon2, once a shift) is shown beside
        actions = level['actions']
        errors = sum(r['errors'] for a, r in actions.items() if a != 'all pages')
        verdict = 'met' if actions['all pages']['p95_ms'] <= TARGET_P95_MS and errors == 0 else 'NOT met'
        signing_in = actions.get('sign-in', {}).get('p95_ms', 0)
        print(
            f'{level["sessions"]} sessions: pages and searches p95 <= {TARGET_P95_MS} ms and 0 errors: {verdict} '
            f'(sign-in p95 {signing_in} ms, once a session)'
        )


def print_page_cpu(figures: dict[str, Any]) -> None:
    print(
        f'\nserver CPU per page view (median of {figures["rounds"]} rounds x {figures["views_per_round"]} views; '
        f'idle {figures["idle_cpu_share"]:.1%} of a core subtracted):'
    )
    for name, value in figures['cpu_ms_per_view'].items():
        print(f'  {name:18} {value:7.1f} ms   (rounds: {", ".join(f"{v:.0f}" for v in figures["samples_ms"][name])})')
    if figures['failed_views']:
        print(f'  failed views: {figures["failed_views"]}: ' + ' | '.join(figures['failure_samples']))


def _without_stamp(line: str) -> str:
    return line.split(' ', 2)[-1] if line[:4].isdigit() else line


def _rank(action: str) -> int:
    return ORDER.index(action) if action in ORDER else len(ORDER)


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _commit() -> str:
    found = shutil.which('git')
    if found is None:
        return ''
    command = [found, 'rev-parse', '--short', 'HEAD']
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


if __name__ == '__main__':
    main()
