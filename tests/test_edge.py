"""The HTTP edge (ui.asgi.ClientEdge): a real fault in a route is one log line with its route and an id."""

import logging
import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ui import asgi


async def _fails(_request: Request) -> PlainTextResponse:
    raise ZeroDivisionError('a fault someone must fix')


async def _answers(_request: Request) -> PlainTextResponse:
    return PlainTextResponse('fine')


@pytest.fixture
def edge() -> httpx.AsyncClient:
    routes = [Route('/studies/{study}/fails', _fails), Route('/fine', _answers)]
    app = Starlette(routes=routes, middleware=[Middleware(asgi.ClientEdge)])  # inside Starlette's error layer
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://clinic')


async def test_a_real_fault_logs_one_line_with_the_route_and_the_id_the_caller_gets(
    edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger='ui.asgi'):
        response = await edge.get('/studies/7/fails?PatientName=Doe')
    assert response.status_code == 500
    error_id = response.json()['error_id']
    assert re.fullmatch(r'[0-9a-f]{8}', error_id)
    records = [r for r in caplog.records if r.name == 'ui.asgi']
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].getMessage() == f'error {error_id} in route GET /studies/{{study}}/fails'
    assert records[0].exc_info is not None and records[0].exc_info[0] is ZeroDivisionError
    assert 'Doe' not in caplog.text


async def test_an_ordinary_answer_passes_untouched(edge: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger='ui.asgi'):
        response = await edge.get('/fine')
    assert (response.status_code, response.text) == (200, 'fine')
    assert not [r for r in caplog.records if r.name == 'ui.asgi']
