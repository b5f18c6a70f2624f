"""Under an administrator's statement: the month's finalised studies that had no price, and credit notes."""

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from domain import billing, credit_notes
from domain.access import Actor
from domain.credit_notes import CreditForm
from domain.statements import Statement

from ..i18n import t
from ..patients import submit_form
from ..shell import FAILED, perform


class StatementExtras:
    """Unbilled studies (with Bill now) and the Credit note button, drawn below the statement's lines."""

    def __init__(self, actor: Actor, centre_id: int) -> None:
        self.actor, self.centre_id = actor, centre_id
        self.on_change: Callable[[], Awaitable[None] | None] | None = None

    def draw(self, shown: Statement) -> None:
        if shown.unpriced:
            ui.label(t('Finalised without a price (not billed)')).classes('text-subtitle2 text-orange-9')
            for study in shown.unpriced:
                with ui.row().classes('items-center gap-4').mark('no-price'):
                    ui.label(study.finalised_on.isoformat())
                    ui.label(study.short_id).classes('font-mono')
                    ui.label(f'{study.modalities} · {study.description}')
                    ui.badge(t('no price'), color='orange')
                    ui.button(t('Bill now'), on_click=lambda s=study.study_id: self.bill(s)).props('flat dense').mark(
                        f'bill-now-{study.study_id}'
                    )
        ui.button(
            t('Credit note'), icon='remove_circle_outline', on_click=lambda: CreditDialog(self, shown).open()
        ).props('outline').mark('credit-note')

    async def bill(self, study_id: int) -> None:
        if await perform(billing.bill_unpriced, study_id, by=self.actor, success=t('Study billed')) is not FAILED:
            await self.changed()

    async def changed(self) -> None:
        if self.on_change is not None:
            result = self.on_change()
            if result is not None:
                await result


class CreditDialog:
    """Amount, reason, optionally the charge it corrects; then a confirmation before it is issued."""

    def __init__(self, extras: StatementExtras, shown: Statement) -> None:
        self.extras, self.shown = extras, shown
        self.form = CreditForm(centre_id=extras.centre_id, month=shown.month, currency=shown.centre.currency)
        self.inputs: dict[str, Any] = {}

    def open(self) -> None:
        charges: dict[int | None, str] = {None: t('The month as a whole')}
        charges.update(
            {
                line.charge_id: f'{line.reference} · {self.shown.shown(line.amount, line.currency)} {line.currency}'
                for line in self.shown.lines
                if line.kind == 'charge' and line.charge_id is not None
            }
        )
        form = self.form
        with ui.dialog() as self.dialog, ui.card().classes('w-96'):
            ui.label(t('Credit note for {month}', month=self.shown.month)).classes('text-h6')
            self.inputs = {
                'charge': ui.select(charges, label=t('Corrects')).bind_value(form, 'charge_id').classes('w-full'),
                'currency': ui.input(t('Currency')).bind_value(form, 'currency').mark('credit-currency'),
                'amount': ui.input(t('Amount')).bind_value(form, 'amount').mark('credit-amount'),
                'reason': ui.textarea(t('Reason')).bind_value(form, 'reason').classes('w-full').mark('credit-reason'),
            }
            ui.label(t('A credit note cannot be taken back; a new charge corrects it')).classes(
                'text-caption text-grey-7'
            )
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=self.dialog.close).props('flat')
                ui.button(t('Issue credit note'), on_click=self.issue).props('color=negative').mark('credit-issue')
        self.dialog.open()

    async def issue(self) -> None:
        note = await submit_form(lambda: credit_notes.issue(self.form, by=self.extras.actor), self.inputs)
        if note is FAILED:
            return  # the dialog stays open with what was typed
        ui.notify(t('Credit note issued'), type='positive')
        self.dialog.close()
        await self.extras.changed()
