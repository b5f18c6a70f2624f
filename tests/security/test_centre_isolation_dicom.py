"""Issue 18: a centre's modality lands its images in its centre and, over DIMSE, finds, retrieves and is offered on its
worklist only its centre's patients, studies and appointments (pynetdicom as the peer, the real listener)."""

from datetime import date
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    MRImageStorage,
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)
from sqlmodel import select

from dicom import worklist
from domain import appointments, centre_admin, centres, db, modalities, patients, users
from domain.access import Actor
from domain.centre_admin import CentreData
from domain.models import AppointmentCreate, PatientCreate, Study, UserCreate
from tests.conftest import PASSWORD, Clinic
from tests.dicom.conftest import SCU_AE, Pacs, c_get, find, sample, send
from tests.domain.reception_fixtures import at, procedure, room

pytestmark = pytest.mark.parametrize('backend', ['sqlite', 'postgres'], indirect=True)  # the scope's SQL on each


@pytest.fixture
def split(pacs: Pacs, tmp_path: Path) -> tuple[Pacs, str, str]:
    """TESTSCU works for centre A (the clinic's own), CENTREB for centre B; each pushed one study of its own."""
    admin = pacs.clinic.admin.actor
    b = centre_admin.create(CentreData(name='Centre B'), by=admin)
    scu = modalities.find(SCU_AE)
    assert scu is not None
    centre_admin.set_modality_centre(scu.id or 0, centres.default_id(), by=admin)
    other = modalities.add(modalities.ModalityCreate(ae_title='CENTREB', host='127.0.0.1', port=104), by=admin)
    centre_admin.set_modality_centre(other.id or 0, b.id, by=admin)
    ct = pydicom.dcmread(sample('CT_small.dcm'))
    ct.PatientName, ct.PatientID = 'Betatown^Pushed', 'B-1'
    mr = pydicom.dcmread(sample('MR_small.dcm'))
    mr.PatientName, mr.PatientID = 'Alphaville^Pushed', 'A-1'
    assert send(pacs, ct, ae_title='CENTREB') == [0]
    assert send(pacs, mr, ae_title=SCU_AE) == [0]
    with centres.unscoped(), db.reading() as session:
        landed = {s.study_instance_uid: s.centre_id for s in session.exec(select(Study)).all()}
    assert landed == {ct.StudyInstanceUID: b.id, mr.StudyInstanceUID: centres.default_id()}
    return pacs, mr.StudyInstanceUID, ct.StudyInstanceUID


def _all_studies(pacs: Pacs, ae_title: str) -> set[str]:
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = ''
    query.PatientName = ''
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    found = {
        identifier.StudyInstanceUID
        for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
        if status.Status == 0xFF00
    }
    assoc.release()
    return found


def test_c_find_answers_only_the_calling_modalitys_centre(split: tuple[Pacs, str, str]) -> None:
    pacs, own, other = split
    assert _all_studies(pacs, SCU_AE) == {own}
    assert _all_studies(pacs, 'CENTREB') == {other}
    patients_query = Dataset()
    patients_query.QueryRetrieveLevel = 'PATIENT'
    patients_query.PatientName = '*'
    patients_query.PatientID = ''
    names = {str(d.PatientName) for d in find(pacs, PatientRootQueryRetrieveInformationModelFind, patients_query)}
    assert names == {'Alphaville^Pushed'}


def test_c_get_of_another_centres_study_sends_nothing(split: tuple[Pacs, str, str]) -> None:
    pacs, own, other = split
    contexts: dict[str, list[str]] = {CTImageStorage: [], MRImageStorage: []}
    assert c_get(pacs, [other], contexts)[0] == []
    assert len(c_get(pacs, [own], contexts)[0]) == 1


def test_the_worklist_offers_only_the_centres_appointments(clinic: Clinic, split: tuple[Pacs, str, str]) -> None:
    pacs, _own, _other = split
    admin = clinic.admin.actor
    b_id = next(c.id for c in centre_admin.list_all(by=admin) if c.name == 'Centre B')
    a_room, b_room = room('CT_ROOM1', 'CT', 'CT 1'), room('CT_ROOM2', 'CT', 'CT 2')
    centre_admin.set_modality_centre(a_room.id or 0, centres.default_id(), by=admin)
    centre_admin.set_modality_centre(b_room.id or 0, b_id, by=admin)
    staff = users.create(UserCreate(username='centreb', role='centre', password=PASSWORD, centre_id=b_id), by=admin)
    b_actor = Actor(role='centre', username='centreb', user_id=staff.id, address='127.0.0.1', centres=frozenset({b_id}))
    head = procedure(clinic, 'CT-HEAD', 'CT')
    a_id = centres.default_id()
    for who, actor, where, centre in (
        ('Betatown', b_actor, b_room, None),  # a centre's own desk registers into its centre
        ('Alphaville', clinic.receptionist.actor, a_room, a_id),  # the reading group's reception chooses
    ):
        registered = patients.register(
            PatientCreate(family_name=who, given_name='Pat', birth_date=date(1980, 1, 2), sex='F', centre_id=centre),
            by=actor,
            confirmed_new=True,
        )
        appointments.book(
            AppointmentCreate(patient_id=registered.id, procedure_id=head.id, modality_id=where.id, scheduled_at=at(9)),
            by=actor,
        )
    assert _worklist(pacs, 'CT_ROOM1') == {'Alphaville'}
    assert _worklist(pacs, 'CT_ROOM2') == {'Betatown'}


def _worklist(pacs: Pacs, ae_title: str) -> set[str]:
    ds = Dataset()
    ds.PatientName = ''
    ds.PatientID = ''
    item = Dataset()
    item.Modality = ''
    item.ScheduledStationAETitle = ''
    item.ScheduledProcedureStepStartDate = ''
    ds.ScheduledProcedureStepSequence = [item]
    ae = AE(ae_title)
    ae.add_requested_context(worklist.SOP_CLASS)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    names = {
        str(identifier.PatientName).split('^')[0]
        for status, identifier in assoc.send_c_find(ds, worklist.SOP_CLASS)
        if status.Status == 0xFF00
    }
    assoc.release()
    return names
