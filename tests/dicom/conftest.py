"""A running DICOM listener on a free port, its storage in the clinic's data directory, and SCU helpers."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pynetdicom import AE, build_role, evt
from pynetdicom.presentation import DEFAULT_TRANSFER_SYNTAXES
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]
from sqlalchemy import func
from sqlmodel import select

from dicom import scp, storage
from dicom.ingest import Ingest
from domain import centres, db, modalities
from domain.modalities import ModalityCreate
from domain.models import Instance
from tests.conftest import Clinic

SCU_AE = 'TESTSCU'


@dataclass
class Pacs:
    clinic: Clinic
    listener: scp.Listener
    ingest: Ingest
    armed: list[int]

    @property
    def port(self) -> int:
        return self.listener.port

    @property
    def ae_title(self) -> str:
        return self.clinic.settings.ae_title


def sample(name: str) -> Path:
    """A file shipped with pydicom (or pydicom-data); all local."""
    return Path(get_testdata_file(name))  # type: ignore[arg-type]


def instance_rows() -> int:
    with centres.unscoped(), db.reading() as session:
        return session.exec(select(func.count()).select_from(Instance)).one()


@pytest.fixture
def pacs(clinic: Clinic) -> Iterator[Pacs]:
    """The listener with TESTSCU entered as a modality; checks afterwards that files and rows agree."""
    storage.configure(clinic.data_dir, min_free_bytes=0)
    modalities.add(ModalityCreate(ae_title=SCU_AE, host='127.0.0.1', port=104, modality='CT'), by=clinic.admin.actor)
    armed: list[int] = []
    ingest = Ingest(on_stored=armed.append)
    listener = scp.start(clinic.settings, ingest)
    try:
        yield Pacs(clinic, listener, ingest, armed)
    finally:
        listener.stop()
    assert len(storage.stored_files()) == instance_rows(), 'files on disk and instance rows disagree'
    assert not list((clinic.data_dir / 'incoming').iterdir()), 'partial files left in incoming/'


def send(
    pacs: Pacs, *datasets: pydicom.Dataset | Path, ae_title: str = SCU_AE, contexts: list | None = None
) -> list[int]:
    """Send over one association with pynetdicom; the status of each C-STORE (-1: not sent)."""
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    if contexts is None:
        for item in datasets:
            dataset = item if isinstance(item, pydicom.Dataset) else pydicom.dcmread(item)
            ae.add_requested_context(dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID)
    else:
        ae.requested_contexts = contexts
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    if not assoc.is_established:
        return [-1] * len(datasets)
    statuses = []
    try:
        for item in datasets:
            dataset = item if isinstance(item, pydicom.Dataset) else pydicom.dcmread(item)
            status = assoc.send_c_store(dataset)
            statuses.append(int(status.Status) if 'Status' in status else -1)
    finally:
        assoc.release()
    return statuses


def send_file_as_is(pacs: Pacs, path: Path, *, sop_class: str, transfer_syntax: str = '1.2.840.10008.1.2.1') -> int:
    """Send a file's bytes without pynetdicom decoding them (a lying or corrupt data set); the status."""
    from pynetdicom import _config

    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(sop_class, transfer_syntax)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    previous = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        status = assoc.send_c_store(path)
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = previous
        assoc.release()
    return int(status.Status) if 'Status' in status else -1


def with_meta(dataset: pydicom.Dataset, path: Path, *, sop_class: str | None = None) -> Path:
    """Write a data set as a Part 10 file whose meta header may announce another SOP class."""
    dataset.save_as(path, enforce_file_format=True)
    if sop_class is not None:
        written = pydicom.dcmread(path)
        written.file_meta.MediaStorageSOPClassUID = sop_class
        written.save_as(path)
    return path


def associate(pacs: Pacs, *contexts: str, roles: list | None = None) -> object:
    """An established association from SCU_AE to the listener, proposing these contexts (and roles)."""
    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for context in contexts:
        ae.add_requested_context(context)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title, ext_neg=roles or [])
    assert assoc.is_established
    return assoc


def find(pacs: Pacs, model: str, query: pydicom.Dataset) -> list[pydicom.Dataset]:
    """The identifiers a C-FIND answers with (every status pending or success), on an association of its own."""
    assoc = associate(pacs, model)
    answers = []
    try:
        for status, identifier in assoc.send_c_find(query, model):  # type: ignore[attr-defined]
            assert status.Status in (0xFF00, 0x0000), hex(status.Status)
            if status.Status == 0xFF00:
                answers.append(identifier)
    finally:
        assoc.release()  # type: ignore[attr-defined]
    return answers


def c_get(
    pacs: Pacs, study_uids: list[str], contexts: dict[str, list[str]], *, ae_title: str = SCU_AE
) -> tuple[list[pydicom.Dataset], list[Any]]:
    """C-GET of the studies with the requestor taking the storage SCP role in exactly these contexts (syntaxes
    [] for the default ones); what arrived and every response."""
    received: list[pydicom.Dataset] = []

    def on_store(event: evt.Event) -> int:
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        received.append(dataset)
        return 0x0000

    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for storage_class, syntaxes in contexts.items():
        ae.add_requested_context(storage_class, syntaxes or DEFAULT_TRANSFER_SYNTAXES)
    assoc = ae.associate(
        '127.0.0.1',
        pacs.port,
        ae_title=pacs.ae_title,
        ext_neg=[build_role(storage_class, scp_role=True) for storage_class in contexts],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    query = pydicom.Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = '\\'.join(study_uids)
    responses = list(assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet))
    assoc.release()
    return received, responses
