"""Modalities push images with C-STORE: stored, indexed, acknowledged only then."""

import pydicom
from pynetdicom import AE
from sqlmodel import select

from domain import db
from domain.models import Instance, Series, Study
from tests.dicom.conftest import Pacs, sample, send


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
    assert original.SOPInstanceUID not in instance.file_path
    assert pacs.armed == [study.id]


def test_echo_answers_success(pacs: Pacs) -> None:
    ae = AE(ae_title='TESTSCU')
    ae.add_requested_context('1.2.840.10008.1.1')
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()


def test_an_unknown_ae_title_is_refused_at_association(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm'), ae_title='STRANGER') == [-1]
