"""Billing for a centre: its amounts due and its monthly statements, with their PDF and CSV downloads.

A centre's staff see their own centre only (domain.billing checks the caller's centres); an administrator sees every
centre here and manages prices, rates and credit notes on /admin/billing.
"""

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.responses import Response
from nicegui import app, ui

from domain import billing, statements
from domain.access import Actor
from domain.errors import DomainError, InvalidInput, NotAllowed, NotFound
from domain.statements import Statement

from .guard import route_guard
from .i18n import error_text, t
from .shell import FAILED, current_actor, fetch, nav, perform, screen

log = logging.getLogger(__name__)

PDF_PATH = '/billing/statements/{centre_id}/{month}.pdf'
CSV_PATH = '/billing/statements/{centre_id}/{month}.csv'
STATUS = {NotFound: 404, NotAllowed: 403, InvalidInput: 400}


def register() -> None:
    nav('/billing', 'Billing', 'receipt_long', order=60)

    @screen('/billing', title='Billing')
    async def billing_page() -> None:
        await CentreBilling(current_actor()).build()

    register_downloads()


def amounts_text(amounts: dict[str, Decimal]) -> str:
    """Amounts per currency as one line ('1250.00 INR · 80.25 USD'), or a dash."""
    return ' · '.join(f'{amount} {code}' for code, amount in amounts.items()) or '—'


def download_url(centre_id: int, month: str, kind: str) -> str:
    return f'/billing/statements/{centre_id}/{month}.{kind}'


class CentreBilling:
    """Amounts due, then each visible centre's statement of a chosen month."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        due = await perform(billing.amounts_due, self.actor)
        if due is FAILED:
            return
        with ui.card().classes('w-full'):
            ui.label(t('Amounts due')).classes('text-subtitle1 text-weight-medium')
            ui.label(amounts_text(due)).classes('text-h6').mark('amounts-due')
            ui.label(t('Everything billed so far, less credit notes')).classes('text-caption text-grey-7')
        found = await perform(billing.centres_for, by=self.actor)
        if found is FAILED:
            return
        for centre in found:
            await StatementCard(self.actor, centre.id or 0, centre.name).build()


class StatementCard:
    """One centre's statement for a month chosen from those it has lines in; `extra` draws more under each line."""

    def __init__(self, actor: Actor, centre_id: int, name: str, extra: Callable[[Statement], None] | None = None):
        self.actor, self.centre_id, self.name, self.extra = actor, centre_id, name, extra
        self.month = statements.current_month()

    async def build(self) -> None:
        months = await perform(statements.months, self.centre_id, by=self.actor)
        if months is FAILED:
            return
        with ui.card().classes('w-full').mark(f'statement-card-{self.centre_id}'):
            with ui.row().classes('items-center gap-4 w-full'):
                ui.label(t('Statement of {centre}', centre=self.name)).classes('text-subtitle1 text-weight-medium')
                ui.select(months, value=self.month, label=t('Month'), on_change=self.choose).classes('w-32').mark(
                    f'statement-month-{self.centre_id}'
                )
                ui.space()
                self.downloads()
            await self.lines()

    @ui.refreshable_method
    def downloads(self) -> None:
        for kind, icon in (('pdf', 'picture_as_pdf'), ('csv', 'table_view')):
            url = download_url(self.centre_id, self.month, kind)
            ui.button(kind.upper(), icon=icon, on_click=lambda u=url: ui.navigate.to(u, new_tab=True)).props(
                'flat dense'
            ).mark(f'statement-{kind}-{self.centre_id}')

    async def choose(self, event: object) -> None:
        self.month = str(getattr(event, 'value', '') or self.month)
        self.downloads.refresh()
        await self.lines.refresh()

    @ui.refreshable_method
    async def lines(self) -> None:
        shown = await perform(statements.statement, self.centre_id, self.month, by=self.actor)
        if shown is FAILED:
            return
        statement_table(shown)
        if self.extra is not None:
            self.extra(shown)


def statement_table(shown: Statement) -> None:
    """A statement's lines (credit notes negative, in red) and its totals per currency."""
    if not shown.lines:
        ui.label(t('Nothing was billed this month')).classes('text-grey-7').mark('statement-empty')
    else:
        with ui.grid(columns='7rem 9rem 5rem 1fr 9rem').classes('w-full gap-x-4 gap-y-1 items-center'):
            for heading in (t('Date'), t('Study ID'), t('Modality'), t('Examination'), t('Amount')):
                ui.label(heading).classes('text-caption text-grey-7')
            for line in shown.lines:
                credit = line.kind == 'credit'
                colour = ' text-negative' if credit else ''
                ui.label(line.day.isoformat())
                ui.label(line.reference).classes('font-mono' + colour).mark('statement-line')
                ui.label(line.modality)
                ui.label(f'{t("Credit note")}: {line.description}' if credit else line.description).classes(colour)
                ui.label(f'{shown.shown(line.amount, line.currency)} {line.currency}').classes('text-right' + colour)
    totals = {code: Decimal(shown.shown(amount, code)) for code, amount in shown.totals.items()}
    ui.label(t('Total: {amounts}', amounts=amounts_text(totals))).classes('text-weight-medium').mark('statement-total')


def register_downloads() -> None:
    """The statement of a centre and month as PDF or CSV, for the centre's own staff and administrators."""
    pdf_guard, csv_guard = route_guard(PDF_PATH), route_guard(CSV_PATH)

    @app.get(PDF_PATH, include_in_schema=False)
    async def statement_pdf(centre_id: int, month: str, actor: Annotated[Actor, Depends(pdf_guard)]) -> Response:
        shown = await _exported(centre_id, month, 'pdf', actor)
        data = await fetch(_render_pdf, shown, actor.language or 'en')
        disposition = f'inline; filename="statement-{centre_id}-{shown.month}.pdf"'  # digits and a dash only
        return Response(data, media_type='application/pdf', headers=_headers(disposition))

    @app.get(CSV_PATH, include_in_schema=False)
    async def statement_csv(centre_id: int, month: str, actor: Annotated[Actor, Depends(csv_guard)]) -> Response:
        shown = await _exported(centre_id, month, 'csv', actor)
        disposition = f'attachment; filename="statement-{centre_id}-{shown.month}.csv"'
        return Response(statements.as_csv(shown), media_type='text/csv; charset=utf-8', headers=_headers(disposition))


async def _exported(centre_id: int, month: str, kind: str, actor: Actor) -> Statement:
    try:
        return await fetch(statements.export, centre_id, month, kind, by=actor)
    except DomainError as error:
        status = next((code for kind_, code in STATUS.items() if isinstance(error, kind_)), 409)
        raise HTTPException(status_code=status, detail=error_text(error, actor.language or None)) from None


def _render_pdf(shown: Statement, language: str) -> bytes:
    from reports import statements as statement_pdf  # WeasyPrint loads with the first statement

    return statement_pdf.render_pdf(shown, language)


def _headers(disposition: str) -> dict[str, str]:
    return {'Content-Disposition': disposition, 'Cache-Control': 'no-store'}
