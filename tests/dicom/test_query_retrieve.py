"""Query/Retrieve over DIMSE with pynetdicom as the peer: C-FIND at every level, C-GET and C-MOVE."""

from collections.abc import Iterator

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, StoragePresentationContexts, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    MRImageStorage,
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from domain import modalities
from domain.modalities import ModalityCreate
from tests.dicom.conftest import SCU_AE, Pacs, sample, send


@pytest.fixture
def stored(pacs: Pacs) -> Pacs:
    assert send(pacs, sample('CT_small.dcm'), sample('MR_small.dcm')) == [0, 0]
    return pacs


def _associate(pacs: Pacs, *contexts: str, roles: list | None = None) -> object:
    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    for context in contexts:
        ae.add_requested_context(context)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title, ext_neg=roles or [])
    assert assoc.is_established
    return assoc


def _find(pacs: Pacs, model: str, query: Dataset) -> list[Dataset]:
    assoc = _associate(pacs, model)
    answers = []
    try:
        for status, identifier in assoc.send_c_find(query, model):  # type: ignore[attr-defined]
            assert status.Status in (0xFF00, 0x0000), hex(status.Status)
            if status.Status == 0xFF00:
                answers.append(identifier)
    finally:
        assoc.release()  # type: ignore[attr-defined]
    return answers


def test_c_find_at_study_level_matches_with_wildcards_and_returns_the_asked_keys(stored: Pacs) -> None:
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.PatientName = 'Compressed*'
    query.ModalitiesInStudy = 'CT'
    query.StudyInstanceUID = ''
    query.NumberOfStudyRelatedInstances = ''
    answers = _find(stored, StudyRootQueryRetrieveInformationModelFind, query)
    assert len(answers) == 1
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    assert answers[0].StudyInstanceUID == ct.StudyInstanceUID
    assert answers[0].NumberOfStudyRelatedInstances == 1 and str(answers[0].PatientName) == str(ct.PatientName)


def test_c_find_at_patient_series_and_image_level(stored: Pacs) -> None:
    patients = Dataset()
    patients.QueryRetrieveLevel, patients.PatientID, patients.PatientName = 'PATIENT', '', ''
    assert len(_find(stored, PatientRootQueryRetrieveInformationModelFind, patients)) == 2
    mr = pydicom.dcmread(sample('MR_small.dcm'))
    series = Dataset()
    series.QueryRetrieveLevel, series.StudyInstanceUID, series.Modality = 'SERIES', mr.StudyInstanceUID, ''
    series.SeriesInstanceUID = ''
    answers = _find(stored, StudyRootQueryRetrieveInformationModelFind, series)
    assert [a.Modality for a in answers] == ['MR'] and answers[0].SeriesInstanceUID == mr.SeriesInstanceUID
    images = Dataset()
    images.QueryRetrieveLevel, images.SeriesInstanceUID, images.SOPInstanceUID = 'IMAGE', mr.SeriesInstanceUID, ''
    assert [a.SOPInstanceUID for a in _find(stored, StudyRootQueryRetrieveInformationModelFind, images)] == [
        mr.SOPInstanceUID
    ]


def test_c_get_sends_the_study_back_on_the_same_association(stored: Pacs) -> None:
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        received.append(event.dataset)
        return 0x0000

    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for storage_class in (CTImageStorage, MRImageStorage):
        ae.add_requested_context(storage_class)
    roles = [build_role(CTImageStorage, scp_role=True), build_role(MRImageStorage, scp_role=True)]
    assoc = ae.associate(
        '127.0.0.1', stored.port, ae_title=stored.ae_title, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = pydicom.dcmread(sample('CT_small.dcm')).StudyInstanceUID
    statuses = [status.Status for status, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)]
    assoc.release()
    assert statuses[-1] == 0x0000
    assert [d.SOPInstanceUID for d in received] == [pydicom.dcmread(sample('CT_small.dcm')).SOPInstanceUID]


@pytest.fixture
def destination(stored: Pacs) -> Iterator[list[Dataset]]:
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        received.append(event.dataset)
        return 0x0000

    ae = AE(ae_title='VIEWSTATION')
    ae.supported_contexts = StoragePresentationContexts
    server = ae.start_server(('127.0.0.1', 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    modalities.add(
        ModalityCreate(ae_title='VIEWSTATION', host='127.0.0.1', port=server.server_address[1]),
        by=stored.clinic.admin.actor,
    )
    yield received
    server.shutdown()


def test_c_move_sends_the_series_to_an_entered_modality(stored: Pacs, destination: list[Dataset]) -> None:
    assoc = _associate(stored, StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = 'SERIES'
    query.SeriesInstanceUID = pydicom.dcmread(sample('MR_small.dcm')).SeriesInstanceUID
    statuses = [
        s.Status
        for s, _ in assoc.send_c_move(
            query,
            'VIEWSTATION',  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelMove,
        )
    ]
    assoc.release()  # type: ignore[attr-defined]
    assert statuses[-1] == 0x0000
    assert [d.SOPInstanceUID for d in destination] == [pydicom.dcmread(sample('MR_small.dcm')).SOPInstanceUID]


def test_c_move_to_an_unknown_destination_is_refused(stored: Pacs) -> None:
    assoc = _associate(stored, StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = pydicom.dcmread(sample('MR_small.dcm')).StudyInstanceUID
    statuses = [
        s.Status
        for s, _ in assoc.send_c_move(
            query,
            'NOWHERE',  # type: ignore[attr-defined]
            StudyRootQueryRetrieveInformationModelMove,
        )
    ]
    assoc.release()  # type: ignore[attr-defined]
    assert statuses == [0xA801]
