"""Modalities: the administrator's list of AE titles decides who may associate."""

import pytest
from sqlmodel import select

from domain import audit, db, modalities, options
from domain.errors import Conflict, InvalidInput, NotAllowed
from domain.modalities import ModalityCreate
from domain.models import AuditEvent
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


def test_an_entered_modality_is_admitted_only_from_its_host(clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='US_ROOM1', host='10.0.0.5', port=104), by=clinic.admin.actor)
    assert modalities.is_allowed('US_ROOM1', '10.0.0.5')
    assert modalities.is_allowed('US_ROOM1', '::ffff:10.0.0.5')  # the same address, as a dual-stack socket reports it
    assert not modalities.is_allowed('US_ROOM1', '10.0.0.6')
    assert modalities.admission('10.0.0.6').refusal('US_ROOM1') == modalities.WRONG_HOST


def test_a_modality_entered_by_name_is_admitted_from_what_the_name_resolves_to(clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='CT1', host='localhost', port=104), by=clinic.admin.actor)
    assert modalities.is_allowed('CT1', '127.0.0.1')
    assert not modalities.is_allowed('CT1', '10.0.0.6')


def test_a_modality_ticked_any_host_needs_no_host_and_is_admitted_from_anywhere(clinic: Clinic) -> None:
    added = modalities.add(ModalityCreate(ae_title='LAPTOP', host='', any_host=True), by=clinic.admin.actor)
    assert modalities.is_allowed('LAPTOP', '10.9.9.9')
    assert modalities.destination('LAPTOP') is None  # no host to send a C-MOVE to
    assert added.any_host


def test_a_modality_that_requires_tls_is_admitted_only_over_tls(clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='MR1', host='10.0.0.7', tls_required=True), by=clinic.admin.actor)
    assert modalities.is_allowed('MR1', '10.0.0.7', tls=True)
    assert modalities.admission('10.0.0.7', tls=False).refusal('MR1') == modalities.TLS_REQUIRED


def test_accept_any_modality_still_holds_an_entered_title_to_its_host(clinic: Clinic) -> None:
    modalities.add(ModalityCreate(ae_title='US_ROOM1', host='10.0.0.5'), by=clinic.admin.actor)
    options.put('accept_any_ae', True, by=clinic.admin.actor)
    assert modalities.is_allowed('STRANGER', '10.9.9.9')
    assert not modalities.is_allowed('US_ROOM1', '10.9.9.9')


def test_a_refused_peer_is_audited_with_its_address(clinic: Clinic) -> None:
    modalities.refused('US_ROOM1', '10.9.9.9', reason=modalities.WRONG_HOST, tls=False)
    with db.reading() as session:
        row = session.exec(select(AuditEvent).where(AuditEvent.action == 'dicom.refused')).one()
    assert (row.username, row.address, row.outcome) == ('US_ROOM1', '10.9.9.9', 'denied')
    assert row.detail == {
        'ae_title': 'US_ROOM1',
        'address': '10.9.9.9',
        'reason': 'not from the entered host',
        'tls': False,
    }
    assert audit.verify(by=clinic.admin.actor).intact
