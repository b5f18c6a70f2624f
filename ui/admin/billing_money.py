"""Currencies and exchange rates (with the day each rate applies from), and every centre's month in one currency."""

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from domain import clock, currencies, statements
from domain.access import Actor
from domain.errors import InvalidInput

from ..i18n import t
from ..patients import parse_date, submit_form
from ..shell import FAILED, perform


class CurrencyPanel:
    """The currencies prices may be in (add an ISO 4217 code), and the exchange rates entered with their date."""

    def __init__(self, actor: Actor, on_change: Callable[[], Awaitable[None] | None]) -> None:
        self.actor, self.on_change = actor, on_change
        self.code = {'value': ''}
        self.rate: dict[str, Any] = {
            'currency': 'INR',
            'base': 'USD',
            'rate': '',
            'valid_on': clock.now().date().isoformat(),
        }
        self.codes: list[str] = []
        self.inputs: dict[str, Any] = {}

    async def build(self) -> None:
        with ui.card().classes('w-full'):
            ui.label(t('Currencies and exchange rates')).classes('text-h6')
            await self.listed()
            with ui.row().classes('items-end gap-4'):
                code = (
                    ui.input(t('ISO 4217 code'), placeholder='EUR').bind_value(self.code, 'value').mark('currency-code')
                )
                ui.button(t('Add currency'), on_click=lambda: self.add(code)).mark('currency-add')
            ui.separator()
            await self.rates()

    @ui.refreshable_method
    async def listed(self) -> None:
        found = await perform(currencies.list_all, by=self.actor)
        if found is FAILED:
            return
        self.codes = [c.code for c in found]
        ui.label(' · '.join(f'{c.code} ({c.minor_units})' for c in found)).mark('currencies')

    async def add(self, field: Any) -> None:
        made = await submit_form(lambda: currencies.add(self.code['value'], by=self.actor), {'code': field})
        if made is FAILED:
            return
        ui.notify(t('Currency added'), type='positive')
        self.code['value'] = ''
        await self.listed.refresh()
        await self.rates.refresh()
        result = self.on_change()
        if result is not None:
            await result

    @ui.refreshable_method
    async def rates(self) -> None:
        form = self.rate
        with ui.row().classes('items-end gap-4'):
            self.inputs = {
                'currency': ui.select(self.codes, label=t('One unit of')).bind_value(form, 'currency').classes('w-28'),
                'rate': ui.input(t('is worth')).bind_value(form, 'rate').classes('w-36').mark('rate-value'),
                'base': ui.select(self.codes, label=t('of')).bind_value(form, 'base').classes('w-28'),
                'valid_on': ui.input(t('from (YYYY-MM-DD)')).bind_value(form, 'valid_on').classes('w-40'),
            }
            ui.button(t('Save rate'), on_click=self.save_rate).mark('rate-save')
        found = await perform(currencies.rates, by=self.actor)
        if found is FAILED:
            return
        for row in found[:50]:
            ui.label(
                t(
                    'From {day}: 1 {currency} = {rate} {base} ({who})',
                    day=row.valid_on.isoformat(),
                    currency=row.currency,
                    rate=str(row.rate.normalize()),
                    base=row.base,
                    who=row.entered_by,
                )
            ).classes('text-caption').mark('rate-row')

    async def save_rate(self) -> None:
        form = self.rate
        day = parse_date(form['valid_on'])

        def save() -> object:
            if day is None:
                raise InvalidInput('Enter the date as YYYY-MM-DD', {'valid_on': 'Not a date'})
            return currencies.add_rate(form['currency'], form['base'], form['rate'], day, by=self.actor)

        if await submit_form(save, self.inputs) is FAILED:
            return
        ui.notify(t('Rate saved'), type='positive')
        form['rate'] = ''
        await self.rates.refresh()


class ConsolidatedPanel:
    """Every centre's totals for a month converted into a base currency at the rates of the statement's date."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.choice = {'month': statements.current_month(), 'base': 'USD'}

    async def build(self) -> None:
        with ui.card().classes('w-full'):
            ui.label(t('Consolidated')).classes('text-h6')
            with ui.row().classes('items-end gap-4'):
                ui.input(t('Month (YYYY-MM)')).bind_value(self.choice, 'month').classes('w-32').mark(
                    'consolidated-month'
                )
                ui.input(t('Base currency')).bind_value(self.choice, 'base').classes('w-28').mark('consolidated-base')
                ui.button(t('Show'), on_click=self.table.refresh).mark('consolidated-show')
            await self.table()

    @ui.refreshable_method
    async def table(self) -> None:
        month, base = self.choice['month'].strip(), self.choice['base'].strip().upper()
        whole = await perform(statements.consolidated, month, base, by=self.actor)
        if whole is FAILED:
            return
        ui.label(t('Rates valid on {day}', day=whole.on.isoformat())).classes('text-caption text-grey-7')
        with ui.grid(columns='1fr 10rem 8rem 10rem').classes('w-full gap-x-4 gap-y-1'):
            for heading in (t('Centre'), t('Total'), t('Rate'), t('In {base}', base=whole.base)):
                ui.label(heading).classes('text-caption text-grey-7')
            for row in whole.rows:
                ui.label(row.centre)
                ui.label(f'{row.total} {row.currency}')
                ui.label(str(row.rate.normalize()) if row.rate is not None else t('no rate'))
                ui.label(f'{row.converted} {whole.base}' if row.converted is not None else '—')
        ui.label(t('Total: {amounts}', amounts=f'{whole.total} {whole.base}')).classes('text-weight-medium').mark(
            'consolidated-total'
        )
        if whole.missing:
            ui.label(
                t(
                    'No rate into {base} for {codes}: left out of the total',
                    base=whole.base,
                    codes=', '.join(whole.missing),
                )
            ).classes('text-negative').mark('consolidated-missing')
