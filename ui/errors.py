"""Unexpected errors: logged once with their traceback, shown to staff as a plain notice, never as a trace."""

import logging
from contextlib import suppress

from fastapi import Request
from fastapi.responses import JSONResponse
from nicegui import app, ui

from . import asgi
from .i18n import t

log = logging.getLogger(__name__)


def register() -> None:
    """Install the handlers for event handlers, pages and HTTP routes."""
    app.on_exception(_on_handler_error)
    app.on_page_exception(_error_page)

    @app.exception_handler(Exception)
    async def _on_route_error(request: Request, error: Exception) -> JSONResponse:
        # Routes' errors are answered by ui.asgi.ClientEdge; this sees only faults in the middleware around it.
        error_id = asgi.new_error_id()
        log.error('error %s in route %s %s', error_id, request.method, asgi.route_of(request.scope), exc_info=error)
        return asgi.error_response(error_id)


def _on_handler_error(error: Exception) -> None:
    log.error('unhandled error in a screen', exc_info=error)
    with suppress(Exception):
        ui.notify(t('Something went wrong; the administrator can find the details in the log'), type='negative')


def _error_page(error: Exception) -> None:
    log.error('unhandled error while building a page', exc_info=error)
    with ui.column().classes('absolute-center items-center'):
        ui.icon('error_outline', size='xl', color='negative')
        ui.label(t('Something went wrong; the administrator can find the details in the log')).classes('text-h6')
        ui.link(t('Back to your home screen'), '/')
