"""Billing administration: a centre's price list, its monthly statement with credit notes and unbilled studies, the
currencies and exchange rates, and every centre's month consolidated in one base currency."""

from typing import Any

from nicegui import ui

from domain import billing, currencies, procedures
from domain.access import Actor
from domain.billing import PriceForm, PriceRow
from domain.errors import N_
from domain.modalities import MODALITY_CODES

from ..billing import StatementCard
from ..i18n import t
from ..patients import submit_form
from ..shell import FAILED, current_actor, nav, perform, screen
from .billing_credits import StatementExtras
from .billing_money import ConsolidatedPanel, CurrencyPanel

HEADINGS = (N_('Procedure'), N_('Modality'), N_('Amount'), N_('From'), N_('Until'), '')


def register() -> None:
    nav('/admin/billing', 'Prices and statements', 'request_quote', order=87)

    @screen('/admin/billing', title='Prices and statements')
    async def billing_admin_page() -> None:
        await BillingPage(current_actor()).build()


class BillingPage:
    """Pick a centre; its prices and statement follow. Currencies, rates and the consolidated view are for all."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.centre_id = 0
        self.names: dict[int, str] = {}
        self.currency: dict[int, str] = {}

    async def build(self) -> None:
        found = await perform(billing.centres_for, by=self.actor)
        if found is FAILED or not found:
            return
        self.names = {c.id or 0: f'{c.name} ({c.currency})' for c in found}
        self.currency = {c.id or 0: c.currency for c in found}
        self.centre_id = next(iter(self.names))
        ui.select(self.names, value=self.centre_id, label=t('Centre'), on_change=self.choose).classes('w-80').mark(
            'billing-centre'
        )
        await self.centre()
        await CurrencyPanel(self.actor, on_change=self.centre.refresh).build()
        await ConsolidatedPanel(self.actor).build()

    async def choose(self, event: Any) -> None:
        self.centre_id = int(event.value)
        await self.centre.refresh()

    @ui.refreshable_method
    async def centre(self) -> None:
        await PricePanel(self.actor, self.centre_id, self.currency[self.centre_id]).build()
        extras = StatementExtras(self.actor, self.centre_id)
        card = StatementCard(self.actor, self.centre_id, self.names[self.centre_id], extra=extras.draw)
        extras.on_change = card.lines.refresh
        await card.build()


class PricePanel:
    """The form that adds a price, and the centre's prices with their amount editable and an End button."""

    def __init__(self, actor: Actor, centre_id: int, currency: str) -> None:
        self.actor, self.centre_id = actor, centre_id
        self.form = PriceForm(centre_id=centre_id, modality='CT', currency=currency)
        self.inputs: dict[str, Any] = {}

    async def build(self) -> None:
        offered = await perform(procedures.list_all, by=self.actor)
        codes = await perform(currencies.list_all, by=self.actor)
        if offered is FAILED or codes is FAILED:
            return
        with ui.card().classes('w-full'):
            ui.label(t('Price list')).classes('text-h6')
            ui.label(
                t('A procedure’s price comes first, else its modality’s; only the centre’s currency is used')
            ).classes('text-caption text-grey-7')
            with ui.row().classes('items-end gap-4'):
                self.fields(offered, [c.code for c in codes])
                ui.button(t('Add price'), on_click=self.add).mark('price-add')
            await self.rows()

    def fields(self, offered: list[Any], codes: list[str]) -> None:
        form = self.form
        choices = {None: t('Any study of the modality'), **{p.id: f'{p.code} · {p.name}' for p in offered}}
        self.inputs = {
            'procedure': ui.select(choices, label=t('Procedure'))
            .bind_value(form, 'procedure_id')
            .classes('w-64')
            .mark('price-procedure'),
            'modality': ui.select(list(MODALITY_CODES), label=t('Modality'))
            .bind_value(form, 'modality')
            .classes('w-28')
            .mark('price-modality'),
            'currency': ui.select(codes, label=t('Currency'))
            .bind_value(form, 'currency')
            .classes('w-28')
            .mark('price-currency'),
            'amount': ui.input(t('Amount')).bind_value(form, 'amount').classes('w-32').mark('price-amount'),
            'valid_from': ui.input(t('From (YYYY-MM-DD)'), placeholder=t('today'))
            .bind_value(form, 'valid_from')
            .classes('w-40')
            .mark('price-from'),
        }

    @ui.refreshable_method
    async def rows(self) -> None:
        found = await perform(billing.prices, self.centre_id, by=self.actor)
        if found is FAILED:
            return
        if not found:
            ui.label(t('No price yet: studies of this centre are not billed')).classes('text-grey-7').mark('no-prices')
            return
        with ui.grid(columns='1fr 6rem 10rem 7rem 7rem auto').classes('w-full items-center gap-x-4 gap-y-1'):
            for heading in HEADINGS:
                ui.label(t(heading) if heading else '').classes('text-caption text-grey-7')
            for row in found:
                self.row(row)

    def row(self, row: PriceRow) -> None:
        muted = '' if row.current else ' text-grey-6'
        ui.label(row.procedure or t('any')).classes(muted).mark(f'price-{row.id}')
        ui.label(row.modality).classes(muted)
        with ui.row().classes('items-center no-wrap gap-1'):
            ui.input(value=str(row.amount), on_change=lambda e: self.change(row.id, e.value)).props(
                'dense debounce=1000'
            ).classes('w-24').mark(f'price-amount-{row.id}')
            ui.label(row.currency)
        ui.label(row.valid_from.isoformat()).classes(muted)
        ui.label(row.valid_until.isoformat() if row.valid_until else '—').classes(muted)
        if row.valid_until is None:
            ui.button(t('End'), on_click=lambda: self.end(row.id)).props('flat dense').mark(f'price-end-{row.id}')
        else:
            ui.label('')

    async def add(self) -> None:
        form = self.form
        made = await submit_form(lambda: billing.add_price(form, by=self.actor), self.inputs)
        if made is FAILED:
            return  # the form keeps what was typed; the fields at fault are marked
        ui.notify(t('Price added'), type='positive')
        form.amount, form.valid_from = '', ''
        await self.rows.refresh()

    async def change(self, price_id: int, amount: str) -> None:
        await perform(billing.change_price, price_id, amount, by=self.actor, success=t('Saved'))

    async def end(self, price_id: int) -> None:
        if await perform(billing.end_price, price_id, by=self.actor, success=t('Price ended')) is not FAILED:
            await self.rows.refresh()
