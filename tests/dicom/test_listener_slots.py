"""A modality that sends batch after batch is never refused for associations it has already released.

pynetdicom keeps an acceptor association in the AE's active list until its thread ends, after the A-RELEASE-RP is
sent and the release handlers ran; on a busy server that tail outlived the next storescu's connection, so a
modality with one association at a time was refused as holding its PACS_DICOM_PEER_ASSOCIATIONS. The test holds
each released association in its release handler and calls again.
"""

import gc
import threading
from collections.abc import Iterator

import pytest
from pynetdicom import evt

from dicom import peers, scp, storage
from dicom.ingest import Ingest
from dicom.listener import Listener
from domain import modalities
from domain.modalities import ModalityCreate
from tests.conftest import Clinic, wait_until
from tests.security.dicom_peer import VERIFICATION, echo, scu

MODALITY = 'US_ROOM2'
PER_PEER = 2


@pytest.fixture
def listener(clinic: Clinic) -> Iterator[Listener]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    modalities.add(ModalityCreate(ae_title=MODALITY, host='127.0.0.1', port=104), by=clinic.admin.actor)
    settings = clinic.settings.model_copy(update={'dicom_peer_associations': PER_PEER})
    running = scp.start(settings, Ingest(on_stored=lambda _instance_id: None))
    try:
        yield running
    finally:
        running.stop()


def test_released_associations_whose_threads_linger_leave_the_slot_free(listener: Listener) -> None:
    lingering, go_on = [], threading.Event()

    def linger(event: evt.Event) -> None:  # runs on the association's thread, after the A-RELEASE-RP
        lingering.append(event.assoc)
        go_on.wait(30)

    listener.server.bind(evt.EVT_RELEASED, linger)
    try:
        for _ in range(PER_PEER):
            assert echo(listener.port, listener.ae.ae_title, MODALITY)
        wait_until(lambda: len(lingering) == PER_PEER, 'the released associations waiting in their handler')
        assert all(assoc in listener.ae.active_associations for assoc in lingering)  # their threads still run

        assert echo(listener.port, listener.ae.ae_title, MODALITY)  # the next batch is let in
    finally:
        go_on.set()


def test_associations_still_open_hold_their_slots(listener: Listener) -> None:
    """The limit still holds for associations that are open: the next one from that address is refused."""
    held = []
    try:
        for _ in range(PER_PEER):
            ae = scu(MODALITY)
            ae.add_requested_context(VERIFICATION)
            assoc = ae.associate('127.0.0.1', listener.port, ae_title=listener.ae.ae_title)
            assert assoc.is_established
            held.append(assoc)
        assert not echo(listener.port, listener.ae.ae_title, MODALITY)
    finally:
        for assoc in held:
            assoc.release()


def test_the_listener_never_collects_the_whole_heap(listener: Listener) -> None:
    """The listener's housekeeping collects the young generations only: in `serve` it shares the process with the
    web pages, and pynetdicom's full `gc.collect()` every 60 turns stopped them for a second under load."""
    generations: list[int] = []

    def watch(phase: str, info: dict) -> None:
        if phase == 'start':
            generations.append(info['generation'])

    gc.disable()  # no automatic collection in between: each one seen is the listener's
    gc.callbacks.append(watch)
    try:
        for _ in range(3 * peers.YOUNG_COLLECTION_TURNS):
            listener.server.service_actions()
    finally:
        gc.callbacks.remove(watch)
        gc.enable()
    assert generations == [1, 1, 1]  # a finished association's objects are still freed, never the whole heap
