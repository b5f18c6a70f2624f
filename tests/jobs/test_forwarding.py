"""Forwarding rules: which studies match, the forward job per study and rule, delivery by C-STORE to a real
destination (pynetdicom and DCMTK's storescp), and a failing destination that delivers after Retry."""

import contextlib
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import RLELossless, generate_uid
from pynetdicom import AE, AllStoragePresentationContexts, evt
from sqlmodel import col, select

import jobs  # noqa: F401 - the broker first
from dicom import sending, storage, transcode
from dicom.ingest import Ingest
from domain import db, forwarding, modalities, work
from domain.errors import NotAllowed
from domain.forwarding import ForwardingRuleCreate
from domain.modalities import ModalityCreate
from domain.models import AuditEvent, ForwardingRule, Job, Study
from jobs import dispatch
from jobs import forwarding as forwarding_jobs
from tests.conftest import Clinic, free_port, job_worker, listening, need_tool, wait_until
from tests.jobs.test_media import process, quiet

Received = list[tuple[str, str]]  # (SOP Instance UID, transfer syntax it arrived in)


@pytest.fixture
def pipeline(clinic: Clinic) -> Iterator[Ingest]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    stop_routing = forwarding_jobs.start(clinic.settings)
    yield Ingest()
    stop_routing()


@pytest.fixture
def worker(clinic: Clinic) -> Iterator[None]:
    with job_worker():
        yield


def test_a_rule_matches_on_modality_calling_ae_and_description_pattern() -> None:
    study = Study(study_instance_uid='1.2', modalities='CT\\SR', source_ae='CT_ROOM1', description='CT Thorax w/o')
    assert forwarding.matches(_rule(), study)
    assert forwarding.matches(_rule(modality='ct', calling_ae='CT_ROOM1', description='ct thorax*'), study)
    assert forwarding.matches(_rule(description='CT?Thorax*'), study)
    assert not forwarding.matches(_rule(modality='MR'), study)
    assert not forwarding.matches(_rule(calling_ae='US_ROOM2'), study)
    assert not forwarding.matches(_rule(description='thorax'), study)  # a pattern matches the whole description
    assert not forwarding.matches(_rule(description='CT [Thorax]*'), study)  # brackets are plain characters


def test_a_ready_study_goes_to_the_destination_with_every_image_transcoded_where_needed(
    clinic: Clinic, pipeline: Ingest, worker: None
) -> None:
    received: Received = []
    with _destination(received) as port:
        _rule_to(clinic, 'ARCHIVE', port, description='*')
        study_id, uids = _study(pipeline, clinic)
        quiet(study_id)
        process(study_id)
        wait_until(lambda: len(received) == 2, 'both images at the destination')
    assert {uid for uid, _ in received} == set(uids)
    assert all(syntax in transcode.UNCOMPRESSED for _, syntax in received)  # the RLE image decoded
    job = wait_until(lambda: _job(state='done'), 'the forward job done')
    assert job.kind == forwarding.FORWARD_JOB
    assert 'study.forward' in _actions()


def test_a_failing_destination_fails_the_job_and_retry_delivers_once_it_is_up(
    clinic: Clinic, pipeline: Ingest, worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch.runner, 'send', lambda job_id, kind: None)  # the attempts below are run by hand
    port = free_port()
    _rule_to(clinic, 'ARCHIVE', port)
    study_id, _uids = _study(pipeline, clinic)
    quiet(study_id)
    process(study_id)
    job = _job(state='queued')
    assert job is not None
    for _attempt in range(11):  # max_retries=10: the eleventh failure is the last
        with contextlib.suppress(sending.Unreachable):
            forwarding_jobs.forward_study.fn(job.id or 0)
    failed = _job(state='failed')
    assert failed is not None and 'did not accept an association' in (failed.error or '')
    monkeypatch.undo()
    received: Received = []
    with _destination(received, port=port):
        work.retry(job.id or 0, by=clinic.admin.actor)
        wait_until(lambda: len(received) == 2, 'both images after Retry')
        wait_until(lambda: _job(state='done'), 'the retried job done')


def test_a_study_is_routed_once_per_readiness_and_never_back_to_its_sender(clinic: Clinic, pipeline: Ingest) -> None:
    _rule_to(clinic, 'ARCHIVE', free_port())
    study_id, _uids = _study(pipeline, clinic)
    quiet(study_id)
    process(study_id)
    assert forwarding.route(study_id) == 0  # the StudyReady of this readiness queued it already
    assert len(_jobs()) == 1
    with db.transaction() as session:  # ready again, this time as sent by the destination itself
        study = session.get(Study, study_id)
        assert study is not None and study.ready_at is not None
        study.source_ae, study.ready_at = 'ARCHIVE', study.ready_at + timedelta(minutes=1)
        session.add(study)
    assert forwarding.route(study_id) == 0
    with db.transaction() as session:  # ready again from its own sender: it goes again
        study = session.get(Study, study_id)
        assert study is not None and study.ready_at is not None
        study.source_ae, study.ready_at = 'technician1', study.ready_at + timedelta(minutes=1)
        session.add(study)
    assert forwarding.route(study_id) == 1


