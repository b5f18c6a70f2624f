"""Storage Commitment Push Model SCP (PS3.4 J.3) with pynetdicom as the modality: N-ACTION, then the N-EVENT-REPORT
on the same association or on a new one to the modality's entered address."""

import threading
from collections.abc import Iterator
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]
from sqlmodel import col, select

import jobs  # noqa: F401 - the broker first
from dicom import commitment as commitment_scp
from dicom import storage
from domain import access, db, modalities
from domain.access import Permission
from domain.modalities import ModalityCreate
from domain.models import AuditEvent, CommitmentRequest, Instance, Job
from jobs import forwarding as interop_jobs
from tests.conftest import WAIT_S, free_port, job_worker, wait_until
from tests.dicom.conftest import SCU_AE, Pacs, sample, send

CT, MR = pydicom.dcmread(sample('CT_small.dcm')), pydicom.dcmread(sample('MR_small.dcm'))


@pytest.fixture
def worker(pacs: Pacs) -> Iterator[None]:
    """Database jobs run by the in-process broker, as in the embedded server."""
    with job_worker():
        yield


@pytest.fixture
def modality_scp(pacs: Pacs) -> Iterator[tuple[int, list[tuple[int, Dataset]]]]:
    """The modality's own listener for reports on a new association; TESTSCU is entered with its port."""
    reports: list[tuple[int, Dataset]] = []
    ae = AE(ae_title=SCU_AE)
    ae.add_supported_context(StorageCommitmentPushModel, scu_role=False, scp_role=True)
    server = ae.start_server(
        ('127.0.0.1', 0), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, _keep(reports, threading.Event()))]
    )
    port = int(server.server_address[1])
    entered = modalities.find(SCU_AE)
    assert entered is not None and entered.id is not None
    form = ModalityCreate.model_validate(entered, from_attributes=True)
    form.port = port
    modalities.update(entered.id, form, by=pacs.clinic.admin.actor)
    yield port, reports
    server.shutdown()


def test_all_stored_images_are_committed_on_the_same_association(pacs: Pacs, worker: None) -> None:
    assert send(pacs, CT, MR) == [0, 0]
    reports: list[tuple[int, Dataset]] = []
    arrived = threading.Event()
    assoc = _modality(pacs, evt_handlers=[(evt.EVT_N_EVENT_REPORT, _keep(reports, arrived))])
    transaction = generate_uid()
    status, _ = assoc.send_n_action(_request(transaction, CT, MR), 1, StorageCommitmentPushModel, _INSTANCE)
    assert status.Status == 0x0000
    assert arrived.wait(WAIT_S), 'no report on the same association'
    # The handler heard the report before pynetdicom sent its answer, and the job records the report once answered:
    # wait for the record before releasing (a release sent first would cut the answer off, and the job would wait in
    # vain: 'Invalid event Evt9 for the current state Sta7', then a DIMSE timeout).
    wait_until(lambda: _request_row(transaction).reported_how == 'same', 'the report recorded as sent')
    assoc.release()
    event_type, info = reports[0]
    assert event_type == 1 and info.TransactionUID == transaction
    assert {item.ReferencedSOPInstanceUID for item in info.ReferencedSOPSequence} == {
        CT.SOPInstanceUID,
        MR.SOPInstanceUID,
    }
    assert 'FailedSOPSequence' not in info
    assert {'dicom.commitment.request', 'dicom.commitment.report'} <= _actions()


def test_unknown_mismatched_missing_and_changed_images_are_listed_as_failed(
    pacs: Pacs, modality_scp: tuple[int, list[tuple[int, Dataset]]]
) -> None:
    _port, reports = modality_scp
    assert send(pacs, CT, MR) == [0, 0]
    deleted = pydicom.dcmread(sample('rtplan.dcm'))
    assert send(pacs, deleted) == [0]
    gone = _file_of(deleted.SOPInstanceUID)
    gone.rename(gone.with_suffix('.away'))  # indexed, but no longer on disk
    changed = _file_of(MR.SOPInstanceUID)
    changed.write_bytes(changed.read_bytes() + b'\0\0')  # on disk, but not what was indexed
    unknown = (CT.SOPClassUID, generate_uid())
    assoc = _modality(pacs)
    transaction = generate_uid()
    references = [
        (CT.SOPClassUID, CT.SOPInstanceUID),
        (MR.SOPClassUID, MR.SOPInstanceUID),
        (deleted.SOPClassUID, deleted.SOPInstanceUID),
        unknown,
        (CT.SOPClassUID, _instance_of(pacs, 'MR_small.dcm', other_uid=True)),
    ]
    status, _ = assoc.send_n_action(_request(transaction, *references), 1, StorageCommitmentPushModel, _INSTANCE)
    assoc.release()  # before any report: it must come on a new association
    assert status.Status == 0x0000
    _run_report_job(transaction)
    wait_until(lambda: reports, 'the report on a new association')
    event_type, info = reports[0]
    assert event_type == 2 and info.TransactionUID == transaction
    assert [item.ReferencedSOPInstanceUID for item in info.ReferencedSOPSequence] == [CT.SOPInstanceUID]
    failed = {item.ReferencedSOPInstanceUID: item.FailureReason for item in info.FailedSOPSequence}
    assert failed == {
        MR.SOPInstanceUID: 0x0110,
        deleted.SOPInstanceUID: 0x0112,
        unknown[1]: 0x0112,
        references[4][1]: 0x0119,
    }
    assert _request_row(transaction).reported_how == 'new'
    gone.with_suffix('.away').rename(gone)  # the fixture checks that files and rows agree


