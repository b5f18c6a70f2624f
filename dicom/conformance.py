"""The DICOM conformance statement (PS3.2), built from the code's own lists rather than written by hand.

What the listener accepts is read from the AE that dicom/scp.py builds (`scp.application_entity`): every SOP class,
its transfer syntaxes in the order offered and the roles it takes; association limits and timeouts come from the
same object and domain.settings' defaults. The DICOMweb resources are the web app's registered routes under
/dicomweb (methods, and the roles domain.access.ROUTES lets in); the character sets are those pydicom decodes.
`statement()` gathers them as data, `render()` writes PS3.2-shaped Markdown. tools/conformance.py writes it to
docs/conformance.md, `register()` serves it at /dicomweb/conformance, and tests/test_conformance.py fails when the
file, the listener or the routes disagree with it.
"""

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydicom.charset import python_encoding
from pydicom.uid import UID
from starlette.routing import BaseRoute, Route

from domain import access
from domain.access import Actor
from domain.settings import Settings

from . import commitment, delivery, echo, pixel_frames, qido, render, scp, sending, stow, transcode
from .ingest import Ingest

PATH = '/dicomweb/conformance'
MEDIA_TYPE = 'text/markdown; charset=utf-8'
ACCEPTABLE = frozenset({'text/markdown', 'text/plain', 'text/*', '*/*'})
ANSWERED_CHARACTER_SET = 'ISO_IR 192'  # what C-FIND, the worklist and QIDO-RS answers declare (UTF-8)
PREFIX = '/dicomweb'
SCU, SCP = 'SCU', 'SCP'
DICOM_MULTIPART = 'multipart/related; type="application/dicom"'
OCTET_MULTIPART = 'multipart/related; type="application/octet-stream"'
SERVICE_TITLES = {
    'verification': 'Verification',
    'storage': 'Storage',
    'find': 'Query/Retrieve and Modality Worklist: C-FIND',
    'move': 'Query/Retrieve: C-MOVE',
    'get': 'Query/Retrieve: C-GET',
    'mpps': 'Modality Performed Procedure Step',
    'commitment': 'Storage Commitment (push model)',
}


class UnlistedResource(Exception):
    """A /dicomweb route no rule in RESOURCE_RULES describes: the statement cannot say what it is."""


@dataclass(frozen=True)
class Accepted:
    """One SOP class the listener accepts: its transfer syntaxes (in the order offered) and the roles it takes."""

    service: str
    sop_class: str
    transfer_syntaxes: tuple[str, ...]
    roles: tuple[str, ...]  # SCP always; SCU too when a C-GET requestor may take the SCP role (PS3.7 D.3.3.4)


@dataclass(frozen=True)
class Initiated:
    """Associations the PACS opens (or DIMSE requests it sends) itself."""

    purpose: str
    sop_classes: str
    role: str
    transfer_syntaxes: str
    peer: str


