"""Modality onboarding on one page, as an administrator sets up a scanner: add it, copy the settings, echo it,
test the worklist it would get today, and see its associations arrive."""

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
from nicegui import ui
from nicegui.testing import User
from pynetdicom import AE
from sqlmodel import select

from dicom import scp, storage
from dicom.ingest import Ingest
from dicom.listener import Listener
from domain import appointments, associations, db, modalities, modality_checks
from domain.modalities import ModalityCreate
from domain.models import AuditEvent, Modality
from tests.conftest import Clinic, eventually, free_port, listening, need_tool
from tests.dicom.conftest import sample
from tests.domain.reception_fixtures import at, booking, patient, procedure, room

OUR_PORT = 11112


@pytest.fixture(autouse=True)
def _our_settings(clinic: Clinic) -> None:
    """The settings the page shows: the clinic's, with the usual DICOM port."""
    modality_checks.configure(clinic.settings.model_copy(update={'dicom_port': OUR_PORT}))


@pytest.fixture
def listener(clinic: Clinic) -> Iterator[Listener]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    running = scp.start(clinic.settings, Ingest())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[int]:
    """DCMTK's storescp as a scanner's DICOM node, called STORE_SCP, on a free port."""
    command = need_tool('storescp')
    port = free_port()
    (tmp_path / 'received').mkdir()
    node = subprocess.Popen(
        [command, '-aet', 'STORE_SCP', '-od', str(tmp_path / 'received'), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        node.terminate()
        node.wait(timeout=10)


def _modality(clinic: Clinic, ae_title: str, port: int = 104) -> Modality:
    entered = ModalityCreate(ae_title=ae_title, host='127.0.0.1', port=port, modality='CT', room='CT 1')
    return modalities.add(entered, by=clinic.admin.actor)


def _echo_audit() -> list[tuple[str, object]]:
    with db.reading() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == 'modality.echo')).all()
    return [(event.outcome, event.detail['ae_title']) for event in events]


async def test_a_modality_just_added_opens_its_page_with_the_settings_to_enter_on_the_scanner(admin: User) -> None:
    await admin.open('/admin/modalities')
    admin.find(marker='add-modality').click()
    admin.find(marker='ae-title').type('CT_NEW')
    admin.find(marker='host').type('127.0.0.1')
    admin.find(marker='room').type('CT 2')
    admin.find(marker='save-modality').click()
    await admin.should_see(marker='modality-ae-title', content='CT_NEW')
    await admin.should_see(marker='copy-ae-title', content='CLINICPACS')
    await admin.should_see(marker='copy-port', content=str(OUR_PORT))
    await admin.should_see(marker='copy-host', content='127.0.0.1')
    await admin.should_see(marker='copy-scanner-ae-title', content='CT_NEW')
    await admin.should_not_see(marker='copy-tls-port')  # DICOM over TLS is off in this clinic


async def test_with_dicom_tls_on_the_page_shows_the_tls_port_a_modality_that_requires_it_must_use(
    admin: User, clinic: Clinic
) -> None:
    modality_checks.configure(clinic.settings.model_copy(update={'tls': 'auto', 'dicom_tls_port': 2762}))
    entered = ModalityCreate(ae_title='MR_SECURE', host='127.0.0.1', port=104, modality='MR', tls_required=True)
    secure = modalities.add(entered, by=clinic.admin.actor)
    await admin.open(f'/admin/modalities/{secure.id}')
    await admin.should_see(marker='copy-tls-port', content='2762')
    await admin.should_see('This modality is accepted only over the DICOM TLS port')


async def test_the_test_worklist_shows_todays_booked_appointment_for_that_scanner(admin: User, clinic: Clinic) -> None:
    ct, mr = room('CT_ROOM1', 'CT', 'CT 1'), room('MR_ROOM1', 'MR', 'MR 1')
    head, knee = procedure(clinic, 'CT-HEAD', 'CT'), procedure(clinic, 'MR-KNEE', 'MR')
    jane, jurgen = patient(clinic, 'Doe', 'Jane'), patient(clinic, 'Müller', 'Jürgen')
    today = booking(clinic, jane, ct, head, at(9))
    booking(clinic, jurgen, mr, knee, at(10))  # another modality
    booking(clinic, jurgen, ct, head, at(10) + timedelta(days=1))  # tomorrow
    cancelled = booking(clinic, jane, ct, head, at(11))
    appointments.cancel(cancelled.id or 0, by=clinic.receptionist.actor)
    await admin.open(f'/admin/modalities/{ct.id}')
    admin.find(marker='test-worklist').click()
    await admin.should_see(marker='worklist-table')
    [row] = admin.find(ui.table).elements.pop().rows
    assert (row['accession'], row['patient'], row['time']) == (today.accession_number, 'Doe, Jane', '09:00')
    assert (row['modality'], row['station'], row['status']) == ('CT', 'CT_ROOM1', 'SCHEDULED')


