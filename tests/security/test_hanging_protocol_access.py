"""Hanging protocols change how every radiologist's viewer opens a study: only an administrator may change the
shared ones, a radiologist only their own, and technicians and reception nothing, by the screen or the services."""

from collections.abc import Callable

import pytest
from nicegui.testing import User
from sqlmodel import select

from domain import db, hanging_protocols, users
from domain.access import Actor, system
from domain.errors import NotAllowed, NotFound
from domain.hanging_layout import Protocol, ProtocolInput, Stage
from domain.models import AuditEvent, UserCreate
from tests.conftest import PASSWORD, Clinic, sign_in

Attempt = Callable[[Actor], object]
DATA = ProtocolInput(name='Everything in one', stages=[Stage()])


@pytest.fixture
def protocols(clinic: Clinic) -> tuple[Protocol, Protocol]:
    """A shared protocol and one of radiologist1's own."""
    shared = hanging_protocols.create(DATA, shared=True, by=clinic.admin.actor)
    own = hanging_protocols.create(DATA.model_copy(update={'name': 'Mine'}), by=clinic.radiologist.actor)
    return shared, own


def _changes(protocol_id: int) -> list[Attempt]:
    return [
        lambda actor: hanging_protocols.update(protocol_id, DATA.model_copy(update={'name': 'Taken'}), by=actor),
        lambda actor: hanging_protocols.rename(protocol_id, 'Taken', by=actor),
        lambda actor: hanging_protocols.set_active(protocol_id, False, by=actor),
        lambda actor: hanging_protocols.delete(protocol_id, by=actor),
    ]


def _all_refused(actor: Actor, attempts: list[Attempt]) -> None:
    for attempt in attempts:
        with pytest.raises((NotAllowed, NotFound)):
            attempt(actor)


def _denied(username: str) -> int:
    with db.reading() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.username == username)).all()
    return sum(row.action.startswith('denied:') for row in rows)


def _unchanged(clinic: Clinic, shared: Protocol, own: Protocol) -> None:
    assert hanging_protocols.get(shared.id, by=clinic.admin.actor) == shared
    assert hanging_protocols.get(own.id, by=clinic.radiologist.actor) == own


@pytest.mark.parametrize('role', ['technician', 'receptionist'])
def test_technicians_and_reception_may_not_create_or_change_any(
    clinic: Clinic, protocols: tuple[Protocol, Protocol], role: str
) -> None:
    shared, own = protocols
    actor = clinic.account(role).actor
    _all_refused(
        actor,
        [
            lambda a: hanging_protocols.create(DATA, by=a),
            lambda a: hanging_protocols.create(DATA, shared=True, by=a),
            lambda a: hanging_protocols.shared(by=a),
            *_changes(shared.id),
        ],
    )
    assert _denied(actor.username) >= 7
    _unchanged(clinic, shared, own)


def test_a_radiologist_may_not_change_a_shared_protocol_or_make_one(
    clinic: Clinic, protocols: tuple[Protocol, Protocol]
) -> None:
    shared, own = protocols
    actor = clinic.radiologist.actor
    _all_refused(actor, [lambda a: hanging_protocols.create(DATA, shared=True, by=a), *_changes(shared.id)])
    assert _denied(actor.username) == 5
    _unchanged(clinic, shared, own)


def test_a_radiologist_may_not_see_or_change_another_radiologists_own(
    clinic: Clinic, protocols: tuple[Protocol, Protocol]
) -> None:
    shared, own = protocols
    other = users.create(
        UserCreate(username='radiologist2', full_name='Other', role='radiologist', password=PASSWORD), by=system('test')
    )
    actor = Actor(role='radiologist', username='radiologist2', user_id=other.id)
    _all_refused(actor, [lambda a: hanging_protocols.get(own.id, by=a), *_changes(own.id)])
    assert own.id not in {p.id for p in hanging_protocols.own_and_shared(by=actor)}
    _unchanged(clinic, shared, own)


def test_an_admin_may_change_shared_ones_but_not_a_radiologists_own(
    clinic: Clinic, protocols: tuple[Protocol, Protocol]
) -> None:
    shared, own = protocols
    renamed = hanging_protocols.rename(shared.id, 'For everyone', by=clinic.admin.actor)
    assert renamed.name == 'For everyone' and renamed.shared
    _all_refused(clinic.admin.actor, _changes(own.id))
    assert hanging_protocols.get(own.id, by=clinic.radiologist.actor) == own


def test_a_radiologist_changes_their_own(clinic: Clinic, protocols: tuple[Protocol, Protocol]) -> None:
    _shared, own = protocols
    assert hanging_protocols.rename(own.id, 'Still mine', by=clinic.radiologist.actor).name == 'Still mine'
    hanging_protocols.delete(own.id, by=clinic.radiologist.actor)
    with pytest.raises(NotFound):
        hanging_protocols.get(own.id, by=clinic.radiologist.actor)


@pytest.mark.parametrize('role', ['technician', 'radiologist', 'receptionist'])
async def test_only_an_admin_opens_the_shared_protocols_screen(
    screens: User, clinic: Clinic, protocols: tuple[Protocol, Protocol], role: str
) -> None:
    await sign_in(screens, clinic.account(role))
    await screens.open('/admin/hanging-protocols')
    await screens.should_not_see(marker='protocol-add')
    await screens.should_not_see(marker=f'protocol-{protocols[0].id}')
