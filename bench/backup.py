"""Backup and restore throughput (issue 14), with a plain GNU `tar` of the same data directory in the same run.

The data directory holds 5,000 CT slices (512x512, 16-bit, ~0.5 MB each, ~2.6 GB) in 50 studies of 25 patients,
stored and indexed through the real ingest pipeline (dicom/ingest.py: write, fsync, parse, place, index). It is
built once and kept under .cache/bench-backup/ so a rerun skips building (--clean removes it afterwards). Each round
works on a copy of it (DICOM files hard-linked, they are never changed in place; everything else copied) and
measures, with the order of ours and tar's swapped every round:

- full backup: `backup.create(kind='full')` sealed with a passphrase (read back and verified before it returns)
  against `tar -cf` (with a --listed-incremental snapshot, so the next step has a level 0 to build on);
- incremental backup after 250 more instances arrived (a new study): `backup.create(kind='incremental')` against
  `tar --listed-incremental` (GNU tar's own incremental);
- restore of the chain (full + incremental) into an empty data directory and a fresh SQLite database:
  `backup.restore` against `tar -xf` of both archives (and `tar -xf` + `sync`, as our restore writes durably);
- verify: `backup.verify` of the full archive (decrypt + every member's SHA-256) against `sha256sum` of the tar.

Medians of the rounds are printed, with ratios ours/tar and the RTO for 1 TB this restore rate gives (seed: RTO
<= 4 h). MB is 10^6 bytes. Everything is read from the page cache on the second look (23 GB RAM here), the same for
ours and tar. Run:

    nice .venv/bin/python bench/backup.py [--rounds 3] [--instances 5000] [--added 250] [--clean]
"""

import argparse
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / '.cache' / 'bench-backup'
PASSPHRASE = 'bench backup passphrase, long enough'
SLICES_PER_STUDY = 100
STUDIES_PER_PATIENT = 2
MB = 1e6
SEED_RTO_H = 4.0
sys.path.insert(0, str(ROOT))

from dicom import storage  # noqa: E402
from dicom.ingest import Ingest  # noqa: E402
from domain import audit, auth, backup, db, sealed  # noqa: E402
from domain.access import modality, system  # noqa: E402
from domain.settings import Settings  # noqa: E402

CONSOLE = system('bench')


