"""Modalities: the administrator's list of AE titles decides who may associate."""

import pytest

from domain import audit, modalities, options
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.modalities import ModalityCreate
from tests.conftest import Clinic


def test_an_entered_modality_may_connect_and_an_unknown_one_may_not(clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='US_ROOM1', host='10.0.0.5', port=104, modality='us'), by=clinic.admin.actor)
    assert modalities.is_allowed('US_ROOM1')
    assert not modalities.is_allowed('STRANGER')


def test_accept_any_modality_lets_an_unknown_ae_title_in(clinic: Clinic) -> None:
    options.put('accept_any_ae', True, by=clinic.admin.actor)
    assert modalities.is_allowed('STRANGER')


def test_a_disabled_modality_may_no_longer_connect(clinic: Clinic) -> None:
    added = modalities.add(ModalityCreate(ae_title='CT1', host='ct.local', port=11112), by=clinic.admin.actor)
    modalities.set_active(added.id or 0, False, by=clinic.admin.actor)
    assert not modalities.is_allowed('CT1')
    assert [m.ae_title for m in modalities.list_all(by=clinic.receptionist.actor, include_inactive=False)] == []


def test_the_same_ae_title_cannot_be_entered_twice(clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='DX1', host='dx.local', port=104), by=clinic.admin.actor)
    with pytest.raises(Conflict):
        modalities.add(ModalityCreate(ae_title='DX1', host='other', port=104), by=clinic.admin.actor)


@pytest.mark.parametrize(
    'data',
    [
        ModalityCreate(ae_title='', host='h', port=104),
        ModalityCreate(ae_title='A' * 17, host='h', port=104),
        ModalityCreate(ae_title='BAD\\AE', host='h', port=104),
        ModalityCreate(ae_title='OK', host='', port=104),
        ModalityCreate(ae_title='OK', host='h', port=70000),
    ],
)
def test_an_invalid_modality_is_refused_with_a_reason(clinic: Clinic, data: ModalityCreate) -> None:
    with pytest.raises(InvalidInput):
        modalities.add(data, by=clinic.admin.actor)


def test_only_an_administrator_enters_modalities_and_it_is_audited(clinic: Clinic) -> None:
    with pytest.raises(NotAllowed):
        modalities.add(ModalityCreate(ae_title='MR1', host='mr', port=104), by=clinic.technician.actor)
    added = modalities.add(ModalityCreate(ae_title='MR1', host='mr', port=104), by=clinic.admin.actor)
    updated = modalities.update(
        added.id or 0, ModalityCreate(ae_title='MR1', host='mr2', port=105), by=clinic.admin.actor
    )
    assert (updated.host, updated.port) == ('mr2', 105)
    assert audit.verify(by=clinic.admin.actor).intact