@dataclass(frozen=True)
class Resource:
    """One DICOMweb resource: a path and method, what it is, the media types it answers and who may call it."""

    path: str
    method: str
    service: str
    media_types: tuple[str, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """Everything the conformance statement says, as data."""

    implementation_class_uid: str
    implementation_version_name: str
    called_ae_title_checked: bool
    maximum_pdu_bytes: int
    maximum_associations: int
    timeouts_s: dict[str, float]
    accepted: tuple[Accepted, ...]
    initiated: tuple[Initiated, ...]
    resources: tuple[Resource, ...]
    character_sets: tuple[str, ...]
    settings: dict[str, Any]

    def accepted_pairs(self) -> set[tuple[str, str]]:
        """Every (SOP class, transfer syntax) the listener accepts."""
        return {(row.sop_class, syntax) for row in self.accepted for syntax in row.transfer_syntaxes}

    def scu_role_classes(self) -> set[str]:
        """The SOP classes whose SCP role a requestor may take (the listener then acts as SCU)."""
        return {row.sop_class for row in self.accepted if SCU in row.roles}


# ---------------------------------------------------------------- building the statement


def defaults() -> Settings:
    """The settings' defaults, not this environment's: the statement in docs/ must not depend on who generates it."""
    return Settings.model_construct()


def statement(routes: Iterable[BaseRoute], settings: Settings | None = None) -> Statement:
    """The statement for the listener dicom/scp.py builds and the /dicomweb routes among `routes`."""
    settings = settings or defaults()
    ingest = Ingest()  # never called: the statement only reads what the listener would offer
    ae, _bindings = scp.application_entity(settings, ingest)
    return Statement(
        implementation_class_uid=str(ae.implementation_class_uid),
        implementation_version_name=str(ae.implementation_version_name or ''),
        called_ae_title_checked=bool(ae.require_called_aet),
        maximum_pdu_bytes=int(ae.maximum_pdu_size),
        maximum_associations=int(ae.maximum_associations),
        timeouts_s={
            'ACSE (association request; PACS_DICOM_REQUEST_TIMEOUT_S)': float(ae.acse_timeout or 0),
            'DIMSE (a message once a request has started)': float(ae.dimse_timeout or 0),
            'network (an idle association)': float(ae.network_timeout or 0),
        },
        accepted=tuple(accepted(ae.supported_contexts, ingest=ingest)),
        initiated=tuple(initiated()),
        resources=tuple(resources(routes)),
        character_sets=tuple(sorted(name for name in python_encoding if name)),
        settings={
            'PACS_AE_TITLE': settings.ae_title,
            'PACS_DICOM_PORT': settings.dicom_port,
            'PACS_DICOM_TLS_PORT': settings.dicom_tls_port,
            'PACS_DICOM_PEER_ASSOCIATIONS': settings.dicom_peer_associations,
            'PACS_DICOM_REQUEST_TIMEOUT_S': settings.dicom_request_timeout_s,
            'PACS_ACCEPT_ANY_AE': settings.accept_any_ae,
            'PACS_HTTP_PORT': settings.http_port,
            'PACS_HTTPS_PORT': settings.https_port,
            'PACS_CORS_ORIGINS': settings.cors_origins,
        },
    )


def accepted(contexts: Iterable[Any], *, ingest: Ingest) -> list[Accepted]:
    """The AE's supported contexts, each named by the scp.services() entry that declares it, in that order."""
    service_of: dict[str, str] = {}
    for service in scp.services(ingest):
        for abstract, _syntaxes in service.contexts:
            service_of.setdefault(str(abstract), service.name)
    order = {name: number for number, name in enumerate(dict.fromkeys(service_of.values()))}
    rows = []
    for context in sorted(contexts, key=lambda cx: order.get(service_of.get(str(cx.abstract_syntax), ''), len(order))):
        sop_class = str(context.abstract_syntax)
        roles = (SCP, SCU) if context.scp_role else (SCP,)  # scp_role: the requestor may act as SCP (we as SCU)
        syntaxes = tuple(str(syntax) for syntax in context.transfer_syntax)
        rows.append(Accepted(service_of.get(sop_class, 'other'), sop_class, syntaxes, roles))
    return rows


def initiated() -> list[Initiated]:
    """What the PACS sends on associations it opens, or as the SCU on a requestor's association."""
    uncompressed = ', '.join(_syntax(uid) for uid in transcode.UNCOMPRESSED)
    retrieve = (
        f'per SOP class one context offering {_offered(delivery.contexts)}, and each other stored transfer syntax '
        f'in a context of its own ({delivery.MAX_CONTEXTS} contexts at most); an image is sent as stored, or '
        'decompressed when only the uncompressed context was accepted'
    )
    return [
        Initiated(
            'C-MOVE sub-operations (C-STORE)',
            'the storage SOP class of each image retrieved',
            SCU,
            retrieve,
            "a new association to the move destination: an entered modality's AE title, host and port",
        ),
        Initiated(
            'C-GET sub-operations (C-STORE)',
            'the storage SOP class of each image retrieved',
            f'{SCU} (SCP/SCU role selection: the requestor takes the SCP role)',
            f'those the requestor proposed and the listener accepted (section 3.2); uncompressed: {uncompressed}',
            "the C-GET requestor, on the requestor's association",
        ),
        Initiated(
            'forwarding rules (C-STORE, a retried job per study and rule)',
            'the storage SOP class of each image of the study',
            SCU,
            'per SOP class one context offering the stored transfer syntaxes and one offering '
            f'{uncompressed}; an image is sent as stored, or decompressed; several associations when a study needs '
            f'more than {sending.MAX_CONTEXTS} contexts',
            "the rule's destination: an entered modality's AE title, host and port",
        ),
        Initiated(
            'Storage Commitment result (N-EVENT-REPORT)',
            f'{_name(commitment.SOP_CLASS)} (`{commitment.SOP_CLASS}`)',
            f'{SCP} (on a new association the PACS proposes the SCP role by SCP/SCU role selection)',
            ', '.join(_syntax(uid) for uid in commitment.SYNTAXES),
            "the requesting association while it is open, else a new one to the modality's entered host and port",
        ),
        Initiated(
            "Echo on a modality's page (C-ECHO), by an administrator",
            f'{_name(echo.VERIFICATION)} (`{echo.VERIFICATION}`)',
            SCU,
            "the Verification context alone, with pynetdicom's default transfer syntaxes",
            "the modality's entered AE title, host and port, called from the PACS's own AE title",
        ),
    ]


def _offered(propose: Callable[[list[tuple[str, str, str]]], list[Any]]) -> str:
    """The transfer syntaxes a retrieve offers for a SOP class stored compressed, besides the stored one."""
    compressed = ('', '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.4.50')  # a CT image stored as JPEG Baseline
    contexts = [cx for cx in propose([compressed]) if compressed[2] not in cx.transfer_syntax]
    return '; '.join(', '.join(_syntax(str(uid)) for uid in cx.transfer_syntax) for cx in contexts)


# (method, path pattern, service, media types): the first rule whose method and pattern match describes a route.
RESOURCE_RULES: list[tuple[str, str, str, Callable[[], tuple[str, ...]]]] = [
    ('GET', r'/conformance', 'this conformance statement', lambda: ('text/markdown',)),
    ('POST', r'/studies(/\{study\})?', 'STOW-RS store (PS3.18 10.5): multipart request, JSON answer',
     lambda: (DICOM_MULTIPART, stow.MEDIA_TYPE)),
    ('OPTIONS', r'/.*', 'CORS preflight', lambda: ()),
    ('GET', r'/studies/\{study\}(/series/\{series\})?/rendered',
     'WADO-RS rendered (PS3.18 10.4): the first image, or every image as multipart', lambda: _rendered(multipart=True)),
    ('GET', r'.*/rendered', 'WADO-RS rendered (PS3.18 10.4)', lambda: _rendered(multipart=False)),
    ('GET', r'.*/thumbnail', 'WADO-RS thumbnail (PS3.18 10.4)', lambda: _rendered(multipart=False)),
    ('GET', r'.*/metadata', 'WADO-RS metadata (PS3.18 10.4)', lambda: (qido.MEDIA_TYPE,)),
    ('GET', r'.*/frames/\{[^}]+\}', 'WADO-RS frames (PS3.18 10.4): uncompressed, or as stored when asked',
     lambda: (OCTET_MULTIPART, *_multipart(pixel_frames.MEDIA_TYPES.values()))),
    ('GET', r'.*/bulkdata/\{[^}]+\}', 'WADO-RS bulk data (PS3.18 10.4)', lambda: (OCTET_MULTIPART,)),
    ('GET', r'(/[a-z]+/\{[a-z]+\})+',
     'WADO-RS retrieve (PS3.18 10.4): explicit VR little endian, or `transfer-syntax=*` as stored',
     lambda: (DICOM_MULTIPART,)),
    ('GET', r'(/studies/\{study\}(/series/\{series\})?)?/(studies|series|instances)', 'QIDO-RS search (PS3.18 10.6)',
     lambda: (qido.MEDIA_TYPE, 'application/json')),
]  # fmt: skip


def _rendered(*, multipart: bool) -> tuple[str, ...]:
    single = tuple(render.MEDIA_TYPES.values())
    return (*single, *_multipart(single)) if multipart else single


def _multipart(part_types: Iterable[str]) -> tuple[str, ...]:
    return tuple(f'multipart/related; type="{part}"' for part in dict.fromkeys(part_types))


def resources(routes: Iterable[BaseRoute]) -> list[Resource]:
    """The /dicomweb routes among `routes`, one row per path and method, in path order."""
    found: dict[tuple[str, str], Resource] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.path.startswith(PREFIX + '/'):
            continue
        for method in sorted(route.methods or ()):
            if method == 'HEAD':  # Starlette adds HEAD to every GET
                continue
            if (route.path, method) not in found:
                found[route.path, method] = _resource(route.path, method)
    return [found[key] for key in sorted(found)]


def _resource(path: str, method: str) -> Resource:
    tail = path[len(PREFIX) :]
    for rule_method, pattern, service, media_types in RESOURCE_RULES:
        if rule_method == method and re.fullmatch(pattern, tail):
            allowed = access.ROUTES.get(path)
            roles = ('public',) if allowed == access.PUBLIC else tuple(sorted(allowed or ()))
            return Resource(path, method, service, media_types(), roles)
    raise UnlistedResource(f'{method} {path}: add a rule for it to dicom/conformance.py RESOURCE_RULES')


# ---------------------------------------------------------------- Markdown


def render_markdown(statement: Statement) -> str:
    """The statement as Markdown in the shape of PS3.2 (sections of a DICOM conformance statement)."""
    lines: list[str] = []
    out = lines.append
    s = statement
    out('# ClinicPACS — DICOM conformance statement')
    out('')
    out(
        "> Generated by `tools/conformance.py` from the code itself (dicom/scp.py, the web app's `/dicomweb` "
        'routes, domain/settings.py); do not edit by hand. Served to signed-in staff at `/dicomweb/conformance`.'
    )
    out('')
    out('## 1. Overview')
    out('')
    out('| network service | SOP classes | user of service (SCU) | provider of service (SCP) |')
    out('| --- | --- | --- | --- |')
    for service, rows in _by_service(s.accepted):
        scu = 'yes (C-MOVE and C-GET sub-operations, forwarding)' if any(SCU in row.roles for row in rows) else 'no'
        out(f'| {SERVICE_TITLES.get(service, service)} | {len(rows)} | {scu} | yes |')
    out('')
    out('## 2. Implementation model')
    out('')
    out(
        'One application entity serves every DICOM service below: it stores what modalities send, answers queries '
        'from its index and sends stored images to entered modalities. The same process (or, scaled, a separate '
        '`main.py scp` process) runs it; the web server serves DICOMweb from the same store.'
    )
    out('')
    out('| | |')
    out('| --- | --- |')
    out(f'| AE title | `{s.settings["PACS_AE_TITLE"]}` (PACS_AE_TITLE) |')
    out(f'| port | {s.settings["PACS_DICOM_PORT"]} (PACS_DICOM_PORT) |')
    out(f'| TLS port (with TLS on) | {s.settings["PACS_DICOM_TLS_PORT"]} (PACS_DICOM_TLS_PORT) |')
    out(f'| Implementation Class UID | `{s.implementation_class_uid}` |')
    out(f'| Implementation Version Name | `{s.implementation_version_name}` |')
    out('')
    out('## 3. AE specification')
    out('')
    out('### 3.1 Association policies')
    out('')
    out('| | |')
    out('| --- | --- |')
    out('| application context | `1.2.840.10008.3.1.1.1` (DICOM Application Context) |')
    out(f'| maximum PDU length received | {s.maximum_pdu_bytes} bytes |')
    out(f'| simultaneous associations | {s.maximum_associations} in all |')
    per_peer = s.settings['PACS_DICOM_PEER_ASSOCIATIONS']
    out(f'| connections per peer address | {per_peer} (PACS_DICOM_PEER_ASSOCIATIONS) |')
    for name, seconds in s.timeouts_s.items():
        out(f'| timeout: {name} | {seconds:g} s |')
    out('| asynchronous operations | not supported (one outstanding operation) |')
    reversible = [SERVICE_TITLES.get(name, name) for name, rows in _by_service(s.accepted) if SCU in rows[0].roles]
    out(f'| extended negotiation | SCP/SCU role selection for: {", ".join(reversible) or "none"}; nothing else |')
    out('')
    out('### 3.2 Association acceptance: presentation contexts')
    out('')
    out(
        'Each SOP class is accepted with the first of its transfer syntaxes (in the order listed) that the requestor '
        'proposes. A context not listed here is rejected (abstract or transfer syntax not supported).'
    )
    for service, rows in _by_service(s.accepted):
        out('')
        out(f'#### {SERVICE_TITLES.get(service, service)}')
        for (syntaxes, roles), group in _by_offer(rows):
            out('')
            out(f'Roles: {", ".join(roles)}. Transfer syntaxes: ' + ', '.join(_syntax(uid) for uid in syntaxes) + '.')
            out('')
            out('| SOP class | UID |')
            out('| --- | --- |')
            for row in group:
                out(f'| {_name(row.sop_class)} | `{row.sop_class}` |')
    out('')
    out('### 3.3 Association initiation')
    out('')
    out('| activity | SOP classes | role | transfer syntaxes proposed | peer |')
    out('| --- | --- | --- | --- | --- |')
    for sent in s.initiated:
        out(f'| {sent.purpose} | {sent.sop_classes} | {sent.role} | {sent.transfer_syntaxes} | {sent.peer} |')
    out('')
    out('## 4. DICOMweb (PS3.18)')
    out('')
    out(
        f'Under `{PREFIX}` on PACS_HTTP_PORT ({s.settings["PACS_HTTP_PORT"]}), or PACS_HTTPS_PORT '
        f"({s.settings['PACS_HTTPS_PORT']}) with TLS on. Every resource but a public one needs the browser's "
        'session or HTTP Basic credentials of an account with one of the roles listed. A path or UID that names '
        'nothing is a JSON 404; an `Accept` a resource cannot serve is 406. Cross-origin (CORS): only pages from the '
        f'origins in PACS_CORS_ORIGINS ({s.settings["PACS_CORS_ORIGINS"] or "none"} by default) may call them, with '
        'credentials; preflights under `/dicomweb` are answered for those origins and refused (403) for others.'
    )
    out('')
    out('| method | path | service | media types | roles |')
    out('| --- | --- | --- | --- | --- |')
    for resource in s.resources:
        media = ', '.join(f'`{m}`' for m in resource.media_types) or '—'
        out(f'| {resource.method} | `{resource.path}` | {resource.service} | {media} | {", ".join(resource.roles)} |')
    out('')
    out('## 5. Character sets')
    out('')
    out(
        'Received data sets and query identifiers are decoded with their Specific Character Set (0008,0005); '
        'without one the default repertoire (ISO-IR 6) is assumed. Accepted values:'
    )
    out('')
    out(', '.join(f'`{name}`' for name in s.character_sets) + '.')
    out('')
    out(
        f'C-FIND, Modality Worklist and QIDO-RS answers are UTF-8 and say so (`{ANSWERED_CHARACTER_SET}`); DICOMweb '
        'JSON is UTF-8. Stored images are sent back unchanged, in the character set they arrived with.'
    )
    out('')
    out('## 6. Security')
    out('')
    out(
        '- Calling AE titles: only entered modalities, each only from its entered host (unless its "accept from any '
        'host" box is ticked) and only over TLS when "TLS required" is ticked; PACS_ACCEPT_ANY_AE (default '
        f"{str(s.settings['PACS_ACCEPT_ANY_AE']).lower()}) or the administrator's option admits unknown AE titles, "
        'never an entered one from elsewhere. A refused peer gets A-ASSOCIATE-RJ (calling AE title not recognised) '
        'and an audit event.'
    )
    out(f'- Called AE title: {"must be the AE title above" if s.called_ae_title_checked else "not checked"}.')
    out('- A peer whose role may not query or retrieve gets 0x0124 (refused: not authorised).')
    out(
        '- TLS (PS3.15 B.1, TLS 1.2 or later): with PACS_TLS or PACS_TLS_CERT set, the TLS port serves the same '
        'services with the HTTPS certificate; no client certificate is asked for.'
    )
    out('- C-MOVE sends only to entered modalities, at the host and port entered for them.')
    out('- DICOMweb: HTTP Basic or the browser session, each route limited to the roles listed in section 4.')
    out('')
    return '\n'.join(lines)


def _by_service(rows: Iterable[Accepted]) -> list[tuple[str, list[Accepted]]]:
    grouped: dict[str, list[Accepted]] = {}
    for row in rows:
        grouped.setdefault(row.service, []).append(row)
    return list(grouped.items())


def _by_offer(rows: list[Accepted]) -> list[tuple[tuple[tuple[str, ...], tuple[str, ...]], list[Accepted]]]:
    grouped: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Accepted]] = {}
    for row in rows:
        grouped.setdefault((row.transfer_syntaxes, row.roles), []).append(row)
    return [(key, sorted(group, key=lambda r: (_name(r.sop_class), r.sop_class))) for key, group in grouped.items()]


