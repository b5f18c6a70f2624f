"""The clinic's TLS certificate: the one the administrator gave, or one made for this host on first start.

With PACS_TLS_CERT and PACS_TLS_KEY the server uses those files (checked at start: they must load and belong
together). With PACS_TLS=auto it makes a self-signed certificate for this machine (its host name, `localhost` and
its IP addresses) into PACS_DATA_DIR/tls/ once, key 0600, and uses it on every later start until it nears its end.
Staff compare the printed SHA-256 fingerprint with what their tablet shows when they install it (/certificate).
HTTPS and DICOM TLS (PS3.15 B.1) share the certificate.
"""

import datetime
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .settings import Settings, SettingsError

log = logging.getLogger(__name__)

CERT_NAME, KEY_NAME = 'clinicpacs.crt', 'clinicpacs.key'
VALID_DAYS = 825  # the longest validity Apple devices accept for a server certificate
RENEW_BEFORE_DAYS = 30


def certificate_files(settings: Settings) -> tuple[Path, Path] | None:
    """The certificate and key files to serve TLS with, or None when TLS is off; raises SettingsError if unusable."""
    if settings.tls_cert or settings.tls_key:
        if not (settings.tls_cert and settings.tls_key):
            raise SettingsError('PACS_TLS_CERT and PACS_TLS_KEY: give both the certificate and its private key')
        _check_pair(settings.tls_cert, settings.tls_key)
        return settings.tls_cert, settings.tls_key
    if settings.tls != 'auto':
        return None
    folder = settings.data_dir / 'tls'
    cert, key = folder / CERT_NAME, folder / KEY_NAME
    if not _usable(cert, key):
        _generate(cert, key)
        log.info('made a TLS certificate for this host in %s (fingerprint %s)', folder, fingerprint(cert))
    return cert, key


def fingerprint(cert_path: Path) -> str:
    """The certificate's SHA-256 fingerprint as tablets and browsers show it (`AB:CD:…`)."""
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ':'.join(digest[i : i + 2] for i in range(0, len(digest), 2))


def host_names() -> tuple[list[str], list[str]]:
    """This machine's names and IP addresses, as a certificate for it names them."""
    names = sorted({socket.gethostname(), socket.getfqdn(), 'localhost'} - {''})
    addresses = {'127.0.0.1', '::1'}
    for name in names:
        try:
            addresses.update(str(info[4][0]).split('%')[0] for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    addresses.update(_outgoing_addresses())
    return names, sorted(addresses)


def _check_pair(cert: Path, key: Path) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as error:
        raise SettingsError(f'PACS_TLS_CERT/PACS_TLS_KEY: {error.filename} does not exist') from None
    except (ssl.SSLError, OSError) as error:
        raise SettingsError(
            f'PACS_TLS_CERT/PACS_TLS_KEY: {cert} and {key} are not a PEM certificate and its key ({error})'
        ) from None


def _usable(cert: Path, key: Path) -> bool:
    """True when an earlier start's certificate is there, loads, and has more than a month to run."""
    if not (cert.is_file() and key.is_file()):
        return False
    try:
        _check_pair(cert, key)
        ends = x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
    except (SettingsError, ValueError):
        log.warning('the TLS certificate in %s does not load; making a new one', cert.parent)
        return False
    if ends - datetime.timedelta(days=RENEW_BEFORE_DAYS) < datetime.datetime.now(datetime.UTC):
        log.warning('the TLS certificate in %s ends on %s; making a new one', cert.parent, ends.date())
        return False
    return True


def _generate(cert: Path, key: Path) -> None:
    names, addresses = host_names()
    private_key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, socket.gethostname()[:64] or 'localhost'),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'ClinicPACS'),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    alternative = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        # A CA for itself only (path length 0), so a tablet can trust it as the clinic's own authority.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
        .sign(private_key, hashes.SHA256())
    )
    cert.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_bytes = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(key, key_bytes, 0o600)
    _write(cert, certificate.public_bytes(serialization.Encoding.PEM), 0o600)  # the server serves it itself


def _write(path: Path, content: bytes, mode: int) -> None:
    """Write a file atomically, created with its final permissions (a key is never readable by others, even briefly)."""
    temporary = path.with_name(f'.{path.name}.tmp')
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, 'wb') as file:
        file.write(content)
    os.chmod(temporary, mode)
    temporary.replace(path)


def _outgoing_addresses() -> set[str]:
    """The addresses this machine uses to reach its LANs (a UDP socket that is never sent on)."""
    found = set()
    for family, target in ((socket.AF_INET, '10.255.255.255'), (socket.AF_INET6, 'fd00::1')):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((target, 9))
                found.add(str(probe.getsockname()[0]).split('%')[0])
        except OSError:
            continue
    return found
