"""The conformance statement is current, and it says exactly what the listener and the /dicomweb routes do."""

import re
from pathlib import Path
from typing import Any

import pytest
from nicegui import app
from nicegui.testing import User
from pydicom.dataset import Dataset
from pydicom.uid import AllTransferSyntaxes
from pynetdicom import AE, build_context, build_role
from pynetdicom import sop_class as registry
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification  # type: ignore[attr-defined]
from starlette.routing import Route

from dicom import conformance
from tests.conftest import Clinic, sign_in, wait_until
from tests.dicom.conftest import SCU_AE, Pacs, find, pacs, sample, send  # noqa: F401 (pacs: the fixture)
from ui import register_pages

DOC = Path(__file__).resolve().parent.parent / 'docs' / 'conformance.md'
REGENERATE = 'run .venv/bin/python tools/conformance.py and commit docs/conformance.md'
CONTEXTS_PER_ASSOCIATION = 127  # 128 at most (PS3.8 9.3.2.2), one of them the Verification context that always holds
SENTINEL = (str(Verification), '1.2.840.10008.1.2.1')


def _generated() -> str:
    return conformance.render_markdown(conformance.statement(app.routes))


async def test_the_statement_in_docs_is_the_one_the_code_generates(user: User) -> None:
    register_pages()
    assert DOC.read_text(encoding='utf-8') == _generated(), f'docs/conformance.md is out of date: {REGENERATE}'


def test_the_listener_accepts_exactly_what_the_statement_lists(pacs: Pacs) -> None:  # noqa: F811
    """Every SOP class pynetdicom knows (and any the statement names), each with every transfer syntax pydicom
    knows, proposed to the running listener: what it accepts, and where it takes the SCU role, is the statement."""
    stated = conformance.statement([])
    classes = sorted(_registry() | {row.sop_class for row in stated.accepted})
    syntaxes = sorted(set(AllTransferSyntaxes) | {syntax for _c, syntax in stated.accepted_pairs()})
    pairs = [(sop_class, syntax) for sop_class in classes for syntax in syntaxes]
    accepted: set[tuple[str, str]] = set()
    scu_role: set[str] = set()
    for start in range(0, len(pairs), CONTEXTS_PER_ASSOCIATION):
        found, reversed_roles = _probe(pacs, pairs[start : start + CONTEXTS_PER_ASSOCIATION])
        accepted |= found
        scu_role |= reversed_roles
    unlisted = sorted(accepted - stated.accepted_pairs())
    refused = sorted(stated.accepted_pairs() - accepted)
    assert not unlisted, f'the listener accepts (SOP class, transfer syntax) the statement does not list: {unlisted}'
    assert not refused, f'the statement lists (SOP class, transfer syntax) the listener refuses: {refused}'
    assert scu_role == stated.scu_role_classes(), (
        f'SCP/SCU role selection: the listener takes the SCU role for {sorted(scu_role)}, '
        f'the statement says {sorted(stated.scu_role_classes())}'
    )


def test_find_answers_in_the_character_set_the_statement_names(pacs: Pacs) -> None:  # noqa: F811
    assert send(pacs, sample('CT_small.dcm')) == [0x0000]
    query = Dataset()
    query.QueryRetrieveLevel = 'STUDY'
    query.SpecificCharacterSet = 'ISO_IR 100'
    query.StudyInstanceUID = ''
    query.PatientName = ''
    answers = find(pacs, StudyRootQueryRetrieveInformationModelFind, query)
    assert answers, 'no C-FIND answer'
    assert {str(answer.SpecificCharacterSet) for answer in answers} == {conformance.ANSWERED_CHARACTER_SET}
    assert 'ISO_IR 100' in conformance.statement([]).character_sets  # the query's set is one the statement lists


async def test_every_dicomweb_route_is_listed_and_every_listed_one_is_served(user: User) -> None:
    register_pages()
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith('/dicomweb/')
        for method in route.methods or ()
        if method != 'HEAD'
    }
    rows = re.findall(r'^\| (GET|POST|PUT|DELETE|OPTIONS) \| `(/dicomweb/[^`]*)` \|', DOC.read_text(), re.MULTILINE)
    listed = set(rows)
    assert len(rows) == len(listed), 'a resource is listed twice'
    assert not served - listed, f'served but not in docs/conformance.md: {sorted(served - listed)}; {REGENERATE}'
    assert not listed - served, f'in docs/conformance.md but not served: {sorted(listed - served)}; {REGENERATE}'


async def test_staff_read_the_statement_over_basic_and_nobody_else(user: User, clinic: Clinic) -> None:
    register_pages()
    account = clinic.receptionist
    response = await user.http_client.get(conformance.PATH, auth=(account.username, account.password))
    assert response.status_code == 200
    assert response.headers['content-type'].startswith('text/markdown')
    assert response.text == _generated()
    assert (await user.http_client.get(conformance.PATH)).status_code == 401
    refused = await user.http_client.get(
        conformance.PATH, auth=(account.username, account.password), headers={'Accept': 'application/dicom+json'}
    )
    assert refused.status_code == 406


async def test_a_signed_in_browser_reads_the_statement(user: User, clinic: Clinic) -> None:
    register_pages()
    await sign_in(user, clinic.technician)
    response = await user.http_client.get(conformance.PATH, headers={'Accept': 'text/html,*/*;q=0.8'})
    assert response.status_code == 200
    assert response.text.startswith('# ClinicPACS')


# ---------------------------------------------------------------- helpers


def _registry() -> set[str]:
    """Every SOP class UID in pynetdicom's registry."""
    found: set[str] = set()
    for name in dir(registry):
        table = getattr(registry, name)
        if (
            name.startswith('_')
            and name.endswith('_CLASSES')
            and name != '_SERVICE_CLASSES'
            and isinstance(table, dict)
        ):
            found |= {str(uid) for uid in table.values()}
    return found


def _probe(pacs: Pacs, pairs: list[tuple[str, str]]) -> tuple[set[tuple[str, str]], set[str]]:  # noqa: F811
    """Propose these (SOP class, syntax) pairs, each in a context of its own, asking for both roles of each class."""
    wait_until(lambda: not [a for a in pacs.listener.ae.active_associations if a.is_acceptor] or None, 'a free slot')
    ae = AE(ae_title=SCU_AE)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.requested_contexts = [build_context(*SENTINEL), *(build_context(c, s) for c, s in pairs)]
    roles: list[Any] = [build_role(uid, scu_role=True, scp_role=True) for uid in sorted({c for c, _s in pairs})]
    assoc = ae.associate('127.0.0.1', pacs.port, ae_title=pacs.ae_title, ext_neg=roles)
    assert assoc.is_established, 'the listener refused an association whose Verification context it must accept'
    try:
        found = {(str(cx.abstract_syntax), str(cx.transfer_syntax[0])) for cx in assoc.accepted_contexts}
        reversed_roles = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts if cx.as_scp}
    finally:
        assoc.release()
    probed = set(pairs)
    return found & probed, reversed_roles & {c for c, _s in pairs}


def test_a_dicomweb_route_no_rule_describes_stops_the_generator() -> None:
    route = Route('/dicomweb/novel/{thing}', endpoint=lambda request: None, methods=['PUT'])
    with pytest.raises(conformance.UnlistedResource, match='PUT /dicomweb/novel'):
        conformance.resources([route])
