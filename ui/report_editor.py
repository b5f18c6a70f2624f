"""The report: start one for a study, write it (autosaved), finalise, add addenda, open the PDF.

A draft is bound to a ReportDraft model that is saved a moment after each change and when the tab
closes, so no typing is lost. Only its author edits a draft: colleagues read it with a banner and may take
it over (ui/report_ownership.py); when that happens the author's open editor turns read-only, keeping what
was typed on screen. A final report is shown read-only with its addenda, signature and checksum.
"""

import asyncio
import logging
from typing import Any

from nicegui import ui

from dicom import sr_import
from domain import access, events, options, reporting, sr_values, templates
from domain.access import Actor, Permission
from domain.errors import DomainError
from domain.models import ReportDraft
from domain.report_values import normal_range
from domain.reporting import ReportView
from domain.templates import FieldDef

from . import live
from .i18n import LANGUAGE_NAMES, current_language, format_datetime, t
from .report_measurements import measurements
from .report_ownership import OwnershipPanel, handovers, save_unless_taken, taken_over_banner
from .report_suggestions import Suggestions
from .report_view import final_report, header, key_images, register_pdf_route
from .shell import FAILED, current_actor, fetch, on_leave, perform, screen

log = logging.getLogger(__name__)

AUTOSAVE_S = 1.5


def register() -> None:
    @screen('/studies/{study_id}/report', title='Start a report')
    async def start_page(study_id: int) -> None:
        await _start_form(study_id, current_actor())

    @screen('/reports/{report_id}', title='Report')
    async def report_page(report_id: int) -> None:
        actor = current_actor()
        shown = await perform(reporting.view, report_id, by=actor)
        if shown is FAILED:
            return
        if shown.report.state == reporting.DRAFT and access.may(actor, Permission.WRITE_REPORTS):
            if shown.report.author_id == actor.user_id:
                await DraftEditor(shown, actor).build()
                return
            await OwnershipPanel(shown, actor).build()  # a colleague's draft: read it, take it over or reassign it
        await final_report(shown, actor)

    register_pdf_route()


