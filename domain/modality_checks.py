"""Checks an administrator runs while setting up a modality: the settings to type into the scanner, an echo from
ClinicPACS to it, and the worklist it would receive for today.

- The settings come from domain.settings.Settings (`configure`, called where the process reads them): our AE title,
  the DICOM port and the DICOM TLS port when TLS is on. Our host is the address this server uses to reach the
  scanner (the interface on the route to it), else the host name the administrator's browser used.
- `echo` checks the permission, sends the C-ECHO through the function it is given (dicom/echo.py `verify`: the
  domain never touches the network) and audits the outcome ('modality.echo').
- `try_worklist` asks domain.worklist exactly as the listener's Modality Worklist SCP does for a C-FIND from that
  AE title (the same query, the same matching, by the same actor), for today, by the scanner's modality or by its
  own AE title as Scheduled Station AE Title. The worklist audits the query as it always does, under the AE title;
  the administrator's test is audited too ('modality.worklist_test').
"""

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from . import access, appointments, audit, modalities, worklist
from .access import Actor, Permission, require
from .errors import N_, InvalidInput, Message
from .settings import Settings

log = logging.getLogger(__name__)

ECHO_TIMEOUT_S = 5.0
BY_MODALITY, BY_STATION = 'modality', 'station'  # what a scanner's worklist query names: its modality or its AE title

# What an echo found (dicom/echo.py fills in the values; the page shows them in the reader's language).
ECHO_ANSWERED = N_('{ae_title} answered the echo in {ms} ms')
CONNECTION_REFUSED = N_(
    'Nothing accepts connections at {host} port {port}: is the DICOM service of the scanner on, and is the port right?'
)
NO_ANSWER = N_('No answer from {host} port {port} within {seconds} s: is the scanner on, and is the address right?')
UNKNOWN_HOST = N_('The host name {host} does not resolve: enter the IP address of the scanner instead')
UNREACHABLE = N_('{host} port {port} cannot be reached: {error}')
CALLING_AE_REFUSED = N_(
    '{ae_title} refused the association: it does not know our AE title {our_ae_title}; '
    'enter ClinicPACS on the scanner as a DICOM node'
)
CALLED_AE_REFUSED = N_(
    'The DICOM node at {host} port {port} refused the association: its AE title is not {ae_title}; '
    'check the AE title entered here'
)
BUSY = N_('{ae_title} refused the association for now (busy); try again in a moment')
REJECTED = N_('{ae_title} refused the association (reason {reason})')
ABORTED = N_('{ae_title} aborted the association')
NO_VERIFICATION = N_('{ae_title} accepted the association but not Verification (C-ECHO)')
NO_ECHO_ANSWER = N_('{ae_title} did not answer within {seconds} s')
ECHO_STATUS = N_('{ae_title} answered the echo with the failure status {status}')
NO_HOST = N_('{ae_title} has no host entered (it is accepted from any host): enter its address to echo it')


@dataclass(frozen=True)
class ScannerSettings:
    """What to type into the scanner so that it sends to ClinicPACS and asks it for the worklist."""

    ae_title: str  # ours: the scanner's "called AE title" for storage, worklist, MPPS and commitment
    host: str
    port: int
    tls_port: int | None  # None: DICOM over TLS is off
    scanner_ae_title: str  # the scanner's own (calling) AE title, exactly as entered here
    tls_required: bool


@dataclass(frozen=True)
class EchoCall:
    """One C-ECHO to send: from our AE title to the modality's, at its host and port."""

    calling_ae: str
    called_ae: str
    host: str
    port: int
    timeout_s: float = ECHO_TIMEOUT_S


@dataclass(frozen=True)
class EchoResult:
    """Whether the modality answered the echo, and what happened, as an English message with its values."""

    ok: bool
    message: Message


@dataclass(frozen=True)
class WorklistTest:
    """The scheduled steps a modality would receive for today, and the query it was asked as."""

    items: list[worklist.WorklistItem]
    query: worklist.WorklistQuery
    active: bool  # False: the modality is disabled, its associations are refused before any query


def configure(settings: Settings) -> None:
    """Take our AE title and DICOM ports from the settings (main.py, as it opens the database)."""
    _configured['settings'] = settings


def settings_to_copy(modality_id: int, *, by: Actor, browser_host: str = '') -> ScannerSettings:
    """The settings to enter on the scanner: our AE title, host and ports, and its own AE title."""
    require(by, Permission.MANAGE_MODALITIES)
    modality = modalities.get(modality_id, by=by)
    settings = _settings()
    return ScannerSettings(
        ae_title=settings.ae_title,
        host=_our_address(modality.host, modality.port) or browser_host or socket.gethostname(),
        port=settings.dicom_port,
        tls_port=settings.dicom_tls_port if settings.tls_enabled else None,
        scanner_ae_title=modality.ae_title,
        tls_required=modality.tls_required,
    )


def echo(modality_id: int, *, by: Actor, verify: Callable[[EchoCall], EchoResult]) -> EchoResult:
    """Send a C-ECHO from ClinicPACS to the modality with `verify` (dicom/echo.py) and audit what came of it."""
    require(by, Permission.MANAGE_MODALITIES)
    modality = modalities.get(modality_id, by=by)
    if not modality.host:
        result = EchoResult(ok=False, message=N_(NO_HOST, ae_title=modality.ae_title))
    else:
        call = EchoCall(_settings().ae_title, modality.ae_title, modality.host, modality.port)
        result = verify(call)
    log.info('echo of modality %s (%s): %s', modality_id, modality.ae_title, 'answered' if result.ok else 'failed')
    audit.record_alone(
        by,
        'modality.echo',
        object_type='modality',
        object_id=modality_id,
        outcome='success' if result.ok else 'failure',
        detail={
            'ae_title': modality.ae_title,
            'host': modality.host,
            'port': modality.port,
            'result': str(result.message),
        },
    )
    return result


def try_worklist(modality_id: int, *, by: Actor, asks_by: str = BY_MODALITY) -> WorklistTest:
    """Today's scheduled steps exactly as the Modality Worklist SCP answers this modality's query (PS3.4 K.6)."""
    require(by, Permission.MANAGE_MODALITIES)
    modality = modalities.get(modality_id, by=by)
    if asks_by not in (BY_MODALITY, BY_STATION):
        raise InvalidInput('A worklist test asks by modality or by AE title')
    today = appointments.today()
    query = worklist.WorklistQuery(
        modality=modality.modality if asks_by == BY_MODALITY else '',
        station_ae=modality.ae_title if asks_by == BY_STATION else '',
        date_from=today,
        date_to=today,
    )
    # As the listener's worklist SCP calls it for an association from this AE title; from the admin's address.
    items = worklist.query(query, by=access.modality(modality.ae_title, by.address))
    audit.record_alone(
        by,
        'modality.worklist_test',
        object_type='modality',
        object_id=modality_id,
        detail={'ae_title': modality.ae_title, 'asks_by': asks_by, 'matches': len(items)},
    )
    return WorklistTest(items=items, query=query, active=modality.active)


def _settings() -> Settings:
    """The process's settings; their defaults (never this environment's) until `configure` was called."""
    return _configured.get('settings') or Settings.model_construct()


def _our_address(host: str, port: int) -> str:
    """The address of the interface this server would use to reach `host` (no packet is sent), '' if unknown."""
    if not host:
        return ''
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.connect(address)  # a datagram socket's connect only picks the route
            return str(probe.getsockname()[0])
    except OSError:
        return ''


_configured: dict[str, Settings] = {}
