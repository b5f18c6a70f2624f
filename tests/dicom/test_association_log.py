"""The association log: each association a peer opens with the listener is logged, accepted with what it did or
refused with the reason; a log that cannot be written never fails a store."""

import logging
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from dicom.listener import Listener
from domain import associations, db, modalities
from domain.models import DicomAssociation
from tests.conftest import Clinic, wait_until
from tests.dicom.conftest import SCU_AE, Pacs, instance_rows, sample, send, send_file_as_is, with_meta
from tests.security import test_dicom_tls as tls
from tests.security.dicom_peer import echo

MR_IMAGE = '1.2.840.10008.5.1.4.1.1.4'
certificate, listener = tls.certificate, tls.listener  # the TLS listener of the TLS attack tests, as fixtures here
VERIFICATION = '1.2.840.10008.1.1'
STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1'


def _logged(ae_title: str) -> list[DicomAssociation]:
    with db.reading() as session:
        return list(
            session.exec(
                select(DicomAssociation).where(DicomAssociation.ae_title == ae_title).order_by(col(DicomAssociation.id))
            ).all()
        )


def test_an_association_that_stores_an_image_is_logged_with_its_image(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm'), sample('MR_small.dcm')) == [0x0000, 0x0000]
    [row] = wait_until(lambda: _logged(SCU_AE), 'the association in the log')
    assert (row.result, row.reason, row.address, row.tls) == ('accepted', '', '127.0.0.1', False)
    assert (row.images, row.failed, row.queries, row.echoes) == (2, 0, 0, 0)


def test_a_refused_image_a_query_and_an_echo_are_counted_apart(pacs: Pacs, tmp_path: Path) -> None:
    lying = with_meta(pydicom.dcmread(sample('CT_small.dcm')), tmp_path / 'lying.dcm', sop_class=MR_IMAGE)
    assert send_file_as_is(pacs, lying, sop_class=MR_IMAGE) == 0xA900
    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(VERIFICATION)
    ae.add_requested_context(STUDY_ROOT_FIND)
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title)
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.StudyInstanceUID = ''
    try:
        assert assoc.send_c_echo().Status == 0x0000
        assert [status.Status for status, _identifier in assoc.send_c_find(query, STUDY_ROOT_FIND)] == [0x0000]
    finally:
        assoc.release()
    refused, asked = wait_until(lambda: (rows := _logged(SCU_AE)) and len(rows) == 2 and rows, 'both associations')
    assert (refused.images, refused.failed, refused.queries, refused.echoes) == (0, 1, 0, 0)
    assert (asked.images, asked.failed, asked.queries, asked.echoes) == (0, 0, 1, 1)


def test_a_peer_with_an_unknown_ae_title_is_logged_as_refused_with_the_reason(pacs: Pacs) -> None:
    assert send(pacs, sample('CT_small.dcm'), ae_title='STRANGER') == [-1]
    [row] = _logged('STRANGER')  # written before the rejection was sent
    assert (row.result, row.reason, row.address) == ('rejected', modalities.UNKNOWN_AE_TITLE, '127.0.0.1')
    assert (row.images, row.queries) == (0, 0)
    assert instance_rows() == 0


def test_a_log_that_cannot_be_written_never_fails_a_store(
    pacs: Pacs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unavailable() -> None:
        raise OperationalError('INSERT', {}, Exception('database is locked'))

    monkeypatch.setattr(associations, 'db', SimpleNamespace(transaction=unavailable))  # only the log's writes fail
    with caplog.at_level(logging.WARNING, logger='domain.associations'):
        assert send(pacs, sample('CT_small.dcm')) == [0x0000]
        wait_until(lambda: 'not logged' in caplog.text, 'the warning about the unlogged association')
    assert instance_rows() == 1
    monkeypatch.undo()
    assert _logged(SCU_AE) == []


def test_an_association_over_the_tls_port_is_logged_as_such(
    clinic: Clinic, listener: Listener, certificate: tuple[Path, Path]
) -> None:
    assert echo(tls._tls_port(listener), clinic.settings.ae_title, tls.SECURE, tls=tls._client_context(certificate[0]))
    [row] = wait_until(lambda: _logged(tls.SECURE), 'the association in the log')
    assert (row.result, row.tls, row.echoes) == ('accepted', True, 1)


def test_a_modality_that_must_use_tls_calling_on_the_plain_port_is_logged_refused(
    clinic: Clinic, listener: Listener
) -> None:
    assert not echo(listener.port, clinic.settings.ae_title, tls.SECURE)
    [row] = _logged(tls.SECURE)
    assert (row.result, row.reason, row.tls) == ('rejected', modalities.TLS_REQUIRED, False)
