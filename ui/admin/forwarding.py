"""Forwarding rules: studies matching a modality, calling AE title and description are sent on to an entered
modality once ready (auto-routing); add, edit, disable and delete rules."""

from nicegui import ui

from domain import forwarding
from domain.access import Actor
from domain.errors import N_
from domain.forwarding import ForwardingRuleCreate, RuleRow
from domain.modalities import MODALITY_CODES

from ..i18n import t
from ..shell import FAILED, current_actor, nav, perform, screen

HEADINGS = (N_('Name'), N_('Modality'), N_('Calling AE title'), N_('Description'), N_('Destination'), N_('State'), '')


def register() -> None:
    nav('/admin/forwarding', 'Forwarding rules', 'alt_route', order=84)

    @screen('/admin/forwarding', title='Forwarding rules')
    async def forwarding_page() -> None:
        await ForwardingPage(current_actor()).build()


class ForwardingPage:
    """The rules with their state, and the dialog that adds or edits one."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        with ui.row().classes('items-center w-full'):
            ui.button(t('Add a rule'), icon='add', on_click=lambda: self.edit(None)).mark('add-rule')
            ui.space()
            ui.label(t('A ready study matching a rule is sent to its destination; failures show under Jobs')).classes(
                'text-grey-7'
            )
        with ui.card().classes('w-full'):
            await self.rows()

    @ui.refreshable_method
    async def rows(self) -> None:
        rules = await perform(forwarding.list_rules, by=self.actor)
        if rules is FAILED:
            return
        if not rules:
            ui.label(t('No forwarding rule yet: studies stay here only')).classes('text-grey-7').mark('no-rules')
            return
        with ui.grid(columns='1fr 6rem 9rem 1fr 9rem 6rem auto').classes('w-full items-center gap-x-4 gap-y-1'):
            for heading in HEADINGS:
                ui.label(t(heading)).classes('text-caption text-grey-7')
            for rule in rules:
                self.row(rule)

    def row(self, rule: RuleRow) -> None:
        ui.label(rule.name).mark(f'rule-{rule.id}')
        for text in (rule.modality, rule.calling_ae, rule.description):
            ui.label(text or t('any')).classes('' if text else 'text-grey-7')
        ui.label(rule.destination_ae).classes('font-mono')
        active = rule.active
        ui.label(t('active') if active else t('disabled')).classes('text-positive' if active else 'text-grey')
        with ui.row().classes('gap-1'):
            ui.button(icon='edit', on_click=lambda: self.edit(rule)).props('flat dense').tooltip(t('Edit')).mark(
                f'edit-rule-{rule.id}'
            )
            ui.button(
                icon='block' if active else 'check_circle', on_click=lambda: self.toggle(rule.id, not active)
            ).props('flat dense').tooltip(t('Disable') if active else t('Enable')).mark(f'toggle-rule-{rule.id}')
            ui.button(icon='delete', on_click=lambda: self.confirm_delete(rule)).props('flat dense').tooltip(
                t('Delete')
            ).mark(f'delete-rule-{rule.id}')

    async def toggle(self, rule_id: int, active: bool) -> None:
        success = t('Enabled') if active else t('Disabled')
        await perform(forwarding.set_active, rule_id, active, by=self.actor, success=success)
        await self.rows.refresh()

    def confirm_delete(self, rule: RuleRow) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(t('Delete the rule {name}?', name=rule.name))

            async def delete() -> None:
                if await perform(forwarding.delete, rule.id, by=self.actor, success=t('Rule deleted')) is not FAILED:
                    dialog.close()
                    await self.rows.refresh()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                ui.button(t('Delete'), on_click=delete).props('color=negative').mark('confirm-delete-rule')
        dialog.open()

    async def edit(self, existing: RuleRow | None) -> None:
        choices = await perform(forwarding.destinations, by=self.actor)
        if choices is FAILED:
            return
        form = (
            ForwardingRuleCreate.model_validate(existing, from_attributes=True) if existing else ForwardingRuleCreate()
        )
        rule_id = existing.id if existing else None
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(t('Edit rule') if existing else t('Add a rule')).classes('text-h6')
            ui.input(t('Name')).bind_value(form, 'name').props('maxlength=100').classes('w-full').mark('rule-name')
            ui.select({'': t('any'), **{code: code for code in MODALITY_CODES}}, label=t('Modality')).bind_value(
                form, 'modality'
            ).classes('w-full').mark('rule-modality')
            ui.input(t('Calling AE title')).bind_value(form, 'calling_ae').props('maxlength=16').classes('w-full').mark(
                'rule-calling-ae'
            )
            ui.input(t('Description')).bind_value(form, 'description').classes('w-full').mark('rule-description')
            ui.label(t('Empty matches any; * stands for any text and ? for one character, in any case')).classes(
                'text-caption text-grey-7'
            )
            options = {
                choice.id: choice.ae_title if choice.active else f'{choice.ae_title} ({t("disabled")})'
                for choice in choices
            }
            ui.select(options, label=t('Destination')).bind_value(form, 'destination_id').classes('w-full').mark(
                'rule-destination'
            )
            ui.checkbox(t('Active')).bind_value(form, 'active').mark('rule-active')

            async def save() -> None:
                if rule_id is None:
                    done = await perform(forwarding.add, form, by=self.actor, success=t('Rule added'))
                else:
                    done = await perform(forwarding.update, rule_id, form, by=self.actor, success=t('Saved'))
                if done is not FAILED:
                    dialog.close()
                    await self.rows.refresh()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                ui.button(t('Save'), on_click=save).mark('save-rule')
        dialog.open()
