"""NiceGUI screens, one module per screen; `register_pages()` registers them all (nothing at import)."""

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from nicegui import app

from . import account, admin, home, login

log = logging.getLogger(__name__)


def register_pages() -> None:
    """Register every screen and the app-wide error handling."""
    login.register()
    home.register()
    account.register()
    admin.register()

    @app.exception_handler(500)
    async def _server_error(_request: Request, error: Exception) -> JSONResponse:
        log.error('unhandled error: %s', type(error).__name__, exc_info=error)
        return JSONResponse({'detail': 'Internal error'}, status_code=500)
