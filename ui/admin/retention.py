"""Retention: rules that pick old studies (modality, description, age), a preview of what one would move to the
trash, the administrator's confirmation of exactly that list, and the confirmed runs with their results."""

from typing import Any

from nicegui import ui

from domain import retention_rules
from domain.access import Actor
from domain.errors import N_
from domain.modalities import MODALITY_CODES
from domain.retention_rules import RetentionRuleCreate, RuleRow

from ..i18n import t, tn
from ..patients import submit_form
from ..shell import FAILED, current_actor, nav, perform, screen
from .retention_preview import PreviewPanel
from .retention_runs import RunsPanel

HEADINGS = (N_('Name'), N_('Modality'), N_('Description contains'), N_('Older than'), N_('State'), '')
UNIT_NAMES = {'years': N_('years'), 'months': N_('months')}


def register() -> None:
    nav('/admin/retention', 'Retention', 'auto_delete', order=86)

    @screen('/admin/retention', title='Retention')
    async def retention_page() -> None:
        await RetentionPage(current_actor()).build()


class RetentionPage:
    """The rules, the preview of one of them, and the confirmed runs."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.runs = RunsPanel(actor)
        self.preview = PreviewPanel(actor, on_confirmed=self.runs.refresh)

    async def build(self) -> None:
        with ui.row().classes('items-center w-full'):
            ui.button(t('Add a rule'), icon='add', on_click=lambda: RuleForm(self, None).open()).mark('add-rule')
            ui.space()
            ui.label(t('A rule removes nothing by itself: preview it, check the list, then confirm')).classes(
                'text-grey-7'
            )
        with ui.card().classes('w-full'):
            await self.rules()
        await self.preview.build()
        await self.runs.build()

    @ui.refreshable_method
    async def rules(self) -> None:
        rules = await perform(retention_rules.list_rules, by=self.actor)
        if rules is FAILED:
            return
        if not rules:
            ui.label(t('No retention rule yet: nothing is ever removed')).classes('text-grey-7').mark('no-rules')
            return
        with ui.grid(columns='1fr 6rem 1fr 8rem 6rem auto').classes('w-full items-center gap-x-4 gap-y-1'):
            for heading in HEADINGS:
                ui.label(t(heading)).classes('text-caption text-grey-7')
            for rule in rules:
                self.row(rule)

    def row(self, rule: RuleRow) -> None:
        ui.label(rule.name).mark(f'rule-{rule.id}')
        for text in (rule.modality, rule.description):
            ui.label(text or t('any')).classes('' if text else 'text-grey-7')
        ui.label(age_text(rule.min_age_months))
        enabled = rule.enabled
        ui.label(t('enabled') if enabled else t('disabled')).classes('text-positive' if enabled else 'text-grey')
        with ui.row().classes('gap-1'):
            ui.button(t('Preview'), icon='preview', on_click=lambda: self.preview.show(rule.id)).props(
                'flat dense no-caps'
            ).mark(f'preview-rule-{rule.id}')
            ui.button(icon='edit', on_click=lambda: RuleForm(self, rule).open()).props('flat dense').tooltip(
                t('Edit')
            ).mark(f'edit-rule-{rule.id}')
            ui.button(icon='delete', on_click=lambda: self.confirm_delete(rule)).props('flat dense').tooltip(
                t('Delete')
            ).mark(f'delete-rule-{rule.id}')

    def confirm_delete(self, rule: RuleRow) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(t('Delete the rule {name}?', name=rule.name))

            async def delete() -> None:
                deleted = await perform(retention_rules.delete, rule.id, by=self.actor, success=t('Rule deleted'))
                if deleted is not FAILED:
                    dialog.close()
                    self.preview.clear(rule.id)
                    await self.rules.refresh()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                ui.button(t('Delete'), on_click=delete).props('color=negative').mark('confirm-delete-rule')
        dialog.open()


class RuleForm:
    """The dialog that adds or edits a rule; a refused save keeps what was typed and marks the fields at fault."""

    def __init__(self, page: RetentionPage, existing: RuleRow | None) -> None:
        self.page, self.rule_id = page, existing.id if existing else None
        self.form = retention_rules.form_of(existing) if existing else RetentionRuleCreate()

    def open(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes('w-96'):
            ui.label(t('Edit rule') if self.rule_id else t('Add a rule')).classes('text-h6')
            inputs = self.inputs()
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=self.dialog.close).props('flat')
                ui.button(t('Save'), on_click=lambda: self.save(inputs)).mark('save-rule')
        self.dialog.open()

    def inputs(self) -> dict[str, Any]:
        form = self.form
        name = ui.input(t('Name')).bind_value(form, 'name').props('maxlength=100').classes('w-full').mark('rule-name')
        modality = (
            ui.select(
                {'': t('any'), **{code: code for code in (*MODALITY_CODES, form.modality) if code}}, label=t('Modality')
            )
            .bind_value(form, 'modality')
            .classes('w-full')
            .mark('rule-modality')
        )
        description = (
            ui.input(t('Description contains'))
            .bind_value(form, 'description')
            .classes('w-full')
            .mark('rule-description')
        )
        ui.label(t('In the study or any of its series, in any case; empty matches any')).classes(
            'text-caption text-grey-7'
        )
        with ui.row().classes('w-full no-wrap items-start'):
            age = ui.number(t('Older than'), min=1, step=1).bind_value(form, 'min_age').classes('grow').mark('rule-age')
            units = {unit: t(name) for unit, name in UNIT_NAMES.items()}
            ui.select(units).bind_value(form, 'age_unit').classes('w-28').mark('rule-age-unit')
        ui.checkbox(t('Enabled')).bind_value(form, 'enabled').mark('rule-enabled')
        return {'name': name, 'modality': modality, 'description': description, 'min_age': age}

    async def save(self, inputs: dict[str, Any]) -> None:
        actor, form, rule_id = self.page.actor, self.form, self.rule_id
        if rule_id is None:
            done = await submit_form(lambda: retention_rules.add(form, by=actor), inputs)
        else:
            done = await submit_form(lambda: retention_rules.update(rule_id, form, by=actor), inputs)
        if done is FAILED:
            return
        ui.notify(t('Rule added') if rule_id is None else t('Saved'), type='positive')
        self.dialog.close()
        self.page.preview.clear(rule_id)
        await self.page.rules.refresh()


def age_text(months: int) -> str:
    """A rule's minimum age as the reader says it: whole years when it is, else months."""
    years, rest = divmod(months, 12)
    if not rest:
        return tn('{count} year', '{count} years', years)
    return tn('{count} month', '{count} months', months)