async def test_asked_by_its_ae_title_the_worklist_holds_only_the_steps_booked_in_its_room(
    admin: User, clinic: Clinic
) -> None:
    first, second = room('CT_ROOM1', 'CT', 'CT 1'), room('CT_ROOM2', 'CT', 'CT 2')
    head, jane = procedure(clinic, 'CT-HEAD', 'CT'), patient(clinic, 'Doe', 'Jane')
    here = booking(clinic, jane, first, head, at(9))
    elsewhere = booking(clinic, jane, second, head, at(10))
    await admin.open(f'/admin/modalities/{first.id}')
    admin.find(marker='test-worklist').click()
    await admin.should_see(marker='worklist-table')
    assert [row['accession'] for row in admin.find(ui.table).elements.pop().rows] == [
        here.accession_number,
        elsewhere.accession_number,
    ]
    admin.find('The scanner asks for its AE title (CT_ROOM1)').click()
    admin.find(marker='test-worklist').click()
    await admin.should_see(marker='worklist-count', content='1 scheduled step for today')
    assert [row['accession'] for row in admin.find(ui.table).elements.pop().rows] == [here.accession_number]


async def test_the_page_lists_the_associations_of_a_push_and_the_list_shows_when_it_was_last_seen(
    admin: User, clinic: Clinic, listener: Listener
) -> None:
    ct = _modality(clinic, 'CT_ROOM1')
    await admin.open('/admin/modalities')
    await admin.should_see(marker='last-seen-CT_ROOM1', content='never')
    await admin.open(f'/admin/modalities/{ct.id}')
    await admin.should_see(marker='no-associations')
    await asyncio.to_thread(_push, listener.port, clinic.settings.ae_title)
    await admin.should_see(marker='associations-table')  # the open page notices the new association
    [row] = admin.find(ui.table).elements.pop().rows
    assert (row['result'], row['images'], row['failed'], row['address']) == ('accepted', 1, 0, '127.0.0.1')
    await admin.open('/admin/modalities')
    await admin.should_see(marker='last-seen-CT_ROOM1')
    await admin.should_not_see(marker='last-seen-CT_ROOM1', content='never')


async def test_the_list_shows_when_the_last_association_of_a_modality_was_refused(admin: User, clinic: Clinic) -> None:
    _modality(clinic, 'CT_ROOM1')
    associations.record('CT_ROOM1', '10.9.9.9', result=associations.REJECTED, reason=modalities.WRONG_HOST)
    await admin.open('/admin/modalities')
    await admin.should_see(marker='last-seen-CT_ROOM1', content='refused')


async def test_an_echo_to_a_running_dicom_node_succeeds_and_is_audited(
    admin: User, clinic: Clinic, storescp: int
) -> None:
    node = _modality(clinic, 'STORE_SCP', port=storescp)
    await eventually(lambda: listening(storescp), 'storescp listening')
    await admin.open(f'/admin/modalities/{node.id}')
    admin.find(marker='echo').click()
    await admin.should_see(marker='echo-ok', content='STORE_SCP answered the echo')
    assert _echo_audit() == [('success', 'STORE_SCP')]


async def test_an_echo_to_a_closed_port_fails_with_a_clear_message(admin: User, clinic: Clinic) -> None:
    closed = free_port()
    node = _modality(clinic, 'CT_OFF', port=closed)
    await admin.open(f'/admin/modalities/{node.id}')
    admin.find(marker='echo').click()
    await admin.should_see(marker='echo-failed', content=f'Nothing accepts connections at 127.0.0.1 port {closed}')
    assert _echo_audit() == [('failure', 'CT_OFF')]


def _push(port: int, called: str) -> None:
    ae = AE(ae_title='CT_ROOM1')
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context('1.2.840.10008.5.1.4.1.1.2')
    assoc = ae.associate('127.0.0.1', port, ae_title=called)
    assert assoc.is_established
    try:
        assert assoc.send_c_store(pydicom.dcmread(sample('CT_small.dcm'))).Status == 0x0000
    finally:
        assoc.release()
