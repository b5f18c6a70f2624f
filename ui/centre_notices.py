"""A notice on every screen of a diagnostic centre's staff when the reading group finalises one of their reports,
with a link to it (issue 18: the finalised report goes back to the centre). Only staff limited to centres subscribe:
a report is looked up once per open screen of theirs, and never for the reading group's own staff."""

import asyncio
import logging
from html import escape

from nicegui import ui

from domain import centre_notices, events
from domain.access import Actor
from domain.errors import DomainError

from . import live, threads
from .i18n import t

log = logging.getLogger(__name__)


def watch(actor: Actor) -> None:
    """Subscribe this screen to finalised reports of the actor's centre (staff of no centre: nothing)."""
    if actor.centres is None:
        return

    async def told(event: events.ReportFinalised) -> None:
        try:
            notice = await threads.io(centre_notices.finalised, event.report_id, by=actor)
        except (DomainError, asyncio.CancelledError):  # session over, browser gone: nothing to tell
            return
        if notice is None:
            return
        text = t('Report ready: study {short} ({description})', short=notice.short_id, description=notice.description)
        ui.notify(
            f'<a href="/reports/{notice.report_id}" class="text-white">{escape(text)}</a>',
            html=True,
            type='info',
            close_button=t('Close'),
            timeout=0,
        )

    live.on(events.ReportFinalised).subscribe(told)