def test_a_disabled_destination_fails_the_job_at_once(clinic: Clinic, pipeline: Ingest) -> None:
    rule = _rule_to(clinic, 'ARCHIVE', free_port())
    modalities.set_active(rule.destination_id, False, by=clinic.admin.actor)
    study_id, _uids = _study(pipeline, clinic)
    quiet(study_id)
    process(study_id)
    job = _jobs()[0]
    forwarding_jobs.forward_study.fn(job.id or 0)
    failed = _job(state='failed')
    assert failed is not None and 'disabled or has no address' in (failed.error or '')


def test_forwarding_to_dcmtk_storescp_delivers_every_image(
    clinic: Clinic, pipeline: Ingest, worker: None, tmp_path: Path
) -> None:
    storescp = need_tool('storescp')
    port = free_port()
    out = tmp_path / 'received'
    out.mkdir()
    process_ = subprocess.Popen([storescp, '-aet', 'STORESCP', '-od', str(out), str(port)])
    try:
        wait_until(lambda: listening(port), 'storescp listening')
        _rule_to(clinic, 'STORESCP', port)
        study_id, uids = _study(pipeline, clinic)
        quiet(study_id)
        process(study_id)
        wait_until(lambda: _job(state='done'), 'the forward job done')
    finally:
        process_.terminate()
        process_.wait(timeout=10)
    arrived = {pydicom.dcmread(path).SOPInstanceUID for path in out.iterdir()}
    assert arrived == set(uids)


# ---------------------------------------------------------------- helpers


def _rule(**values: Any) -> ForwardingRule:
    return ForwardingRule(name='r', destination_id=1, **values)


def _rule_to(clinic: Clinic, ae_title: str, port: int, *, name: str = 'To the archive', **match: str) -> ForwardingRule:
    destination = modalities.find(ae_title)
    if destination is None:
        form = ModalityCreate(ae_title=ae_title, host='127.0.0.1', port=port, modality='OT')
        destination = modalities.add(form, by=clinic.admin.actor)
    data = ForwardingRuleCreate(name=name, destination_id=destination.id, **match)
    return forwarding.add(data, by=clinic.admin.actor)


def _study(pipeline: Ingest, clinic: Clinic) -> tuple[int, list[str]]:
    """A CT image (explicit VR little endian) and an RLE image in one study; its id and the SOP Instance UIDs."""
    study_uid = generate_uid()
    uids = []
    study_id = 0
    for name in ('CT_small.dcm', 'MR_small_RLE.dcm'):
        dataset = pydicom.dcmread(get_testdata_file(name))
        dataset.StudyInstanceUID, dataset.SOPInstanceUID = study_uid, generate_uid()
        path = clinic.data_dir.parent / f'{name}.upload'
        dataset.save_as(path, enforce_file_format=True)
        outcome = pipeline.accept_file(path, by=clinic.technician.actor)
        assert outcome.study_id is not None
        study_id = outcome.study_id
        uids.append(str(dataset.SOPInstanceUID))
    assert pydicom.dcmread(get_testdata_file('MR_small_RLE.dcm')).file_meta.TransferSyntaxUID == RLELossless
    return study_id, uids


@contextlib.contextmanager
def _destination(received: Received, *, port: int = 0) -> Iterator[int]:
    """A pynetdicom storage SCP accepting only the uncompressed syntaxes (pynetdicom's default)."""
    ae = AE(ae_title='ARCHIVE')
    ae.supported_contexts = AllStoragePresentationContexts

    def on_store(event: Any) -> int:
        received.append((str(event.request.AffectedSOPInstanceUID), str(event.context.transfer_syntax)))
        return 0x0000

    server = ae.start_server(('127.0.0.1', port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def _jobs() -> list[Job]:
    with db.reading() as session:
        return list(session.exec(select(Job).where(Job.kind == forwarding.FORWARD_JOB).order_by(col(Job.id))).all())


def _job(*, state: str) -> Job | None:
    return next((job for job in _jobs() if job.state == state), None)


def _actions() -> set[str]:
    with db.reading() as session:
        return set(session.exec(select(AuditEvent.action)).all())


def test_only_an_administrator_may_change_forwarding_rules(clinic: Clinic) -> None:
    rule = _rule_to(clinic, 'ARCHIVE', free_port())
    data = ForwardingRuleCreate(name='Mine now', destination_id=rule.destination_id)
    for attempt in (
        lambda: forwarding.add(data, by=clinic.technician.actor),
        lambda: forwarding.update(rule.id or 0, data, by=clinic.radiologist.actor),
        lambda: forwarding.delete(rule.id or 0, by=clinic.technician.actor),
        lambda: forwarding.list_rules(by=clinic.receptionist.actor),
    ):
        with pytest.raises(NotAllowed):
            attempt()
    assert [r.name for r in forwarding.list_rules(by=clinic.admin.actor)] == ['To the archive']
