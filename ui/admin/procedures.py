"""Procedures: the examinations reception can book (code, name, modality, usual duration)."""

from typing import Any

from nicegui import ui

from domain import procedures
from domain.access import Actor
from domain.errors import N_
from domain.modalities import MODALITY_CODES
from domain.models import Procedure

from ..i18n import t
from ..patients import submit_form
from ..shell import FAILED, current_actor, nav, perform, screen

HEADINGS = (N_('Code'), N_('Name'), N_('Modality'), N_('Minutes'), N_('Offered'))


def register() -> None:
    nav('/admin/procedures', 'Procedures', 'medical_services', order=85)

    @screen('/admin/procedures', title='Procedures')
    async def procedures_page() -> None:
        await ProceduresPage(current_actor()).build()


class ProceduresPage:
    """The form that adds a procedure, and every procedure editable in place."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.form: dict[str, Any] = {'code': '', 'name': '', 'modality': 'CT', 'duration': 20}
        self.inputs: dict[str, Any] = {}

    async def build(self) -> None:
        with ui.card().classes('w-full'):
            ui.label(t('Add a procedure')).classes('text-h6')
            with ui.row().classes('items-end gap-4'):
                self.new_procedure_fields()
                ui.button(t('Add'), on_click=self.add).mark('procedure-add')
        with ui.card().classes('w-full'):
            await self.rows()

    def new_procedure_fields(self) -> None:
        form = self.form
        self.inputs = {
            'code': ui.input(t('Code')).bind_value(form, 'code').mark('procedure-code'),
            'name': ui.input(t('Name')).bind_value(form, 'name').classes('w-72').mark('procedure-name'),
            'modality': ui.select(list(MODALITY_CODES), label=t('Modality'))
            .bind_value(form, 'modality')
            .classes('w-28')
            .mark('procedure-modality'),
            'duration_minutes': ui.number(t('Minutes'), min=1, max=600, format='%d')
            .bind_value(form, 'duration')
            .classes('w-28')
            .mark('procedure-minutes'),
        }

    @ui.refreshable_method
    async def rows(self) -> None:
        found = await perform(procedures.list_all, by=self.actor, active_only=False)
        if found is FAILED:
            return
        with ui.grid(columns='8rem 1fr 6rem 7rem 6rem').classes('w-full items-center gap-x-4 gap-y-1'):
            for heading in HEADINGS:
                ui.label(t(heading)).classes('text-caption text-grey-7')
            for procedure in found:
                self.row(procedure)

    def row(self, procedure: Procedure) -> None:
        key = procedure.id or 0
        ui.label(procedure.code).mark(f'procedure-{procedure.code}')
        ui.input(value=procedure.name, on_change=lambda e: self.change(key, name=e.value)).props('dense debounce=800')
        ui.label(procedure.modality)
        ui.number(
            value=procedure.duration_minutes,
            min=1,
            max=600,
            format='%d',
            on_change=lambda e: self.change(key, duration_minutes=int(e.value or 0)),
        ).props('dense debounce=800')
        ui.switch(value=procedure.active, on_change=lambda e: self.change(key, active=e.value)).mark(
            f'active-{procedure.code}'
        )

    async def change(self, procedure_id: int, **values: Any) -> None:
        await perform(procedures.update, procedure_id, by=self.actor, **values, success=t('Saved'))

    async def add(self) -> None:
        form, actor = self.form, self.actor
        made = await submit_form(
            lambda: procedures.create(
                form['code'], form['name'], form['modality'], int(form['duration'] or 0), by=actor
            ),
            self.inputs,
        )
        if made is FAILED:
            return
        ui.notify(t('Procedure added'), type='positive')
        form.update(code='', name='')
        await self.rows.refresh()
