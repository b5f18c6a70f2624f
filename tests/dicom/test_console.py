"""The console: `modality add|list`, and `scp` running the listener alone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
from pynetdicom import AE

from tests.conftest import free_port
from tests.dicom.conftest import sample

ROOT = Path(__file__).resolve().parent.parent.parent


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith('PACS_')}
    return {**environment, 'PACS_DATA_DIR': str(data_dir), **extra}


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, 'main.py', *args],
        cwd=ROOT,
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_modalities_are_entered_and_listed_from_the_console(tmp_path: Path) -> None:
    added = _run(
        tmp_path,
        'modality',
        'add',
        'US_ROOM1',
        '10.0.0.5',
        '104',
        '--modality',
        'US',
        '--description',
        'Ultrasound room 1',
    )
    assert added.returncode == 0, added.stderr
    assert 'added US_ROOM1 at 10.0.0.5:104' in added.stdout
    listing = _run(tmp_path, 'modality', 'list')
    assert listing.stdout.split()[:4] == ['US_ROOM1', '10.0.0.5:104', 'US', 'active']


def test_a_bad_modality_is_refused_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    refused = _run(tmp_path, 'modality', 'add', 'WAY_TOO_LONG_AE_TITLE', 'host', '104')
    assert refused.returncode == 2
    assert refused.stderr.strip().count('\n') == 0 and 'AE title' in refused.stderr


def test_the_listener_runs_alone_and_stores_what_an_entered_modality_sends(tmp_path: Path) -> None:
    assert _run(tmp_path, 'modality', 'add', 'TESTSCU', '127.0.0.1', '104').returncode == 0
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'scp'],
        cwd=ROOT,
        env=_env(tmp_path, PACS_DICOM_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert f'on port {port}' in process.stdout.readline()
        ae = AE(ae_title='TESTSCU')
        ae.add_requested_context('1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1')
        assoc = ae.associate('127.0.0.1', port, ae_title='CLINICPACS')
        assert assoc.is_established
        assert assoc.send_c_store(pydicom.dcmread(sample('CT_small.dcm'))).Status == 0
        assoc.release()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not list((tmp_path / 'thumbnails').glob('*.png')):
            time.sleep(0.1)
        assert list((tmp_path / 'thumbnails').glob('*.png')), 'the listener alone did not process the image'
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0
    assert len(list((tmp_path / 'dicom').rglob('*.dcm'))) == 1
