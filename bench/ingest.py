"""Ingest benchmark: push one corpus with DCMTK's storescu to ClinicPACS, Orthanc and DCMTK's storescp.

The corpus is a 200-image 512x512 CT series, a multi-frame ultrasound cine and a few 2500x2000
radiographs, with fresh UIDs in every round. Rounds are interleaved (the order of the three receivers
changes each round) and the figures are medians. Printed: instances/s and MB/s per receiver, ClinicPACS
vs. Orthanc and vs. storescp, the CT study's ready latency (last image acknowledged -> indexed and every
thumbnail built) and the serve process's memory growth while everything arrives.

    .venv/bin/python bench/ingest.py [--rounds 5] [--keep]

Needs storescu/storescp (dcmtk) and Orthanc (Debian package `orthanc`) on this machine; ports 8102-8104,
11202-11204 on loopback.
"""

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ROOT = Path(__file__).resolve().parent.parent
PACS_HTTP, PACS_DICOM = 8102, 11202
ORTHANC_HTTP, ORTHANC_DICOM = 8103, 11203
STORESCP_DICOM = 11204
ORTHANC_FAST_HTTP, ORTHANC_FAST_DICOM = 8105, 11205
STORESCP_FAST_DICOM = 11206
CT_IMAGES, US_FRAMES, RADIOGRAPHS = 200, 80, 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = parser.parse_args()
    for tool in ('storescu', 'storescp', 'Orthanc'):
        if shutil.which(tool) is None:
            print(f'{tool} is not installed', file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix='bench-ingest-'))
    receivers: list[subprocess.Popen] = []
    try:
        corpora = [_corpus(work / f'corpus{r}') for r in range(args.rounds)]
        size_mb = sum(f.stat().st_size for f in (corpora[0]['ct'] + corpora[0]['rest'])) / 1e6
        count = len(corpora[0]['ct']) + len(corpora[0]['rest'])
        print(f'corpus per round: {count} instances, {size_mb:.0f} MB; {args.rounds} rounds')
        pacs = _start_pacs(work / 'pacs')
        receivers.append(pacs)
        receivers.append(_start_orthanc(work / 'orthanc', ORTHANC_HTTP, ORTHANC_DICOM))
        receivers.append(_start_storescp(work / 'storescp', STORESCP_DICOM))
        # DCMTK (inside storescp and Orthanc) leaves Nagle on unless TCP_NODELAY is set in the environment.
        receivers.append(_start_orthanc(work / 'orthanc-nodelay', ORTHANC_FAST_HTTP, ORTHANC_FAST_DICOM, nodelay=True))
        receivers.append(_start_storescp(work / 'storescp-nodelay', STORESCP_FAST_DICOM, nodelay=True))
        memory = _MemoryWatch(pacs.pid)
        memory.start()
        baseline_rss = memory.current()
        targets = {
            'ClinicPACS': ('CLINICPACS', PACS_DICOM),
            'Orthanc': ('ORTHANC', ORTHANC_DICOM),
            'Orthanc+ND': ('ORTHANC', ORTHANC_FAST_DICOM),
            'storescp': ('STORESCP', STORESCP_DICOM),
            'storescp+ND': ('STORESCP', STORESCP_FAST_DICOM),
        }
        rates: dict[str, list[float]] = {name: [] for name in targets}
        latencies: list[float] = []
        for index, corpus in enumerate(corpora):
            order = list(targets)[index % len(targets) :] + list(targets)[: index % len(targets)]
            for name in order:
                aet, port = targets[name]
                started = time.perf_counter()
                _push(aet, port, corpus['ct'])
                ct_done_wall = time.time()
                _push(aet, port, corpus['rest'])
                elapsed = time.perf_counter() - started
                rates[name].append(count / elapsed)
                if name == 'ClinicPACS':
                    latencies.append(
                        _ready_latency(work / 'pacs' / 'clinicpacs.sqlite3', corpus['ct_study'], ct_done_wall)
                    )
            print(
                f'round {index + 1}: '
                + ', '.join(f'{n} {rates[n][-1]:.1f}/s' for n in targets)
                + f'; CT ready {latencies[-1]:.2f} s after its last image'
            )
        _wait_idle()
        peak_rss = memory.stop()
        arrived_gb = size_mb * args.rounds / 1000
        medians = {name: statistics.median(values) for name, values in rates.items()}
        print()
        for name, rate in medians.items():
            print(f'{name:<11} {rate:8.1f} instances/s  {rate * size_mb / count:7.1f} MB/s  (median of {args.rounds})')
        print('(+ND: the DCMTK receiver started with TCP_NODELAY=1, i.e. Nagle switched off as ClinicPACS does)')
        print(f'ClinicPACS / Orthanc      {medians["ClinicPACS"] / medians["Orthanc"]:.2f}x  (target >= 1.0x)')
        print(f'ClinicPACS / Orthanc+ND   {medians["ClinicPACS"] / medians["Orthanc+ND"]:.2f}x')
        print(f'ClinicPACS / storescp     {medians["ClinicPACS"] / medians["storescp"]:.2f}x  (no fsync there)')
        print(f'ClinicPACS / storescp+ND  {medians["ClinicPACS"] / medians["storescp+ND"]:.2f}x')
        print(
            f'CT study ready after last image: median {statistics.median(latencies):.2f} s, '
            f'max {max(latencies):.2f} s  (target <= 2 s)'
        )
        print(
            f'serve process memory: {baseline_rss / 1e6:.0f} MB before, peak {peak_rss / 1e6:.0f} MB, growth '
            f'{(peak_rss - baseline_rss) / 1e6:.0f} MB while {arrived_gb:.2f} GB arrived (target < 300 MB per GB)'
        )
        return 0
    finally:
        for process in receivers:
            process.send_signal(signal.SIGTERM)
        for process in receivers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if args.keep:
            print(f'kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- corpus


def _corpus(folder: Path) -> dict:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    ct_study = generate_uid()
    ct_series = generate_uid()
    ct = []
    base = (rng.normal(40, 300, (512, 512)).clip(-1024, 3000) + 1024).astype(np.uint16)
    for number in range(1, CT_IMAGES + 1):
        ds = _dataset('1.2.840.10008.5.1.4.1.1.2', ct_study, ct_series, 'CT', number)
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth = -1024, 1, 40, 400
        ds.SliceThickness, ds.ImagePositionPatient = 1.0, [0, 0, number]
        ds.PixelData = np.roll(base, number, axis=0).tobytes()
        ct.append(_write(ds, folder / f'ct{number:03}.dcm'))
    rest = []
    us = _dataset('1.2.840.10008.5.1.4.1.1.3.1', generate_uid(), generate_uid(), 'US', 1)
    us.Rows, us.Columns, us.SamplesPerPixel, us.PhotometricInterpretation = 480, 640, 3, 'RGB'
    us.PlanarConfiguration, us.NumberOfFrames, us.FrameTime = 0, US_FRAMES, 33.3
    us.BitsAllocated, us.BitsStored, us.HighBit, us.PixelRepresentation = 8, 8, 7, 0
    us.PixelData = rng.integers(0, 255, (US_FRAMES, 480, 640, 3), dtype=np.uint8).tobytes()
    rest.append(_write(us, folder / 'us.dcm'))
    dx_study, dx_series = generate_uid(), generate_uid()
    for number in range(1, RADIOGRAPHS + 1):
        dx = _dataset('1.2.840.10008.5.1.4.1.1.1.1', dx_study, dx_series, 'DX', number)
        dx.Rows, dx.Columns = 2500, 2000
        dx.BitsAllocated, dx.BitsStored, dx.HighBit, dx.PixelRepresentation = 16, 14, 13, 0
        dx.PixelData = rng.integers(0, 16000, (2500, 2000), dtype=np.uint16).tobytes()
        rest.append(_write(dx, folder / f'dx{number}.dcm'))
    return {'ct': ct, 'rest': rest, 'ct_study': ct_study}


def _dataset(sop_class: str, study: str, series: str, modality: str, number: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = 'Bench^Patient', 'BENCH1', '19700101', 'O'
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = '20260101', '120000', '', '1'
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = modality, 1, number
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 'MONOCHROME2'
    return ds


def _write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


# ---------------------------------------------------------------- receivers


def _start_pacs(data: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        'PACS_DATA_DIR': str(data),
        'PACS_HTTP_PORT': str(PACS_HTTP),
        'PACS_DICOM_PORT': str(PACS_DICOM),
        'PACS_ACCEPT_ANY_AE': 'true',
        'PACS_ADMIN_PASSWORD': 'bench pass 1',
        'PACS_HTTP_HOST': '127.0.0.1',
        'PACS_MIN_FREE_DISK_MB': '0',
    }
    process = subprocess.Popen(
        [sys.executable, str(ROOT / 'main.py'), 'serve'],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(data.parent / 'pacs.log', 'wb'),
    )
    _wait_http(f'http://127.0.0.1:{PACS_HTTP}/health')
    return process


def _start_orthanc(folder: Path, http: int, dicom: int, *, nodelay: bool = False) -> subprocess.Popen:
    folder.mkdir(parents=True)
    config = {
        'Name': 'bench',
        'StorageDirectory': str(folder / 'db'),
        'IndexDirectory': str(folder / 'db'),
        'DicomAet': 'ORTHANC',
        'DicomPort': dicom,
        'HttpPort': http,
        'RemoteAccessAllowed': False,
        'AuthenticationEnabled': False,
        'Plugins': [],
        'DicomCheckCalledAet': False,
        'StorageCompression': False,
        'SyncStorageArea': True,
    }
    (folder / 'config.json').write_text(json.dumps(config))
    process = subprocess.Popen(
        ['Orthanc', str(folder / 'config.json')],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / 'orthanc.log', 'wb'),
        env=_env(nodelay),
    )
    _wait_http(f'http://127.0.0.1:{http}/system')
    return process


def _start_storescp(folder: Path, port: int, *, nodelay: bool = False) -> subprocess.Popen:
    folder.mkdir(parents=True)
    process = subprocess.Popen(
        ['storescp', '-aet', 'STORESCP', '-od', str(folder), '+xa', str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(nodelay),
    )
    time.sleep(0.5)
    return process


def _env(nodelay: bool) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != 'TCP_NODELAY'}
    return {**environment, 'TCP_NODELAY': '1'} if nodelay else environment


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f'{url} did not answer')


