"""Idle sockets cannot starve the DICOM listener (attack 8).

The attacker opens 50 TCP connections to the DICOM port and sends nothing. The tests bind the attacker's sockets to
127.0.0.2 (Linux routes all of 127/8 to the loopback) and call as the real modality from 127.0.0.1, so the two are
different peer addresses.
"""

import select
import socket
from collections.abc import Iterator

import pytest
from nicegui.testing import User

from dicom import scp, storage
from dicom.ingest import Ingest
from dicom.listener import Listener
from domain import modalities
from domain.modalities import ModalityCreate
from tests.conftest import Clinic, eventually
from tests.security.dicom_peer import echo
from ui import health

ATTACKER = '127.0.0.2'
MODALITY = 'CT_ROOM1'
IDLE_SOCKETS = 50


@pytest.fixture
def listener(clinic: Clinic) -> Iterator[Listener]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    modalities.add(ModalityCreate(ae_title=MODALITY, host='127.0.0.1', port=104), by=clinic.admin.actor)
    settings = clinic.settings.model_copy(update={'dicom_request_timeout_s': 1.0})
    running = scp.start(settings, Ingest(on_stored=lambda _instance_id: None))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def idle_sockets(listener: Listener) -> Iterator[list[socket.socket]]:
    """Fifty connections from the attacker's address that never send an association request."""
    opened = []
    try:
        for _ in range(IDLE_SOCKETS):
            sock = socket.socket()
            sock.bind((ATTACKER, 0))
            sock.connect(('127.0.0.1', listener.port))
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


async def test_idle_sockets_from_one_address_do_not_lock_a_modality_out(
    clinic: Clinic, listener: Listener, idle_sockets: list[socket.socket]
) -> None:
    await eventually(lambda: _handled(listener, idle_sockets) >= IDLE_SOCKETS, 'the listener to take every connection')
    assert echo(listener.port, clinic.settings.ae_title, MODALITY)


async def test_a_connection_that_sends_no_association_request_is_dropped(
    listener: Listener, idle_sockets: list[socket.socket]
) -> None:
    await eventually(lambda: all(_closed_by_listener(sock) for sock in idle_sockets), 'every idle socket dropped')


async def test_health_says_saturated_while_the_listener_refuses_for_lack_of_slots(
    user: User, clinic: Clinic, listener: Listener, idle_sockets: list[socket.socket]
) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True, 'dicom': listener.health})
    await eventually(lambda: _handled(listener, idle_sockets) >= IDLE_SOCKETS, 'the listener to take every connection')
    response = await user.http_client.get('/health')
    assert response.status_code == 503
    body = response.json()
    assert body['dicom'] == 'saturated'
    assert 'dicom saturated' in body['reason']


async def test_health_is_ok_again_once_the_listener_has_room(user: User, clinic: Clinic, listener: Listener) -> None:
    health.register(clinic.data_dir, {'broker': lambda: True, 'dicom': listener.health})
    response = await user.http_client.get('/health')
    assert response.status_code == 200
    assert response.json()['dicom'] == 'ok'


# ---------------------------------------------------------------- helpers


def _handled(listener: Listener, idle_sockets: list[socket.socket]) -> int:
    """Connections from the attacker the listener has taken up (an association thread) or already closed."""
    taken = [assoc for assoc in listener.ae.active_associations if assoc.requestor.address == ATTACKER]
    return len(taken) + sum(_closed_by_listener(sock) for sock in idle_sockets)


def _closed_by_listener(sock: socket.socket) -> bool:
    if sock.fileno() == -1:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return True
    return data == b''
