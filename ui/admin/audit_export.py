"""Export CSV: the audit page's filtered events as a download, streamed by an administrators' route.

The page asks the route with its filters in the query string (ui.download.from_url); the route checks the role
(domain.access.ROUTES), domain.audit_export checks the permission, audits the export and writes the CSV in batches.
"""

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from nicegui import app

from domain import audit_export, audit_filters
from domain.access import Actor
from domain.audit_filters import AuditFilter
from domain.errors import DomainError, InvalidInput, NotAllowed, NotFound

from ..guard import route_guard
from ..i18n import error_text
from ..shell import fetch

log = logging.getLogger(__name__)

EXPORT_PATH = '/admin/audit/export.csv'
STATUS = {NotFound: 404, NotAllowed: 403, InvalidInput: 400}
FIELDS = ('since', 'until', 'username', 'patient', 'action', 'outcome', 'object_id')


def register() -> None:
    """The route that streams the filtered audit trail as CSV (administrators only)."""
    export_guard = route_guard(EXPORT_PATH)

    @app.get(EXPORT_PATH, include_in_schema=False)
    async def audit_csv(request: Request, actor: Annotated[Actor, Depends(export_guard)]) -> StreamingResponse:
        language = actor.language or None
        try:
            filters = audit_filters.as_filter({name: request.query_params.get(name, '') for name in FIELDS})
            exported = await fetch(audit_export.prepare, filters, by=actor)
        except DomainError as error:
            status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 409)
            raise HTTPException(status_code=status, detail=error_text(error, language)) from None
        return StreamingResponse(
            exported.chunks,  # a plain iterator: Starlette reads each batch in a worker thread
            media_type='text/csv; charset=utf-8',
            headers={
                'Content-Disposition': f'attachment; filename="{exported.filename}"',  # digits and dashes only
                'Cache-Control': 'no-store',
                'X-Audit-Rows': str(exported.rows),
            },
        )


def url(filters: AuditFilter) -> str:
    """The route's address for these filters (only what was asked)."""
    return f'{EXPORT_PATH}?{urlencode(filters.described())}'