def _push(aet: str, port: int, files: list[Path]) -> None:
    result = subprocess.run(
        ['storescu', '-aet', 'BENCH', '-aec', aet, '127.0.0.1', str(port), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f'storescu to {aet} failed: {result.stderr[-500:]}')


def _ready_latency(database: Path, study_uid: str, last_acknowledged: float, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    with sqlite3.connect(f'file:{database}?mode=ro', uri=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                'SELECT state, ready_at FROM study WHERE study_instance_uid = ?', (study_uid,)
            ).fetchone()
            if row and row[0] == 'ready' and row[1]:
                ready = datetime.fromisoformat(row[1]).replace(tzinfo=UTC).timestamp()
                return ready - last_acknowledged
            time.sleep(0.02)
    raise RuntimeError('the CT study did not become ready')


def _wait_idle(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f'http://127.0.0.1:{PACS_HTTP}/health', timeout=5) as response:
            health = json.load(response)
        if health['pending_instances'] == 0 and health['queue_depth'] == 0:
            return
        time.sleep(0.2)


class _MemoryWatch(threading.Thread):
    """Samples a process's resident memory every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._stop_event = pid, 0, threading.Event()

    def current(self) -> int:
        for line in Path(f'/proc/{self.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
        return 0

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            self.peak = max(self.peak, self.current())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self.current())


if __name__ == '__main__':
    sys.exit(main())
