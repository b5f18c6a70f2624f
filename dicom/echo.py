"""C-ECHO from ClinicPACS to a modality (PS3.7 9.1.5, Verification SOP Class PS3.4 A.4), telling why it failed.

A plain TCP connection is opened first and closed at once: it tells "nothing listens on that port", "no answer"
and "no such host" apart, which pynetdicom reports only in its own log. The association then proposes Verification
only; an A-ASSOCIATE-RJ is explained from its source and diagnostic (PS3.8 9.3.4), since "the scanner does not know
our AE title" and "that is not the scanner's AE title" are the usual mistakes when a modality is set up.
"""

import logging
import socket
import time
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.pdu_primitives import A_ASSOCIATE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from domain import modality_checks
from domain.errors import N_, Message
from domain.modality_checks import EchoCall, EchoResult

log = logging.getLogger(__name__)

VERIFICATION = str(Verification)  # the one SOP class an echo proposes (dicom/conformance.py lists it)

SERVICE_USER, ACSE_PROVIDER, PRESENTATION_PROVIDER = 0x01, 0x02, 0x03  # A-ASSOCIATE-RJ source (PS3.8 9.3.4)
CALLING_AE_NOT_RECOGNISED, CALLED_AE_NOT_RECOGNISED = 0x03, 0x07  # diagnostics of the service-user
TEMPORARY_CONGESTION, LOCAL_LIMIT_EXCEEDED = 0x01, 0x02  # diagnostics of the presentation-service provider


def verify(call: EchoCall) -> EchoResult:
    """Send one C-ECHO from `call.calling_ae` to the modality; whether it answered with success, and if not why."""
    if (unreachable := _connection_problem(call)) is not None:
        return EchoResult(ok=False, message=unreachable)
    answers: list[A_ASSOCIATE] = []

    def heard(event: Any) -> None:  # the A-ASSOCIATE-AC or -RJ, whose result pynetdicom keeps only in its log
        if isinstance(event.primitive, A_ASSOCIATE):
            answers.append(event.primitive)

    ae = AE(ae_title=call.calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = call.timeout_s
    ae.connection_timeout = call.timeout_s
    ae.add_requested_context(Verification)
    started = time.monotonic()
    assoc = ae.associate(call.host, call.port, ae_title=call.called_ae, evt_handlers=[(evt.EVT_ACSE_RECV, heard)])
    named = {'ae_title': call.called_ae, 'host': call.host, 'port': call.port}
    if not assoc.is_established:
        return EchoResult(ok=False, message=_not_associated(call, assoc, answers[-1] if answers else None))
    try:
        status = assoc.send_c_echo()
    finally:
        if assoc.is_established:
            assoc.release()
    code = int(getattr(status, 'Status', -1)) if status else -1
    if code == 0x0000:
        milliseconds = max(1, round((time.monotonic() - started) * 1000))
        return EchoResult(ok=True, message=N_(modality_checks.ECHO_ANSWERED, ms=milliseconds, **named))
    if code == -1:
        return EchoResult(ok=False, message=N_(modality_checks.NO_ECHO_ANSWER, seconds=round(call.timeout_s), **named))
    return EchoResult(ok=False, message=N_(modality_checks.ECHO_STATUS, status=f'0x{code:04X}', **named))


def _connection_problem(call: EchoCall) -> Message | None:
    """Why a TCP connection to the modality fails, or None when it opens (it is closed again at once)."""
    named = {'host': call.host, 'port': call.port}
    try:
        with socket.create_connection((call.host, call.port), timeout=call.timeout_s):
            return None
    except socket.gaierror:
        return N_(modality_checks.UNKNOWN_HOST, **named)
    except ConnectionRefusedError:
        return N_(modality_checks.CONNECTION_REFUSED, **named)
    except TimeoutError:
        return N_(modality_checks.NO_ANSWER, seconds=round(call.timeout_s), **named)
    except OSError as error:
        return N_(modality_checks.UNREACHABLE, error=error.strerror or type(error).__name__, **named)


def _not_associated(call: EchoCall, assoc: Any, answer: A_ASSOCIATE | None) -> Message:
    """Why the association did not open: its rejection explained, an abort, or no answer."""
    named = {'ae_title': call.called_ae, 'host': call.host, 'port': call.port}
    if answer is not None and answer.result == 0x00:  # accepted, but not one context: pynetdicom aborted it
        return N_(modality_checks.NO_VERIFICATION, **named)
    if answer is not None and assoc.is_rejected:
        source, diagnostic = answer.result_source, answer.diagnostic
        if source == SERVICE_USER and diagnostic == CALLING_AE_NOT_RECOGNISED:
            return N_(modality_checks.CALLING_AE_REFUSED, our_ae_title=call.calling_ae, **named)
        if source == SERVICE_USER and diagnostic == CALLED_AE_NOT_RECOGNISED:
            return N_(modality_checks.CALLED_AE_REFUSED, **named)
        if source == PRESENTATION_PROVIDER and diagnostic in (TEMPORARY_CONGESTION, LOCAL_LIMIT_EXCEEDED):
            return N_(modality_checks.BUSY, **named)
        return N_(modality_checks.REJECTED, reason=f'{source}/{diagnostic}', **named)
    if assoc.is_aborted:
        return N_(modality_checks.ABORTED, **named)
    return N_(modality_checks.NO_ECHO_ANSWER, seconds=round(call.timeout_s), **named)