class DraftEditor:
    """A draft being written: template fields with their flags, findings, impression, measurements, actions."""

    def __init__(self, shown: ReportView, actor: Actor) -> None:
        self.shown, self.actor = shown, actor
        self.report, self.definition, self.language = shown.report, shown.definition, shown.report.language
        assert shown.report.id is not None  # a stored report
        self.report_id: int = shown.report.id
        self.draft = ReportDraft(
            values=dict(self.report.values),
            findings=self.report.findings,
            impression=self.report.impression,
            language=self.report.language,
        )
        self.dirty = False
        self.saving = asyncio.Lock()  # one save at a time; the save on closing waits for an autosave in flight
        self.taken_by: str | None = None  # who took the draft over (or was given it) while this editor was open
        self.saved_by: ui.label | None = None
        self.ownership: ui.column | None = None  # the handovers above the form; the taken-over banner replaces them
        self.action_row: ui.row | None = None
        self.editable: list[ui.element] = []  # turned read-only when the draft changes hands
        self.inputs: dict[str, Any] = {}
        self.flag_holders: dict[str, ui.element] = {}
        self.computed_labels: dict[str, ui.label] = {}
        self.imported: dict[str, sr_values.Match] = {}  # field -> the value the scanner's SR has for it

    async def build(self) -> None:
        found = await fetch(sr_import.study_values, self.report.study_id, by=self.actor)
        self.imported = sr_values.matches(found, self.definition.fields())
        header(self.shown)
        with ui.column().classes('w-full') as self.ownership:
            await OwnershipPanel(self.shown, self.actor).build()
        self.language_and_status()
        self.fields()
        self.show_flags(self.shown)
        self.texts()
        Suggestions(self.report_id, self.actor, self.language, lambda: self.save(wait=True)).build()
        measurements(self.shown, self.definition.fields(), self.language, self.insert)
        key_images(self.shown)
        self.actions()
        ui.timer(AUTOSAVE_S, self.save)
        on_leave(self.save_on_close, disconnected=True)
        live.on(events.ReportChanged).subscribe(self.on_report_changed)

    def language_and_status(self) -> None:
        with ui.row().classes('items-center gap-4'):
            language = ui.select(LANGUAGE_NAMES, label=t('Report language'), on_change=self.changed)
            language.bind_value(self.draft, 'language').classes('w-40').mark('report-language')
            self.editable.append(language)
            self.saved_by = ui.label().classes('text-caption text-grey-7').mark('saved-by')
            self.show_saved(self.shown)

    def fields(self) -> None:
        for section in self.definition.sections:
            with ui.card().classes('w-full'):
                ui.label(templates.label(section.label, self.language)).classes('text-subtitle1 text-weight-medium')
                with ui.grid(columns='minmax(12rem, 18rem) minmax(10rem, 16rem) 1fr').classes('items-center gap-x-4'):
                    for spec in section.fields:
                        ui.label(templates.label(spec.label, self.language) + (' *' if spec.required else ''))
                        self.inputs[spec.key] = self.field_input(spec)
                        self.flag_holders[spec.key] = ui.row()

    def field_input(self, spec: FieldDef) -> Any:
        if spec.type == 'computed':
            self.computed_labels[spec.key] = ui.label('—').classes('text-weight-medium').mark(f'field-{spec.key}')
            return None
        current = self.draft.values.get(spec.key)
        if spec.type == 'choice':
            options = {c.value: templates.label(c.label, self.language) for c in spec.choices}
            field: ui.select | ui.input = ui.select(
                options, clearable=True, value=current or None, on_change=lambda e: self.put(spec.key, e.value)
            )
        else:
            field = ui.input(value=str(current or ''), on_change=lambda e: self.put(spec.key, e.value))
            if spec.unit:
                field.props(f'suffix="{spec.unit}"')
            self.show_source(spec, field, current)
        self.editable.append(field)
        return field.props('dense').classes('w-full').mark(f'field-{spec.key}')

    def texts(self) -> None:
        with ui.card().classes('w-full'):
            for key, title in (('findings', t('Findings')), ('impression', t('Impression'))):
                ui.label(title).classes('text-subtitle1 text-weight-medium')
                editor = ui.editor(on_change=self.changed).bind_value(self.draft, key).classes('w-full').mark(key)
                self.editable.append(editor)

    def actions(self) -> None:
        with ui.row().classes('gap-2') as self.action_row:
            ui.button(t('Save'), icon='save', on_click=lambda: self.save(quiet=False, wait=True)).props('outline').mark(
                'save-report'
            )
            if access.may(self.actor, Permission.FINALISE_REPORTS):
                ui.button(t('Finalise'), icon='verified', on_click=self.finalise).mark('finalise')
            if self.actor.role == 'admin' or self.actor.user_id == self.report.author_id:
                ui.button(t('Delete draft'), icon='delete', on_click=self.delete).props('flat color=negative').mark(
                    'delete-draft'
                )

    def changed(self, *_: Any) -> None:
        self.dirty = True
        if self.saved_by is not None:
            self.saved_by.text = t('Unsaved changes…')

    def show_source(self, spec: FieldDef, field: ui.input, value: Any) -> None:
        """The field's hint: its normal range, and where its value came from when the scanner's SR gave it."""
        hints = [f'{t("normal")} {normal_range(spec)}'] if spec.normal is not None else []
        match = self.imported.get(spec.key)
        if match is not None and str(value or '') == match.text:
            hints.append(t('from the scanner’s structured report ({source})', source=match.value.source))
        if hints:
            field.props['hint'] = ' · '.join(hints)
        else:
            field.props(remove='hint')

    def put(self, key: str, value: Any) -> None:
        if value is None or value == '':
            self.draft.values.pop(key, None)
        else:
            self.draft.values[key] = value
        if key in self.imported and isinstance(self.inputs.get(key), ui.input):  # typed over: no longer the SR's
            spec = next(spec for spec in self.definition.fields() if spec.key == key)
            self.show_source(spec, self.inputs[key], value)
        self.changed()

    def insert(self, key: str, value: str) -> None:
        if self.taken_by is not None:
            return
        self.draft.values[key] = value
        if self.inputs.get(key) is not None:
            self.inputs[key].value = value
        self.changed()

    async def save(self, *, quiet: bool = True, wait: bool = False) -> bool:
        """Store the draft if it changed since the last save; Save and Finalise wait for a save on its way."""
        if self.taken_by is not None:
            return False  # the draft is someone else's now: what is on screen stays there to copy
        if self.saving.locked():
            if not wait:
                return True  # the autosave: the next tick stores what was typed meanwhile
            log.debug('report %s: Finalise or Save waits for the save on its way', self.report_id)
        async with self.saving:
            if not self.dirty:
                return True
            self.dirty = False
            result = await perform(save_unless_taken, self.report_id, self.draft.model_copy(deep=True), self.actor)
            if result is FAILED or result is None:
                self.dirty = True
                if result is None:  # taken over before this save arrived: refused quietly, the text stays here
                    await self.check_owner()
                return False
            self.shown = result
        self.show_saved(result)
        self.show_flags(result)
        if not quiet:
            ui.notify(t('Saved'), type='positive')
        return True

    async def save_on_close(self) -> None:
        """Store what was typed since the last autosave when the doctor leaves the report (another screen, the tab
        closed or its connection lost)."""
        async with self.saving:  # an autosave in flight may have missed the last keystrokes
            if not self.dirty or self.taken_by is not None:
                return
            self.dirty = False
            try:
                saved = await fetch(
                    reporting.save_draft, self.report_id, self.draft.model_copy(deep=True), by=self.actor
                )
            except DomainError as error:  # finalised, deleted or taken over meanwhile, or the session ended
                log.info(
                    'report %s: the draft was not saved as its tab closed (%s)', self.report_id, type(error).__name__
                )
                return
        self.shown = saved
        self.show_saved(saved)  # seen if the browser reconnects to this page

    def show_saved(self, current: ReportView) -> None:
        assert self.saved_by is not None
        self.saved_by.text = t(
            'Saved by {name} at {time}',
            name=current.name(current.report.last_saved_by_id),
            time=format_datetime(current.report.last_saved_at, 'medium'),
        )

    def show_flags(self, current: ReportView) -> None:
        by_key = {f.key: f for f in current.flags}
        for key, holder in self.flag_holders.items():
            holder.clear()
            with holder:
                if key in by_key:
                    ui.label(t(by_key[key].message())).classes('text-negative text-caption').mark(f'flag-{key}')
        for key, target in self.computed_labels.items():
            target.text = current.computed.get(key) or '—'

    async def on_report_changed(self, event: events.ReportChanged) -> None:
        if event.report_id == self.report_id and event.state == reporting.DRAFT and self.taken_by is None:
            await self.check_owner()

    async def check_owner(self) -> None:
        """Turn read-only, keeping what was typed on screen, once the draft is no longer this reader's."""
        current = await perform(reporting.view, self.report_id, by=self.actor, audited=False)
        if current is FAILED or current is None or current.report.author_id == self.actor.user_id:
            return
        if self.taken_by is not None:
            return  # another check finished first
        self.taken_by = current.name(current.report.author_id)
        for element in self.editable:
            element.props('readonly')
        assert self.action_row is not None and self.ownership is not None  # built
        self.action_row.clear()
        self.ownership.clear()
        with self.ownership:
            taken_over_banner(self.taken_by)
            handovers(current)
        ui.notify(t('This draft was taken over by {name}', name=self.taken_by), type='warning')
        log.info('report %s: the editor of user %s turned read-only (taken over)', self.report_id, self.actor.user_id)

    async def finalise(self) -> None:
        if not await self.save(wait=True):
            return
        if await perform(reporting.finalise, self.report_id, by=self.actor) is not FAILED:
            ui.notify(t('Report finalised'), type='positive')
            ui.navigate.reload()

    async def delete(self) -> None:
        self.dirty = False
        if await perform(reporting.delete_draft, self.report_id, by=self.actor) is not FAILED:
            ui.notify(t('Draft deleted'), type='positive')
            ui.navigate.to('/reports')