@dataclass
class Figures:
    """One list of seconds per measured step; medians are taken at the end."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, elapsed: float, size: float) -> None:
        self.seconds.setdefault(name, []).append(elapsed)
        self.sizes.setdefault(name, []).append(size)

    def rate(self, name: str) -> float:
        """Median MB/s over the rounds (each round's own size over its own time)."""
        return statistics.median(s / MB / t for s, t in zip(self.sizes[name], self.seconds[name], strict=True))

    def time(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def best(self, name: str) -> float:
        """The fastest round's MB/s (the one least disturbed by other work on a shared machine)."""
        return max(s / MB / t for s, t in zip(self.sizes[name], self.seconds[name], strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--instances', type=int, default=5000)
    parser.add_argument('--added', type=int, default=250, help='instances arriving before the incremental backup')
    parser.add_argument('--clean', action='store_true', help='remove the built data directory at the end')
    args = parser.parse_args()
    base = CACHE / f'{args.instances}-{_schema_stamp()}'  # a new migration: build again
    work = CACHE / 'work'
    shutil.rmtree(work, ignore_errors=True)
    try:
        started = time.perf_counter()
        built = build(base, args.instances)
        print(
            f'data directory: {args.instances} instances, {_size(base / "data") / MB:,.0f} MB '
            f'({"built in " + format(time.perf_counter() - started, ".0f") + " s" if built else "cached"}); '
            f'{args.rounds} rounds, {args.added} instances added before each incremental; '
            f'load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)'
        )
        figures = Figures()
        for number in range(args.rounds):
            one_round(base / 'data', work / f'round{number}', figures, added=args.added, ours_first=number % 2 == 0)
            shutil.rmtree(work / f'round{number}', ignore_errors=True)
        report(figures, args.rounds)
        return 0
    finally:
        db.dispose()
        shutil.rmtree(work, ignore_errors=True)
        if args.clean:
            shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- one round


def one_round(base: Path, folder: Path, figures: Figures, *, added: int, ours_first: bool) -> None:
    """Full, incremental, restore and verify, ours and tar's, on a fresh copy of the built data directory."""
    data = folder / 'data'
    ours, tars = folder / 'ours', folder / 'tar'
    for target in (ours, tars):
        target.mkdir(parents=True)
    _clone(base, data)
    snapshot = tars / 'level.snar'
    size = _size(data)
    made: dict[str, Path] = {}

    def ours_full() -> None:
        _open(data)
        elapsed, result = _timed(
            backup.create, data, by=CONSOLE, target_dir=ours, kind='full', recipient=sealed.Passphrase(PASSPHRASE)
        )
        figures.add('full ours', elapsed, size)
        figures.add('archive ours', elapsed, result.path.stat().st_size)
        made['full'] = result.path

    def tar_full() -> None:
        figures.add(
            'full tar', _run('tar', f'--listed-incremental={snapshot}', '-cf', tars / 'full.tar', '-C', data, '.'), size
        )

    _pair(ours_full, tar_full, ours_first)
    _open(data)
    before = _size(data)
    _add_study(data, added, seed=hash(folder.name) & 0xFFFF)
    grown = _size(data)
    new_bytes = grown - before

    def ours_incremental() -> None:
        _open(data)
        elapsed, result = _timed(
            backup.create,
            data,
            by=CONSOLE,
            target_dir=ours,
            kind='incremental',
            recipient=sealed.Passphrase(PASSPHRASE),
        )
        assert result.kind == 'incremental', result
        figures.add('incremental ours', elapsed, new_bytes)
        made['incremental'] = result.path

    def tar_incremental() -> None:
        elapsed = _run('tar', f'--listed-incremental={snapshot}', '-cf', tars / 'incremental.tar', '-C', data, '.')
        figures.add('incremental tar', elapsed, new_bytes)

    _pair(ours_incremental, tar_incremental, ours_first)
    db.dispose()
    newest = made['incremental']
    assert backup.chain(newest) == [made['full'], newest], backup.chain(newest)

    def ours_restore() -> None:
        target = folder / 'restored-ours'
        target.mkdir()
        _open(target)  # an empty data directory with a fresh, migrated SQLite database
        elapsed, _ = _timed(backup.restore, newest, target, by=CONSOLE, identity=sealed.Passphrase(PASSPHRASE))
        figures.add('restore ours', elapsed, grown)
        db.dispose()
        shutil.rmtree(target)

    def tar_restore() -> None:
        target = folder / 'restored-tar'
        target.mkdir()
        elapsed = _run('tar', '--listed-incremental=/dev/null', '-xf', tars / 'full.tar', '-C', target)
        elapsed += _run('tar', '--listed-incremental=/dev/null', '-xf', tars / 'incremental.tar', '-C', target)
        figures.add('restore tar', elapsed, grown)
        figures.add('restore tar+sync', elapsed + _run('sync', '-f', target), grown)
        shutil.rmtree(target)

    _pair(ours_restore, tar_restore, ours_first)

    full_archive = made['full']

    def ours_verify() -> None:
        elapsed, _ = _timed(backup.verify, full_archive, sealed.Passphrase(PASSPHRASE))
        figures.add('verify ours', elapsed, full_archive.stat().st_size)

    def tar_verify() -> None:
        figures.add('verify tar', _run('sha256sum', tars / 'full.tar'), (tars / 'full.tar').stat().st_size)

    _pair(ours_verify, tar_verify, ours_first)
    last = {name: values[-1] for name, values in figures.seconds.items()}
    print(
        f'  round: full {last["full ours"]:.1f} s (tar {last["full tar"]:.1f} s), '
        f'incremental {last["incremental ours"]:.1f} s (tar {last["incremental tar"]:.1f} s), '
        f'restore {last["restore ours"]:.1f} s (tar {last["restore tar"]:.1f} s), '
        f'verify {last["verify ours"]:.1f} s (sha256sum {last["verify tar"]:.1f} s)',
        flush=True,
    )


def report(figures: Figures, rounds: int) -> None:
    """Print the medians, ours/tar ratios and the RTO for 1 TB."""
    print(f'\nmedians of {rounds} rounds (MB = 10^6 bytes)')
    rows = [
        ('full backup (sealed, verified)', 'full ours', 'full tar', 'tar -cf'),
        ('incremental backup (new data)', 'incremental ours', 'incremental tar', 'tar --listed-incremental'),
        ('restore of the chain', 'restore ours', 'restore tar', 'tar -xf x2'),
        ('restore of the chain', 'restore ours', 'restore tar+sync', 'tar -xf x2 + sync'),
        ('verify (full archive)', 'verify ours', 'verify tar', 'sha256sum of the tar'),
    ]
    for label, ours, reference, how in rows:
        print(
            f'{label:<32} ours {figures.rate(ours):7.1f} MB/s {figures.time(ours):7.1f} s | '
            f'{how:<26} {figures.rate(reference):7.1f} MB/s {figures.time(reference):7.1f} s | '
            f'ours/tar {figures.rate(ours) / figures.rate(reference):.2f}'
        )
    print('fastest round of each (least disturbed by other work on this machine)')
    for label, ours, reference, how in rows:
        print(
            f'{label:<32} ours {figures.best(ours):7.1f} MB/s | {how:<26} {figures.best(reference):7.1f} MB/s | '
            f'ours/tar {figures.best(ours) / figures.best(reference):.2f}'
        )
    archive = statistics.median(figures.sizes['archive ours'])
    data = statistics.median(figures.sizes['full ours'])
    print(f'full archive {archive / MB:,.0f} MB for {data / MB:,.0f} MB of data ({archive / data:.3f})')
    for which, rate, tar_rate in (
        ('median', figures.rate('restore ours'), figures.rate('restore tar')),
        ('fastest', figures.best('restore ours'), figures.best('restore tar')),
    ):
        hours = 1e12 / MB / rate / 3600
        verdict = 'within' if hours <= SEED_RTO_H else 'over'
        print(
            f'RTO for 1 TB at the {which} restore rate ({rate:.0f} MB/s): {hours:.1f} h, {verdict} the seed RTO '
            f'<= {SEED_RTO_H:.0f} h (needs >= {1e12 / MB / SEED_RTO_H / 3600:.0f} MB/s); '
            f'tar -xf: {1e12 / MB / tar_rate / 3600:.1f} h'
        )
    print(f'load average at the end: {" ".join(f"{v:.1f}" for v in os.getloadavg())} ({os.cpu_count()} cores)')


def _pair(ours: Callable[[], None], reference: Callable[[], None], ours_first: bool) -> None:
    for step in (ours, reference) if ours_first else (reference, ours):
        step()


# ---------------------------------------------------------------- the data directory


def build(base: Path, instances: int) -> bool:
    """Build the data directory once (kept under .cache); False when it was already there."""
    done = base / 'complete'
    if done.exists():
        return False
    for stale in base.parent.glob(f'{instances}-*'):  # built for an older schema
        shutil.rmtree(stale, ignore_errors=True)
    data = base / 'data'
    data.mkdir(parents=True)
    _open(data)
    rng = np.random.default_rng(14)
    pipeline = Ingest()
    sender = modality('BENCH_CT', '127.0.0.1')
    patient = 0
    for first in range(0, instances, SLICES_PER_STUDY):
        study = first // SLICES_PER_STUDY
        if study % STUDIES_PER_PATIENT == 0:
            patient += 1
        _ingest_study(pipeline, sender, rng, patient, min(SLICES_PER_STUDY, instances - first))
        print(f'  built {min(first + SLICES_PER_STUDY, instances)}/{instances} instances', end='\r', flush=True)
    print()
    db.dispose()
    done.write_text(f'{instances}\n')
    return True


def _add_study(data: Path, count: int, *, seed: int) -> None:
    """A new study of `count` slices for a new patient, through the ingest pipeline (what arrives between backups)."""
    _ingest_study(Ingest(), modality('BENCH_CT', '127.0.0.1'), np.random.default_rng(seed), 10_000 + seed, count)


def _ingest_study(pipeline: Ingest, sender: Any, rng: np.random.Generator, patient: int, count: int) -> None:
    study, series = generate_uid(), generate_uid()
    template = _ct_slice(study, series, patient)
    for number in range(1, count + 1):
        template.SOPInstanceUID = generate_uid()
        template.file_meta.MediaStorageSOPInstanceUID = template.SOPInstanceUID
        template.InstanceNumber = number
        template.ImagePositionPatient = [0, 0, number]
        template.PixelData = rng.integers(0, 4096, 512 * 512, dtype=np.uint16).tobytes()
        encoded = io.BytesIO()
        template.save_as(encoded, enforce_file_format=True)
        payload = encoded.getvalue()
        outcome = pipeline.accept([payload], len(payload), by=sender)
        assert outcome.result == 'stored', outcome


def _ct_slice(study: str, series: str, patient: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientName, ds.PatientID = f'Bench^Patient{patient}', f'BENCH{patient:05}'
    ds.PatientBirthDate, ds.PatientSex = '19700101', 'O'
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = '20260101', '120000', f'B{patient:05}', '1'
    ds.Modality, ds.SeriesNumber = 'CT', 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth = -1024, 1, 40, 400
    ds.SliceThickness, ds.PixelSpacing = 1.0, [0.7, 0.7]
    return ds


def _open(data: Path) -> None:
    """Point the database, keys and storage at this data directory (SQLite inside it, migrated)."""
    db.dispose()
    settings = Settings(_env_file=None, data_dir=data, database_url=None, redis_url=None)  # type: ignore[call-arg]
    db.configure(settings)
    db.upgrade()
    auth.configure(settings)
    audit.forget_key()
    storage.configure(data, min_free_bytes=0)


def _clone(source: Path, target: Path) -> None:
    """A copy of a data directory: DICOM files hard-linked (written once, never changed in place), the rest copied."""
    target.mkdir(parents=True)
    for path in sorted(source.rglob('*')):
        relative = path.relative_to(source)
        copy = target / relative
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
            copy.chmod(path.stat().st_mode & 0o777)
        elif relative.parts[0] == storage.DICOM:
            copy.hardlink_to(path)
        else:
            shutil.copy2(path, copy)
    target.chmod(0o700)


def _schema_stamp() -> str:
    """A short digest of the migrations, so a data directory built for an older schema is not reused."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / 'migrations' / 'versions').glob('*.py')):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob('*') if path.is_file())


def _timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def _run(*command: str | Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(part) for part in command], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


if __name__ == '__main__':
    sys.exit(main())
