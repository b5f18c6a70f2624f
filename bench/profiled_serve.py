"""`main.py serve` with cProfile in every thread, for finding where a benchmark's time goes.

    python bench/profiled_serve.py OUT.pstats [main.py arguments…]

Each thread (the event loop, request threads, DICOM association threads, job workers) gets a profiler of
its own; at exit (SIGTERM: uvicorn shuts down, then SystemExit) their statistics are merged into OUT.pstats, read with
`python -m pstats OUT.pstats` or `pstats.Stats(OUT).sort_stats('tottime').print_stats(30)`. The
profiler slows Python code down, so figures measured with it are not comparable to Orthanc's.
"""

import atexit
import cProfile
import pstats
import runpy
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profile_this_thread(*_: object) -> None:
    """threading.setprofile's hook: the new thread's first event swaps it for a profiler of its own."""
    profile = cProfile.Profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()


def _dump(target: str, main_profile: cProfile.Profile) -> None:
    main_profile.disable()
    with _lock:
        profiles = [main_profile, *_profiles]
    merged: pstats.Stats | None = None
    for profile in profiles:
        try:
            profile.create_stats()
            if not profile.stats:
                continue
            merged = pstats.Stats(profile) if merged is None else merged.add(profile)
        except (TypeError, ValueError):  # a profile still running in a thread that never ended
            continue
    if merged is not None:
        merged.dump_stats(target)


def main() -> None:
    target = sys.argv[1]
    threading.setprofile(_profile_this_thread)  # also threads whose class overrides run (anyio, pynetdicom)
    main_profile = cProfile.Profile()
    atexit.register(_dump, target, main_profile)
    # uvicorn restores the handler it found and raises the signal again once it has shut down: exit through
    # SystemExit then, so the atexit hook runs (the default action would end the process without it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.argv = [str(ROOT / 'main.py'), *sys.argv[2:]]
    sys.path.insert(0, str(ROOT))
    main_profile.enable()
    runpy.run_path(str(ROOT / 'main.py'), run_name='__main__')


if __name__ == '__main__':
    main()