async def _start_form(study_id: int, actor: Actor) -> None:
    """Choose the template and language of a new report, or go to the study's report if it has one."""
    existing = await perform(reporting.for_study, study_id, by=actor)
    if existing is FAILED:
        return
    if existing is not None:
        ui.navigate.to(f'/reports/{existing.id}')
        return
    offered = await perform(templates.current, by=actor)
    if offered is FAILED or offered is None:  # None: the page was left while loading
        return
    language = current_language()  # the account's, else the browser's, else PACS_LANGUAGE
    clinic_language = await fetch(options.get, 'report_language')  # the administrator's default, if set
    choice = {'template': offered[0].id if offered else None, 'language': clinic_language or language}

    async def start() -> None:
        report = await perform(reporting.start, study_id, choice['template'], language=choice['language'], by=actor)
        if report is FAILED:
            return
        await perform(sr_import.fill_report, report.id, study_id, by=actor)  # what the scanner measured, if it sent it
        ui.navigate.to(f'/reports/{report.id}')

    with ui.card().classes('w-full max-w-xl'):
        ui.label(t('Choose the template for this report')).classes('text-h6')
        ui.select(
            {tpl.id: _offered(tpl.definition['name'], tpl.version, language) for tpl in offered},
            label=t('Template'),
        ).bind_value(choice, 'template').classes('w-full').mark('template')
        ui.select(LANGUAGE_NAMES, label=t('Report language')).bind_value(choice, 'language').classes('w-full').mark(
            'report-language'
        )
        ui.button(t('Start report'), icon='edit_note', on_click=start).mark('start-report')


def _offered(name: dict[str, str], version: int, language: str) -> str:
    """A template as the start form offers it: its name in the report's language and its version."""
    return t('{name} (version {n})', name=templates.label(name, language), n=version)