def _name(uid: str) -> str:
    name = UID(uid).name
    return name if name != uid else 'private or unnamed'


def _syntax(uid: str) -> str:
    return f'{_name(uid)} (`{uid}`)'


# ---------------------------------------------------------------- serving it


_served: dict[tuple[int, int], str] = {}  # (app, number of routes) -> the statement
_lock = threading.Lock()


def register(app: FastAPI, guard: Callable[[str], Callable[..., Any]]) -> None:
    """Serve the statement at /dicomweb/conformance (built once, from this app's routes, on the first request)."""
    conformance_guard = guard(PATH)

    @app.get(PATH, include_in_schema=False)
    def conformance(request: Request, actor: Annotated[Actor, Depends(conformance_guard)]) -> Response:
        if not _acceptable(request.headers.get('accept', '')):
            return JSONResponse({'detail': 'This resource answers text/markdown'}, status_code=406)
        routes = request.app.routes
        key = (id(request.app), len(routes))
        with _lock:
            if key not in _served:
                _served.clear()
                _served[key] = render_markdown(statement(routes))
            text = _served[key]
        return Response(text, media_type=MEDIA_TYPE)


def _acceptable(accept: str) -> bool:
    offered = [part.split(';')[0].strip().lower() for part in accept.split(',') if part.strip()]
    return not offered or any(media in ACCEPTABLE for media in offered)
