"""DICOM peers are who they say: an entered modality's AE title is accepted only from its host (attack 3), and a
peer that may not query is refused with 0x0124 (attack 12).

The modality REMOTE_US is entered at 10.9.9.9; the tests call from 127.0.0.1, which is another host.
"""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)
from sqlmodel import select

from dicom import scp, storage
from dicom.ingest import Ingest
from dicom.listener import Listener
from domain import access, db, modalities, options
from domain.access import Permission
from domain.modalities import ModalityCreate
from domain.models import AuditEvent, Instance
from tests.conftest import Clinic
from tests.dicom.conftest import sample
from tests.security.dicom_peer import echo, scu

SPOOFED = 'REMOTE_US'
SENDER = 'CT_ROOM1'  # an honest modality on this host, which stores the images the spoofer is after


@pytest.fixture
def listener(clinic: Clinic) -> Iterator[Listener]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    admin = clinic.admin.actor
    modalities.add(ModalityCreate(ae_title=SPOOFED, host='10.9.9.9', port=104, modality='US'), by=admin)
    modalities.add(ModalityCreate(ae_title=SENDER, host='127.0.0.1', port=104, modality='CT'), by=admin)
    running = scp.start(clinic.settings, Ingest(on_stored=lambda _instance_id: None))
    try:
        ae = scu(SENDER)
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate('127.0.0.1', running.port, ae_title=clinic.settings.ae_title)
        assert assoc.is_established
        assert assoc.send_c_store(pydicom.dcmread(sample('CT_small.dcm'))).Status == 0x0000
        assoc.release()
        yield running
    finally:
        running.stop()


def test_a_spoofed_ae_title_from_another_host_may_not_list_patients(clinic: Clinic, listener: Listener) -> None:
    ae = scu(SPOOFED)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate('127.0.0.1', listener.port, ae_title=clinic.settings.ae_title)
    listed = _study_query(assoc) if assoc.is_established else []
    assert listed == []
    assert assoc.is_rejected


