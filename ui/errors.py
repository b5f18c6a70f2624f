"""Unexpected errors: logged once with an id and the traceback, shown to staff as a notice with that id, not a trace.

NiceGUI hands one page's fault to several hooks (the error page, the HTTP handlers, the screen handlers); the first
to meet it logs it and the rest only read its id.
"""

import inspect
import logging
from contextlib import suppress

from fastapi import Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from nicegui import app, context, ui

from . import asgi
from .i18n import t

log = logging.getLogger(__name__)

DICOMWEB = '/dicomweb/'


def register() -> None:
    """Install the handlers for event handlers, pages and HTTP routes."""
    logging.getLogger('nicegui').addFilter(_without_nicegui_copy)
    app.on_exception(_on_handler_error)
    app.on_page_exception(_error_page)

    @app.exception_handler(Exception)
    async def _on_route_error(request: Request, error: Exception) -> JSONResponse:
        # Routes' errors are answered by ui.asgi.ClientEdge; this sees pages' faults and the middleware around it.
        error_id = asgi.note_error(log, error, 'in route %s %s', request.method, asgi.route_of(request.scope))
        return asgi.error_response(error_id)

    pages_not_found = app.exception_handlers.get(404)  # NiceGUI's: the web UI's own "not found" page

    @app.exception_handler(404)
    async def _on_not_found(request: Request, error: Exception) -> Response:
        # DICOMweb clients get JSON for a path or UID that names nothing, never the web UI's HTML page.
        if request.url.path.startswith(DICOMWEB) or pages_not_found is None:
            detail = getattr(error, 'detail', None) or 'Not Found'
            return JSONResponse({'detail': detail}, status_code=404)
        answer = pages_not_found(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    @app.exception_handler(RequestValidationError)
    async def _on_invalid_request(request: Request, error: RequestValidationError) -> Response:
        # A path that names nothing this server has is "not found", whatever its parameters' types (ui.edge_security
        # already answers ids and UIDs; this covers any other typed path parameter).
        if any(detail.get('loc', ('',))[0] == 'path' for detail in error.errors()):
            return JSONResponse({'detail': 'Not Found'}, status_code=404)
        return await request_validation_exception_handler(request, error)


def _on_handler_error(error: Exception) -> None:
    error_id = asgi.note_error(log, error, 'in screen %s', _screen_path())
    with suppress(Exception):
        ui.notify(_apology(error_id), type='negative')


def _error_page(error: Exception) -> None:
    error_id = asgi.note_error(log, error, 'while building page %s', _screen_path())
    with ui.column().classes('absolute-center items-center'):
        ui.icon('error_outline', size='xl', color='negative')
        ui.label(_apology(error_id)).classes('text-h6').mark('error-reference')
        ui.link(t('Back to your home screen'), '/')


def _apology(error_id: str) -> str:
    return t('Something went wrong; the administrator can find the details in the log') + f' ({error_id})'


def _screen_path() -> str:
    """The path of the screen being served (no query: it may name a patient); a move within a page (ui.sub_pages)
    changes it without a request."""
    with suppress(Exception):
        return context.client.sub_pages_router.current_path.split('?')[0]
    return '?'


def _without_nicegui_copy(record: logging.LogRecord) -> bool:
    """Drop NiceGUI's own copy of an error (its default handler logs the exception itself as the message)."""
    return not (record.exc_info and isinstance(record.msg, BaseException))
