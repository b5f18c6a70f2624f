"""Modalities push images with C-STORE: stored, indexed, acknowledged only then; bad input is refused cleanly."""

import contextlib
import logging
import socket
import subprocess
import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from sqlmodel import select

from dicom import storage
from domain import audit, db, options
from domain.models import AuditEvent, Instance, Series, Study
from tests.conftest import need_tool
from tests.dicom.conftest import Pacs, instance_rows, sample, send, send_file_as_is, with_meta

CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2'
MR_IMAGE = '1.2.840.10008.5.1.4.1.1.4'


def test_an_image_pushed_by_a_known_modality_is_stored_and_indexed(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm')) == [0x0000]
    with db.reading() as session:
        instance = session.exec(select(Instance)).one()
        study = session.exec(select(Study)).one()
        series = session.exec(select(Series)).one()
    original = pydicom.dcmread(sample('CT_small.dcm'))
    assert instance.sop_instance_uid == original.SOPInstanceUID
    assert (study.num_instances, study.num_series, series.num_instances) == (1, 1, 1)
    assert study.source_ae == 'TESTSCU' and study.state == 'receiving' and study.patient_ref_id is None
    stored = pydicom.dcmread(pacs.clinic.data_dir / instance.file_path)
    assert stored.PixelData == original.PixelData
    assert stored.file_meta.SourceApplicationEntityTitle == 'TESTSCU'
    assert original.SOPInstanceUID not in instance.file_path
    assert pacs.armed == [study.id]


def test_echo_answers_success(pacs: Pacs) -> None:
    ae = AE(ae_title='TESTSCU')
    ae.add_requested_context('1.2.840.10008.1.1')
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()


def test_echoscu_from_dcmtk_gets_an_answer(pacs: Pacs) -> None:
    echoscu = need_tool('echoscu')
    result = subprocess.run(
        [echoscu, '-aet', 'TESTSCU', '-aec', pacs.ae_title, '127.0.0.1', str(pacs.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_an_unknown_ae_title_is_refused_at_association(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm'), ae_title='STRANGER') == [-1]
    assert instance_rows() == 0


def test_accept_any_modality_lets_an_unknown_ae_title_store(pacs: Pacs) -> None:
    options.put('accept_any_ae', True, by=pacs.clinic.admin.actor)
    assert send(pacs, sample('CT_small.dcm'), ae_title='STRANGER') == [0x0000]


def test_storescu_pushes_many_files_in_several_transfer_syntaxes_over_one_association(pacs: Pacs) -> None:
    storescu = need_tool('storescu')
    # storescu proposes a compressed syntax only when told which one (-x…); each run is one association.
    runs = {
        '-xt': ['emri_small_jpeg_ls_lossless.dcm', 'CT_small.dcm', 'MR_small.dcm', 'OBXXXX1A.dcm'],
        '-xv': ['MR2_J2KR.dcm', 'rtdose.dcm'],
        '-xy': ['SC_rgb_jpeg_dcmtk.dcm'],
        '-xx': ['JPEG-lossy.dcm'],
        '-xr': ['SC_rgb_rle.dcm', 'emri_small_RLE.dcm'],
        '-xd': ['image_dfl.dcm'],
        '-xs': ['JPGLosslessP14SV1_1s_1f_8b.dcm'],
    }
    sent = []
    for option, names in runs.items():
        files = [str(sample(name)) for name in names]
        result = subprocess.run(
            [storescu, option, '-aet', 'TESTSCU', '-aec', pacs.ae_title, '127.0.0.1', str(pacs.port), *files],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        sent.extend(files)
    with db.reading() as session:
        stored = {i.sop_instance_uid: i.transfer_syntax_uid for i in session.exec(select(Instance)).all()}
    for path in sent:
        assert pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID in stored, path
    assert {
        '1.2.840.10008.1.2.1',
        '1.2.840.10008.1.2.5',
        '1.2.840.10008.1.2.4.80',
        '1.2.840.10008.1.2.4.90',
        '1.2.840.10008.1.2.4.50',
        '1.2.840.10008.1.2.1.99',
        '1.2.840.10008.1.2.4.70',
    } <= set(stored.values())


def test_compressed_files_are_stored_exactly_as_received(pacs: Pacs) -> None:
    path = sample('MR_small_jp2klossless.dcm')
    assert send(pacs, path) == [0x0000]
    with db.reading() as session:
        instance = session.exec(select(Instance)).one()
    assert pydicom.dcmread(pacs.clinic.data_dir / instance.file_path).PixelData == pydicom.dcmread(path).PixelData


def test_a_second_copy_of_an_image_is_acknowledged_and_not_stored_twice(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm'), sample('CT_small.dcm')) == [0x0000, 0x0000]
    assert send(pacs, sample('CT_small.dcm')) == [0x0000]
    assert instance_rows() == 1
    with db.reading() as session:
        assert session.exec(select(Study)).one().num_instances == 1


def test_a_different_file_with_a_known_uid_is_kept_out_and_reported_to_the_admin(
    pacs: Pacs, caplog: pytest.LogCaptureFixture
) -> None:
    first = pydicom.dcmread(sample('CT_small.dcm'))
    assert send(pacs, first) == [0x0000]
    changed = pydicom.dcmread(sample('CT_small.dcm'))
    changed.PatientName = 'Someone^Else'
    with caplog.at_level(logging.WARNING):
        assert send(pacs, changed) == [0x0000]
    assert instance_rows() == 1
    assert len(list((pacs.clinic.data_dir / 'conflicts').iterdir())) == 1
    assert 'Someone' not in caplog.text and first.SOPInstanceUID in caplog.text
    with db.reading() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == 'instance.conflict')).one()


def test_a_data_set_that_lies_about_its_sop_class_gets_a900(pacs: Pacs, tmp_path: Path) -> None:
    dataset = pydicom.dcmread(sample('CT_small.dcm'))
    path = with_meta(dataset, tmp_path / 'lying.dcm', sop_class=MR_IMAGE)
    assert send_file_as_is(pacs, path, sop_class=MR_IMAGE) == 0xA900
    assert instance_rows() == 0


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'no-uids'])
def test_a_data_set_that_cannot_be_parsed_gets_c000_and_leaves_nothing(pacs: Pacs, tmp_path: Path, damage: str) -> None:
    path = with_meta(pydicom.dcmread(sample('CT_small.dcm')), tmp_path / 'bad.dcm')
    raw = path.read_bytes()
    meta_end = raw.index(b'\x08\x00', 132 + 12)  # the first data set element (group 0008)
    if damage == 'garbage':
        path.write_bytes(raw[:meta_end] + b'\xff\xee' * 40)
    elif damage == 'truncated':
        path.write_bytes(raw[: meta_end + 30])
    else:
        dataset = pydicom.dcmread(sample('CT_small.dcm'))
        del dataset.StudyInstanceUID
        with_meta(dataset, path)
    assert send_file_as_is(pacs, path, sop_class=CT_IMAGE) == 0xC000
    assert instance_rows() == 0
    assert not list((pacs.clinic.data_dir / 'dicom').rglob('*.dcm'))


def test_a_nearly_full_disk_gets_a700_and_leaves_no_partial_file(pacs: Pacs) -> None:
    storage.configure(pacs.clinic.data_dir, min_free_bytes=storage.free_bytes() + 10 * 1024**3)
    assert send(pacs, sample('CT_small.dcm')) == [0xA700]
    assert instance_rows() == 0
    storage.configure(pacs.clinic.data_dir, min_free_bytes=0)
    assert send(pacs, sample('CT_small.dcm')) == [0x0000]


def test_patient_names_in_every_character_set_are_indexed_as_text(pacs: Pacs) -> None:
    from pydicom.data import get_charset_files

    names = [
        'chrFren.dcm',
        'chrGerm.dcm',
        'chrGreek.dcm',
        'chrH31.dcm',
        'chrI2.dcm',
        'chrRuss.dcm',
        'chrX1.dcm',
        'chrX2.dcm',
        'chrArab.dcm',
        'chrHbrw.dcm',
    ]
    files = {Path(f).name: Path(f) for f in get_charset_files()}
    for name in names:
        assert send(pacs, files[name]) == [0x0000], name
    with db.reading() as session:
        indexed = {s.study_instance_uid: s.patient_name for s in session.exec(select(Study)).all()}
    for name in names:
        dataset = pydicom.dcmread(files[name], stop_before_pixels=True)
        assert indexed[dataset.StudyInstanceUID] == str(dataset.PatientName), name
    assert 'Wang^XiaoDong=王^小東' in indexed.values() and 'Люкceмбypг' in indexed.values()


def test_html_in_a_patient_name_is_kept_as_plain_text(pacs: Pacs) -> None:
    dataset = pydicom.dcmread(sample('CT_small.dcm'))
    dataset.PatientName = '<script>alert(1)</script>^Eve'
    assert send(pacs, dataset) == [0x0000]
    with db.reading() as session:
        assert session.exec(select(Study)).one().patient_name == '<script>alert(1)</script>^Eve'


def test_a_modality_that_disconnects_mid_association_loses_only_what_was_not_acknowledged(pacs: Pacs) -> None:
    big = _large_ct(rows=2048, columns=2048, frames=2)  # 16 MB: still in flight when the line drops
    ae = AE(ae_title='TESTSCU')
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 3
    ae.add_requested_context(CT_IMAGE, ExplicitVRLittleEndian)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    acknowledged = [assoc.send_c_store(pydicom.dcmread(sample('CT_small.dcm'))).Status]
    sender = threading.Thread(target=lambda: acknowledged.append(getattr(assoc.send_c_store(big), 'Status', None)))
    sender.start()
    threading.Event().wait(0.05)
    with contextlib.suppress(OSError):
        assoc.dul.socket.socket.shutdown(socket.SHUT_RDWR)  # the cable is pulled mid-image
    sender.join(timeout=10)
    stored = {i.sop_instance_uid for i in _instances()}
    assert acknowledged[0] == 0 and pydicom.dcmread(sample('CT_small.dcm')).SOPInstanceUID in stored
    # The big image is either whole and indexed or not there at all (the fixture checks files against rows).


def _instances() -> list[Instance]:
    with db.reading() as session:
        return list(session.exec(select(Instance)).all())


def _large_ct(*, rows: int, columns: int, frames: int) -> pydicom.Dataset:
    dataset = pydicom.dcmread(sample('CT_small.dcm'))
    dataset.SOPInstanceUID = generate_uid()
    dataset.Rows, dataset.Columns = rows, columns
    dataset.NumberOfFrames = frames
    dataset.PixelData = np.zeros((frames, rows, columns), dtype=np.uint16).tobytes()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return dataset


def test_every_arrival_is_audited_once_per_study_and_association(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm'), sample('MR_small.dcm')) == [0, 0]
    threading.Event().wait(0.3)
    with db.reading() as session:
        received = session.exec(select(AuditEvent).where(AuditEvent.action == 'study.receive')).all()
    assert sorted(event.detail['instances'] for event in received) == [1, 1]
    assert all(event.username == 'TESTSCU' for event in received)
    assert audit.verify(by=pacs.clinic.admin.actor).intact


def test_health_reports_the_listener_and_the_images_waiting_for_processing(pacs: Pacs) -> None:
    from ui import health

    assert send(pacs, sample('CT_small.dcm')) == [0]
    report = health._report(pacs.clinic.data_dir, {'dicom': pacs.listener.is_up})
    assert report['dicom'] == 'ok' and report['pending_instances'] == 1
    pacs.listener.stop()
    report = health._report(pacs.clinic.data_dir, {'dicom': pacs.listener.is_up})
    assert report['dicom'] == 'down' and report['status'] == 'degraded'
