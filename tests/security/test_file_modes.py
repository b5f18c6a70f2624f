"""Private files: at start-up the data directory becomes 0700 and everything in it 0600, with one warning line;
what the server writes later (a C-STORE, a report PDF) is 0600 whatever umask it was started with."""

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pynetdicom import AE

import jobs  # noqa: F401 - the broker first
from domain import reporting, work
from jobs.reports import render_report_pdf
from tests.conftest import Clinic, free_port
from tests.dicom.conftest import Pacs, pacs, sample, send  # noqa: F401 - the running listener fixture
from tests.report_fixtures import final_report, make_study
from tests.test_serve import ROOT, _health, _serve

WARNING = 'were open to other accounts'


def modes(folder: Path) -> dict[str, int]:
    """Every directory and file under the folder (links left out) with its permission bits."""
    found = {}
    for root, directories, files in os.walk(folder):
        for name in [*directories, *files]:
            path = Path(root) / name
            if not path.is_symlink():
                found[path.relative_to(folder).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A process started without `umask 077` (as `scp` and `worker` were): the code must not rely on the caller."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_serve_makes_a_loose_data_directory_private_and_says_so_once(tmp_path: Path) -> None:
    data = tmp_path / 'data'
    for folder, name in (('dicom/ab/cd', 'x.dcm'), ('thumbnails/ab', 'series.png'), ('reports/1', 'report.pdf')):
        (data / folder).mkdir(parents=True, mode=0o755)
        (data / folder / name).write_bytes(b'patient data')
        (data / folder / name).chmod(0o644)
    (data / 'secret.key').write_text('a session secret of an older version')
    (data / 'secret.key').chmod(0o644)
    for folder in (data, data / 'dicom', data / 'dicom/ab', data / 'dicom/ab/cd', data / 'thumbnails'):
        folder.chmod(0o755)
    outside = tmp_path / 'elsewhere.txt'
    outside.write_text('not ours')
    outside.chmod(0o644)
    (data / 'link-to-elsewhere').symlink_to(outside)
    log = tmp_path / 'serve.log'

    process, url = _serve(data, log=log)
    try:
        assert _health(process, url).status_code == 200
        found = modes(data)
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    loose = {path: oct(mode) for path, mode in found.items() if mode not in (0o700, 0o600)}
    assert not loose, f'still open to others: {loose}'
    assert found['dicom/ab/cd/x.dcm'] == found['secret.key'] == found['reports/1/report.pdf'] == 0o600
    assert found['dicom/ab/cd'] == found['thumbnails'] == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644, 'a link is never followed'
    warnings = [line for line in log.read_text().splitlines() if WARNING in line]
    assert len(warnings) == 1, warnings
    assert 'WARNING' in warnings[0] and 'x.dcm' not in warnings[0]  # a count, never path by path


def test_the_scp_process_alone_keeps_what_it_receives_private(tmp_path: Path) -> None:
    data = tmp_path / 'data'
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
    env.update(PACS_DATA_DIR=str(data), PACS_DICOM_PORT=str(free_port()))
    added = subprocess.run(
        [sys.executable, 'main.py', 'modality', 'add', 'TESTSCU', '127.0.0.1', '104'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    (data / 'left-by-hand.txt').write_text('notes')
    (data / 'left-by-hand.txt').chmod(0o644)
    process = subprocess.Popen(
        [sys.executable, 'main.py', 'scp'], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and 'DICOM listener' in process.stdout.readline()
        ae = AE(ae_title='TESTSCU')
        ae.add_requested_context('1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1')
        assoc = ae.associate('127.0.0.1', int(env['PACS_DICOM_PORT']), ae_title='CLINICPACS')
        assert assoc.is_established
        assert assoc.send_c_store(sample('CT_small.dcm')).Status == 0
        assoc.release()
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=20)
    assert list((data / 'dicom').rglob('*.dcm'))
    loose = {path: oct(mode) for path, mode in modes(data).items() if mode not in (0o700, 0o600)}
    assert not loose, f'open to others: {loose}'
    assert errors.count(WARNING) == 1


@pytest.mark.usefixtures('loose_umask')
def test_an_image_received_by_c_store_is_private(pacs: Pacs) -> None:  # noqa: F811
    assert send(pacs, sample('CT_small.dcm')) == [0]
    stored = [path for path in (pacs.clinic.data_dir / 'dicom').rglob('*.dcm')]
    assert stored and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in stored)


@pytest.mark.usefixtures('loose_umask')
def test_a_rendered_report_pdf_is_private(clinic: Clinic) -> None:
    reporting.configure(clinic.data_dir)
    report_id = final_report(make_study(), clinic.radiologist.actor)
    render_report_pdf(work.unfinished()[0].id)
    path = clinic.data_dir / (reporting.view(report_id, by=clinic.admin.actor, audited=False).report.pdf_path or '')
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
