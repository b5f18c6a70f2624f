"""The images a WADO-RS request names: reading order, UIDs that must belong together, the role check and the audit."""

import pytest

from domain import audit, image_retrieval, studies, viewing
from domain.access import modality, system
from domain.errors import NotAllowed, NotFound
from tests.conftest import Clinic

CT = '1.2.840.10008.5.1.4.1.1.2'


def _arrive(study: str, series: str, sop: str, *, series_number: int, instance_number: int) -> None:
    header = studies.InstanceHeader(
        sop_instance_uid=sop,
        sop_class_uid=CT,
        study_instance_uid=study,
        series_instance_uid=series,
        transfer_syntax_uid='1.2.840.10008.1.2.1',
        patient_id='RET1',
        modality='CT',
        series_number=series_number,
        instance_number=instance_number,
    )
    studies.record_instance(header, studies.StoredFile(f'dicom/{sop}.dcm', 10, ''), by=modality('TESTSCU'))


@pytest.fixture
def two_series(clinic: Clinic) -> None:
    viewing.forget_views()
    _arrive('1.2.9', '1.2.9.2', '1.2.9.2.2', series_number=2, instance_number=2)
    _arrive('1.2.9', '1.2.9.2', '1.2.9.2.1', series_number=2, instance_number=1)
    _arrive('1.2.9', '1.2.9.1', '1.2.9.1.1', series_number=1, instance_number=1)
    _arrive('1.2.8', '1.2.8.1', '1.2.8.1.1', series_number=1, instance_number=1)


def test_a_study_comes_in_reading_order(clinic: Clinic, two_series: None) -> None:
    found = image_retrieval.images('1.2.9', by=clinic.radiologist.actor)
    assert [i.sop_instance_uid for i in found.instances] == ['1.2.9.1.1', '1.2.9.2.1', '1.2.9.2.2']
    assert found.instances[0].file_path == 'dicom/1.2.9.1.1.dcm'
    series = image_retrieval.images('1.2.9', '1.2.9.2', by=clinic.radiologist.actor)
    assert [i.sop_instance_uid for i in series.instances] == ['1.2.9.2.1', '1.2.9.2.2']
    one = image_retrieval.images('1.2.9', '1.2.9.2', '1.2.9.2.2', by=clinic.radiologist.actor)
    assert [i.sop_instance_uid for i in one.instances] == ['1.2.9.2.2']


def test_uids_that_do_not_belong_together_name_nothing(clinic: Clinic, two_series: None) -> None:
    actor = clinic.radiologist.actor
    for uids in (
        ('1.2.7',),
        ('1.2.9', '1.2.8.1'),
        ('1.2.9', '1.2.9.1', '1.2.9.2.1'),
        ('1.2.9', '1.2.9.1', '1.2.8.1.1'),
    ):
        with pytest.raises(NotFound):
            image_retrieval.images(*uids, by=actor)


def test_only_roles_that_read_images_get_them_and_the_first_view_is_audited(clinic: Clinic, two_series: None) -> None:
    with pytest.raises(NotAllowed):
        image_retrieval.images('1.2.9', by=clinic.receptionist.actor)
    image_retrieval.study_images(image_retrieval.images('1.2.8', by=clinic.technician.actor).study_id, by=system())
    image_retrieval.images('1.2.8', '1.2.8.1', by=clinic.technician.actor)
    views = audit.search(by=clinic.admin.actor, action='study.view').rows
    assert [event.username for event in views] == ['technician1']
