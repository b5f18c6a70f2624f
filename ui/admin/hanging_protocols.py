"""Shared hanging protocols: how each kind of study opens in every radiologist's viewer (domain.hanging_protocols).

The list offers each protocol on or off, and deletes it; the form edits the rule (name, modality, pattern, priors,
rank) and the stages (ui/admin/hanging_stages.py), checked on save: a refusal says which stage, viewport and field
is wrong, and the form keeps what was typed.
"""

from typing import Any

from nicegui import ui

from domain import hanging_layout, hanging_protocols
from domain.access import Actor
from domain.errors import N_
from domain.hanging_layout import Protocol, ProtocolInput, Stage

from ..i18n import t
from ..patients import submit_form
from ..shell import FAILED, current_actor, nav, perform, screen
from .hanging_stages import StagesEditor

HEADINGS = (N_('Name'), N_('Modality'), N_('Pattern'), N_('Priors'), N_('Stages'), N_('Offered'), '')


def register() -> None:
    nav('/admin/hanging-protocols', 'Hanging protocols', 'view_quilt', order=86)

    @screen('/admin/hanging-protocols', title='Hanging protocols')
    async def hanging_protocols_page() -> None:
        await HangingProtocolsPage(current_actor()).build()


class HangingProtocolsPage:
    """The shared protocols and the form that adds or edits one."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.editing: int | None = None  # the protocol in the form (None: a new one)
        self.form: dict[str, Any] = {}
        self.stages = StagesEditor([])

    async def build(self) -> None:
        with ui.row().classes('items-center w-full'):
            ui.button(t('Add a protocol'), icon='add', on_click=lambda: self.edit(None)).mark('protocol-add')
            ui.space()
            ui.label(t('Each radiologist may also save their own from the viewer; theirs come first')).classes(
                'text-grey-7'
            )
        with ui.card().classes('w-full'):
            await self.rows()
        self.editor = ui.card().classes('w-full').mark('protocol-editor')
        self.editor.set_visibility(False)

    @ui.refreshable_method
    async def rows(self) -> None:
        found = await perform(hanging_protocols.shared, by=self.actor)
        if found is FAILED:
            return
        if not found:
            ui.label(t('No shared protocol: studies open with their first series')).classes('text-grey-7')
            return
        with ui.grid(columns='1fr 6rem 10rem 4rem 4rem 5rem auto').classes('w-full items-center gap-x-4 gap-y-1'):
            for heading in HEADINGS:
                ui.label(t(heading) if heading else '').classes('text-caption text-grey-7')
            for protocol in found:
                self.row(protocol)

    def row(self, protocol: Protocol) -> None:
        name = t(protocol.name)  # a shipped name in the reader's language; one the admin typed as typed
        ui.button(name, on_click=lambda p=protocol: self.edit(p)).props('flat dense no-caps align=left').mark(
            f'protocol-{protocol.id}'
        )
        for text in (protocol.modality, protocol.pattern):
            ui.label(text or t('any')).classes('' if text else 'text-grey-7')
        ui.label(str(protocol.priors))
        ui.label(str(len(protocol.stages)))
        ui.switch(value=protocol.active, on_change=lambda e, p=protocol: self.set_active(p.id, e.value)).mark(
            f'protocol-active-{protocol.id}'
        )
        ui.button(icon='delete', on_click=lambda p=protocol: self.delete(p)).props('flat dense').mark(
            f'protocol-delete-{protocol.id}'
        )

    # ------------------------------------------------------------ the form

    def edit(self, protocol: Protocol | None) -> None:
        data = protocol.as_input() if protocol else ProtocolInput()
        self.editing = protocol.id if protocol else None
        self.form = {
            'name': data.name,
            'modality': data.modality,
            'pattern': data.pattern,
            'priors': data.priors,
            'rank': data.rank,
        }
        self.stages = StagesEditor(list(data.stages))
        self.editor.clear()
        self.editor.set_visibility(True)
        with self.editor:
            ui.label(t('Edit {name}', name=data.name) if protocol else t('New protocol')).classes('text-h6')
            self.fields()
            with ui.row():
                ui.button(t('Save'), on_click=self.save).mark('protocol-submit')
                ui.button(t('Cancel'), on_click=lambda: self.editor.set_visibility(False)).props('flat')

    def fields(self) -> None:
        form = self.form
        with ui.row().classes('items-start gap-4 w-full'):
            self.inputs = {
                'name': ui.input(t('Name')).bind_value(form, 'name').classes('w-72').mark('protocol-name'),
                'modality': ui.input(t('Modality'))
                .bind_value(form, 'modality')
                .classes('w-28')
                .tooltip(t('CT, or several joined by | (CR|DX); empty: any'))
                .mark('protocol-modality'),
                'pattern': ui.input(t('Body part or description words'))
                .bind_value(form, 'pattern')
                .classes('w-72')
                .tooltip(t('Words that must all occur; alternatives separated by |'))
                .mark('protocol-pattern'),
                'priors': ui.number(t('Priors'), min=0, max=hanging_layout.MAX_PRIORS, format='%d')
                .bind_value(form, 'priors')
                .classes('w-24')
                .mark('protocol-priors'),
                'rank': ui.number(t('Rank'), format='%d')
                .bind_value(form, 'rank')
                .classes('w-24')
                .tooltip(t('The lower first among protocols that fit a study equally well'))
                .mark('protocol-rank'),
            }
        ui.label(t('Stages')).classes('text-subtitle1 q-mt-sm')
        ui.label(t('The viewer opens the first stage; [ and ] step through them')).classes('text-caption text-grey-7')
        self.stages.show()

    async def save(self) -> None:
        form, actor, editing = self.form, self.actor, self.editing

        def store() -> Protocol:
            stages: list[Stage] = hanging_layout.parse_stages(self.stages.stages())
            data = ProtocolInput(
                name=form['name'] or '',
                modality=form['modality'] or '',
                pattern=form['pattern'] or '',
                priors=int(form['priors'] or 0),
                rank=int(form['rank'] or 0),
                stages=stages,
            )
            if editing is None:
                return hanging_protocols.create(data, shared=True, by=actor)
            active = hanging_protocols.get(editing, by=actor).active
            return hanging_protocols.update(editing, data.model_copy(update={'active': active}), by=actor)

        saved = await submit_form(store, self.inputs)
        if saved is FAILED:
            return
        ui.notify(t('Protocol saved'), type='positive')
        self.editor.set_visibility(False)
        self.rows.refresh()

    async def set_active(self, protocol_id: int, active: bool) -> None:
        await perform(hanging_protocols.set_active, protocol_id, active, by=self.actor, success=t('Saved'))

    async def delete(self, protocol: Protocol) -> None:
        done = await perform(hanging_protocols.delete, protocol.id, by=self.actor, success=t('Protocol deleted'))
        if done is not FAILED:
            if self.editing == protocol.id:
                self.editor.set_visibility(False)
            self.rows.refresh()