def test_the_report_goes_to_the_entered_address_not_the_calling_one(
    pacs: Pacs, modality_scp: tuple[int, list[tuple[int, Dataset]]]
) -> None:
    """The modality's host and port come from the modality list: a moved modality gets nothing until re-entered."""
    port, reports = modality_scp
    assert send(pacs, CT) == [0]
    entered = modalities.find(SCU_AE)
    assert entered is not None and entered.id is not None
    form = ModalityCreate.model_validate(entered, from_attributes=True)
    form.port = free_port()
    modalities.update(entered.id, form, by=pacs.clinic.admin.actor)
    assoc = _modality(pacs)
    transaction = generate_uid()
    assoc.send_n_action(_request(transaction, CT), 1, StorageCommitmentPushModel, _INSTANCE)
    assoc.release()
    with pytest.raises(commitment_scp.ReportNotDelivered):
        _run_report_job(transaction)
    assert reports == [] and _request_row(transaction).state == 'pending'
    form.port = port
    modalities.update(entered.id, form, by=pacs.clinic.admin.actor)
    _run_report_job(transaction)
    wait_until(lambda: reports, 'the report once the address is right')


def test_a_modality_without_an_address_fails_the_job_for_good(pacs: Pacs) -> None:
    modalities.add(ModalityCreate(ae_title='NOWHERE', any_host=True), by=pacs.clinic.admin.actor)
    assert send(pacs, CT, ae_title='NOWHERE') == [0]
    assoc = _modality(pacs, ae_title='NOWHERE')
    transaction = generate_uid()
    assoc.send_n_action(_request(transaction, CT), 1, StorageCommitmentPushModel, _INSTANCE)
    assoc.release()
    _run_report_job(transaction)
    job = _job_of(transaction)
    assert job.state == 'failed' and 'no entered address' in (job.error or '')


@pytest.fixture
def may_not_store(monkeypatch: pytest.MonkeyPatch) -> None:
    allowed = access.PERMISSIONS[Permission.STORE_DICOM] - {access.MODALITY}
    monkeypatch.setitem(access.PERMISSIONS, Permission.STORE_DICOM, allowed)


def test_a_peer_that_may_not_store_is_refused_not_authorised(pacs: Pacs, may_not_store: None) -> None:
    assoc = _modality(pacs)
    status, _ = assoc.send_n_action(_request(generate_uid(), CT), 1, StorageCommitmentPushModel, _INSTANCE)
    assoc.release()
    assert status.Status == 0x0124
    with db.reading() as session:
        assert session.exec(select(CommitmentRequest)).all() == []
    assert 'denied:store-dicom' in _actions()


def test_a_request_without_a_transaction_uid_or_another_action_is_refused(pacs: Pacs) -> None:
    assoc = _modality(pacs)
    no_uid, _ = assoc.send_n_action(_request('', CT), 1, StorageCommitmentPushModel, _INSTANCE)
    other_action, _ = assoc.send_n_action(_request(generate_uid(), CT), 2, StorageCommitmentPushModel, _INSTANCE)
    assoc.release()
    assert (no_uid.Status, other_action.Status) == (0x0115, 0x0123)


# ---------------------------------------------------------------- helpers

_INSTANCE = commitment_scp.SOP_INSTANCE


def _modality(pacs: Pacs, *, ae_title: str = SCU_AE, evt_handlers: list[Any] | None = None) -> Any:
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title, evt_handlers=evt_handlers or [])
    assert assoc.is_established
    return assoc


def _request(transaction: str, *references: Dataset | tuple[str, str]) -> Dataset:
    info = Dataset()
    if transaction:
        info.TransactionUID = transaction
    items = []
    for reference in references:
        sop_class, sop_instance = (
            (reference.SOPClassUID, reference.SOPInstanceUID) if isinstance(reference, Dataset) else reference
        )
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
        items.append(item)
    info.ReferencedSOPSequence = items
    return info


def _keep(reports: list[tuple[int, Dataset]], arrived: threading.Event) -> Any:
    def on_report(event: Any) -> tuple[int, None]:
        reports.append((int(event.request.EventTypeID), event.event_information))
        arrived.set()
        return 0x0000, None

    return on_report


def _request_row(transaction: str) -> CommitmentRequest:
    with db.reading() as session:
        return session.exec(select(CommitmentRequest).where(CommitmentRequest.transaction_uid == transaction)).one()


def _job_of(transaction: str) -> Job:
    request = _request_row(transaction)
    with db.reading() as session:
        return session.exec(
            select(Job).where(Job.kind == 'commitment_report', Job.object_id == request.id).order_by(col(Job.id))
        ).one()


def _run_report_job(transaction: str) -> None:
    """Run the report job now, as a worker would (after the requesting association ended)."""
    interop_jobs.report_commitment.fn(_job_of(transaction).id or 0)


def _file_of(sop_instance_uid: str) -> Any:
    with db.reading() as session:
        row = session.exec(select(Instance).where(Instance.sop_instance_uid == sop_instance_uid)).one()
    return storage.absolute(row.file_path)


def _instance_of(pacs: Pacs, name: str, *, other_uid: bool) -> str:
    """The SOP Instance UID of a stored MR image (referenced below as a CT: a class/instance conflict)."""
    dataset = pydicom.dcmread(sample(name))
    if other_uid:
        dataset.SOPInstanceUID = generate_uid()
    assert send(pacs, dataset) == [0]
    return str(dataset.SOPInstanceUID)


def _actions() -> set[str]:
    with db.reading() as session:
        return set(session.exec(select(AuditEvent.action)).all())
