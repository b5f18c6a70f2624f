"""DICOM TLS on a second port, and per-modality "TLS required" (no downgrade to the plain port)."""

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlmodel import select

from dicom import scp, storage
from dicom.ingest import Ingest
from dicom.listener import Listener
from domain import db, modalities
from domain.modalities import ModalityCreate
from domain.models import AuditEvent
from tests.conftest import Clinic
from tests.security.dicom_peer import echo

SECURE = 'MR_SECURE'  # a modality that must use TLS
VERIFICATION = '1.2.840.10008.1.1'


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / 'dicom.crt', tmp_path / 'dicom.key'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def listener(clinic: Clinic, certificate: tuple[Path, Path]) -> Iterator[Listener]:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    modalities.add(
        ModalityCreate(ae_title=SECURE, host='127.0.0.1', port=104, tls_required=True),
        by=clinic.admin.actor,
    )
    cert, key = certificate
    settings = clinic.settings.model_copy(
        update={'tls_cert': cert, 'tls_key': key, 'dicom_tls_port': 0, 'dicom_request_timeout_s': 2.0}
    )
    running = scp.start(settings, Ingest(on_stored=lambda _instance_id: None))
    try:
        yield running
    finally:
        running.stop()


def test_a_modality_that_requires_tls_is_accepted_on_the_tls_port(
    clinic: Clinic, listener: Listener, certificate: tuple[Path, Path]
) -> None:
    assert echo(_tls_port(listener), clinic.settings.ae_title, SECURE, tls=_client_context(certificate[0]))


def test_a_modality_that_requires_tls_is_refused_on_the_plain_port(clinic: Clinic, listener: Listener) -> None:
    assert not echo(listener.port, clinic.settings.ae_title, SECURE)
    with db.reading() as session:
        refusals = session.exec(select(AuditEvent).where(AuditEvent.action == 'dicom.refused')).all()
    assert [(row.detail['ae_title'], row.detail['reason']) for row in refusals] == [(SECURE, 'TLS required')]


def test_a_silent_connection_to_the_tls_port_does_not_hold_up_the_others(
    clinic: Clinic, listener: Listener, certificate: tuple[Path, Path]
) -> None:
    """The TLS handshake happens on the connection's own thread, with the request timeout, not in the accept loop."""
    silent = [socket.create_connection(('127.0.0.1', _tls_port(listener))) for _ in range(2)]
    try:
        assert echo(_tls_port(listener), clinic.settings.ae_title, SECURE, tls=_client_context(certificate[0]))
    finally:
        for sock in silent:
            sock.close()


def test_without_tls_there_is_no_second_port(clinic: Clinic) -> None:
    storage.configure(clinic.data_dir, min_free_bytes=0)
    running = scp.start(clinic.settings, Ingest(on_stored=lambda _instance_id: None))
    try:
        assert running.tls_port is None
        assert running.is_up()
    finally:
        running.stop()


# ---------------------------------------------------------------- helpers


def _tls_port(listener: Listener) -> int:
    port = getattr(listener, 'tls_port', None)
    assert port, 'no DICOM TLS listener'
    return int(port)


def _client_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