def test_findscu_with_a_spoofed_ae_title_is_rejected(clinic: Clinic, listener: Listener, tmp_path: Path) -> None:
    if shutil.which('findscu') is None:
        pytest.skip("DCMTK's findscu is not installed")
    run = subprocess.run(
        ['findscu', '-S', '-aet', SPOOFED, '-aec', clinic.settings.ae_title, '-to', '10', '-ta', '10', '-td', '10',
         '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName', '-k', 'StudyInstanceUID',
         '127.0.0.1', str(listener.port)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert 'Find Response' not in output  # no study listed
    assert 'Association Rejected' in output


def test_a_spoofed_ae_title_may_not_retrieve_images(clinic: Clinic, listener: Listener) -> None:
    received: list[Dataset] = []
    assoc = _get_association(clinic, listener, SPOOFED, received)
    if assoc.is_established:
        query = Dataset()
        query.QueryRetrieveLevel = 'STUDY'
        query.StudyInstanceUID = pydicom.dcmread(sample('CT_small.dcm')).StudyInstanceUID
        list(assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet))
        assoc.release()
    assert received == []
    assert assoc.is_rejected


def test_a_spoofed_ae_title_may_not_store_an_image(clinic: Clinic, listener: Listener) -> None:
    spoof = pydicom.dcmread(sample('MR_small.dcm'))
    ae = scu(SPOOFED)
    ae.add_requested_context(spoof.SOPClassUID, spoof.file_meta.TransferSyntaxUID)
    assoc = ae.associate('127.0.0.1', listener.port, ae_title=clinic.settings.ae_title)
    if assoc.is_established:
        assoc.send_c_store(spoof)
        assoc.release()
    with db.reading() as session:
        stored = session.exec(select(Instance.sop_instance_uid)).all()
    assert spoof.SOPInstanceUID not in stored
    assert assoc.is_rejected


def test_the_refusal_is_audited_with_the_calling_address(clinic: Clinic, listener: Listener) -> None:
    ae = scu(SPOOFED)
    ae.add_requested_context('1.2.840.10008.1.1')
    assoc = ae.associate('127.0.0.1', listener.port, ae_title=clinic.settings.ae_title)
    if assoc.is_established:
        assoc.release()
    refusals = _refusals()
    assert len(refusals) == 1
    assert refusals[0].address == '127.0.0.1' and refusals[0].outcome == 'denied'
    assert refusals[0].detail['ae_title'] == SPOOFED and refusals[0].detail['address'] == '127.0.0.1'
    assert refusals[0].detail['reason'] == 'not from the entered host'


def test_an_unknown_ae_title_is_refused_and_audited(clinic: Clinic, listener: Listener) -> None:
    assert not echo(listener.port, clinic.settings.ae_title, 'STRANGER')
    assert [row.detail['reason'] for row in _refusals()] == ['unknown AE title']


def test_accepting_any_modality_still_holds_an_entered_title_to_its_host(clinic: Clinic, listener: Listener) -> None:
    options.put('accept_any_ae', True, by=clinic.admin.actor)
    assert echo(listener.port, clinic.settings.ae_title, 'STRANGER')
    assert not echo(listener.port, clinic.settings.ae_title, SPOOFED)


def test_a_modality_ticked_any_host_is_accepted_from_elsewhere(clinic: Clinic, listener: Listener) -> None:
    entered = modalities.find(SPOOFED)
    assert entered is not None and entered.id is not None
    form = ModalityCreate.model_validate(entered, from_attributes=True)
    form.any_host = True
    modalities.update(entered.id, form, by=clinic.admin.actor)
    assert echo(listener.port, clinic.settings.ae_title, SPOOFED)


def test_a_modality_entered_by_host_name_is_accepted_from_that_host(clinic: Clinic, listener: Listener) -> None:
    modalities.add(ModalityCreate(ae_title='NAMED_DX', host='localhost', port=104), by=clinic.admin.actor)
    assert echo(listener.port, clinic.settings.ae_title, 'NAMED_DX')


@pytest.fixture
def may_not_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """Peers (the modality role) lose the right to query, as a clinic could decide."""
    allowed = access.PERMISSIONS[Permission.QUERY_DICOM] - {access.MODALITY}
    monkeypatch.setitem(access.PERMISSIONS, Permission.QUERY_DICOM, allowed)


def test_c_find_from_a_peer_that_may_not_query_is_refused_not_authorised(
    clinic: Clinic, listener: Listener, may_not_query: None
) -> None:
    ae = scu(SENDER)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate('127.0.0.1', listener.port, ae_title=clinic.settings.ae_title)
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel, query.StudyInstanceUID = 'STUDY', ''
    statuses = [status.Status for status, _ in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)]
    assoc.release()
    assert statuses == [0x0124]


def test_c_get_from_a_peer_that_may_not_query_is_refused_not_authorised(
    clinic: Clinic, listener: Listener, may_not_query: None
) -> None:
    received: list[Dataset] = []
    assoc = _get_association(clinic, listener, SENDER, received)
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = pydicom.dcmread(sample('CT_small.dcm')).StudyInstanceUID
    statuses = [status.Status for status, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)]
    assoc.release()
    assert statuses[-1] == 0x0124
    assert received == []


# ---------------------------------------------------------------- helpers


def _get_association(clinic: Clinic, listener: Listener, ae_title: str, received: list[Dataset]) -> Association:
    """An association for C-GET of CT images as `ae_title`, keeping the images that arrive in `received`."""
    ae = scu(ae_title)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage)
    return ae.associate(
        '127.0.0.1',
        listener.port,
        ae_title=clinic.settings.ae_title,
        ext_neg=[build_role(CTImageStorage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, _keeping(received))],
    )


def _keeping(received: list[Dataset]) -> Callable[[evt.Event], int]:
    """A C-STORE handler for the SCU's side of a C-GET: keep what arrives."""

    def on_store(event: evt.Event) -> int:
        received.append(event.dataset)
        return 0x0000

    return on_store


def _study_query(assoc: object) -> list[Dataset]:
    query = Dataset()
    query.QueryRetrieveLevel, query.PatientName, query.StudyInstanceUID = 'STUDY', '', ''
    answers = [
        identifier
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)  # type: ignore[attr-defined]
        if status.Status == 0xFF00
    ]
    assoc.release()  # type: ignore[attr-defined]
    return answers


def _refusals() -> list[AuditEvent]:
    with db.reading() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == 'dicom.refused')).all())
