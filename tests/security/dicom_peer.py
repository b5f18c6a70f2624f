"""A DICOM peer for the attack tests: an SCU with short timeouts, and a C-ECHO that says whether it got through."""

import ssl

from pynetdicom import AE

VERIFICATION = '1.2.840.10008.1.1'


def scu(ae_title: str) -> AE:
    """A requesting AE calling as `ae_title` that gives up after 10 s."""
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


def echo(port: int, called: str, ae_title: str, *, tls: ssl.SSLContext | None = None) -> bool:
    """True when an association as `ae_title` to 127.0.0.1:`port` is accepted and its C-ECHO succeeds."""
    ae = scu(ae_title)
    ae.add_requested_context(VERIFICATION)
    tls_args = (tls, 'localhost') if tls is not None else None
    assoc = ae.associate('127.0.0.1', port, ae_title=called, tls_args=tls_args)
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return bool(status.Status == 0x0000)
