"""The report: start one for a study, write it (autosaved), finalise, add addenda, open the PDF.

A draft is bound to a ReportDraft model that is saved a moment after each change and when the tab
closes, so no typing is lost. A final report is shown read-only with its addenda, signature and checksum.
"""

import logging
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.responses import FileResponse
from nicegui import app, run, ui

from domain import access, reporting, templates
from domain.access import Actor, Permission
from domain.errors import NotAllowed, NotFound
from domain.models import ReportDraft
from domain.report_values import normal_range
from domain.reporting import ReportView
from domain.templates import FieldDef

from .guard import route_guard
from .i18n import LANGUAGE_NAMES, t
from .report_view import final_report, header, key_images
from .shell import FAILED, current_actor, perform, screen

log = logging.getLogger(__name__)

AUTOSAVE_S = 1.5
PDF_PATH = '/reports/{report_id}/pdf'
LENGTH_UNITS = {'mm': 1.0, 'cm': 10.0, 'm': 1000.0}


def register() -> None:
    @screen('/studies/{study_id}/report', title='Start a report')
    async def start_page(study_id: int) -> None:
        actor = current_actor()
        existing = await perform(reporting.for_study, study_id, by=actor)
        if existing is FAILED:
            return
        if existing is not None:
            ui.navigate.to(f'/reports/{existing.id}')
            return
        offered = await perform(templates.current, by=actor)
        if offered is FAILED or offered is None:  # None: the page was left while loading
            return
        language = app.storage.user.get('language', 'en')
        choice = {'template': offered[0].id if offered else None, 'language': language}
        with ui.card().classes('w-full max-w-xl'):
            ui.label(t('Choose the template for this report')).classes('text-h6')
            ui.select(
                {tpl.id: f'{templates.label(tpl.definition["name"], language)} (v{tpl.version})' for tpl in offered},
                label=t('Template'),
            ).bind_value(choice, 'template').classes('w-full').mark('template')
            ui.select(LANGUAGE_NAMES, label=t('Report language')).bind_value(choice, 'language').classes('w-full').mark(
                'report-language'
            )

            async def start() -> None:
                report = await perform(
                    reporting.start, study_id, choice['template'], language=choice['language'], by=actor
                )
                if report is not FAILED:
                    ui.navigate.to(f'/reports/{report.id}')

            ui.button(t('Start report'), icon='edit_note', on_click=start).mark('start-report')

    @screen('/reports/{report_id}', title='Report')
    async def report_page(report_id: int) -> None:
        actor = current_actor()
        shown = await perform(reporting.view, report_id, by=actor)
        if shown is FAILED:
            return
        if shown.report.state == reporting.DRAFT and access.may(actor, Permission.WRITE_REPORTS):
            await _draft_editor(shown, actor)
        else:
            await final_report(shown, actor)

    pdf_guard = route_guard(PDF_PATH)

    @app.get(PDF_PATH, include_in_schema=False)
    async def report_pdf(report_id: int, actor: Annotated[Actor, Depends(pdf_guard)]) -> FileResponse:
        try:
            path = await run.io_bound(reporting.pdf_file, report_id, by=actor)
        except NotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        except NotAllowed as error:
            raise HTTPException(status_code=403, detail=str(error)) from None
        return FileResponse(
            path, media_type='application/pdf', filename=f'report-{report_id}.pdf', content_disposition_type='inline'
        )


async def _draft_editor(shown: ReportView, actor: Actor) -> None:
    report, definition = shown.report, shown.definition
    draft = ReportDraft(
        values=dict(report.values), findings=report.findings, impression=report.impression, language=report.language
    )
    state: dict[str, Any] = {'dirty': False, 'view': shown, 'saving': False}
    inputs: dict[str, Any] = {}
    language = report.language

    def changed(*_: Any) -> None:
        state['dirty'] = True
        if 'label' in state:
            state['label'].text = t('Unsaved changes…')

    async def save(*, quiet: bool = True) -> bool:
        if not state['dirty'] or state['saving']:
            return True
        state['saving'], state['dirty'] = True, False
        try:
            result = await perform(reporting.save_draft, report.id, draft, by=actor)
        finally:
            state['saving'] = False
        if result is FAILED:
            state['dirty'] = True
            return False
        state['view'] = result
        show_saved(result)
        flags.refresh()
        if not quiet:
            ui.notify(t('Saved'), type='positive')
        return True

    def show_saved(current: ReportView) -> None:
        state['label'].text = t(
            'Saved by {name} at {time}',
            name=current.name(current.report.last_saved_by_id),
            time=current.report.last_saved_at.strftime('%Y-%m-%d %H:%M:%S'),
        )

    header(shown)
    with ui.row().classes('items-center gap-4'):
        ui.select(LANGUAGE_NAMES, label=t('Report language'), on_change=changed).bind_value(draft, 'language').classes(
            'w-40'
        ).mark('report-language')
        state['label'] = ui.label().classes('text-caption text-grey-7').mark('saved-by')
        show_saved(shown)

    @ui.refreshable
    def flags() -> None:
        current: ReportView = state['view']
        by_key = {f.key: f for f in current.flags}
        for key, holder in flag_holders.items():
            holder.clear()
            with holder:
                if key in by_key:
                    ui.label(t(by_key[key].message())).classes('text-negative text-caption').mark(f'flag-{key}')
        computed = current.computed
        for key, target in computed_labels.items():
            target.text = computed.get(key) or '—'

    flag_holders: dict[str, ui.element] = {}
    computed_labels: dict[str, ui.label] = {}
    for section in definition.sections:
        with ui.card().classes('w-full'):
            ui.label(templates.label(section.label, language)).classes('text-subtitle1 text-weight-medium')
            with ui.grid(columns='minmax(12rem, 18rem) minmax(10rem, 16rem) 1fr').classes('items-center gap-x-4'):
                for spec in section.fields:
                    ui.label(templates.label(spec.label, language) + (' *' if spec.required else ''))
                    inputs[spec.key] = _field_input(spec, draft, language, changed, computed_labels)
                    flag_holders[spec.key] = ui.row()
    flags()

    with ui.card().classes('w-full'):
        ui.label(t('Findings')).classes('text-subtitle1 text-weight-medium')
        ui.editor(on_change=changed).bind_value(draft, 'findings').classes('w-full').mark('findings')
        ui.label(t('Impression')).classes('text-subtitle1 text-weight-medium')
        ui.editor(on_change=changed).bind_value(draft, 'impression').classes('w-full').mark('impression')

    _measurements(shown, definition.fields(), draft, inputs, changed)
    key_images(shown)

    async def finalise() -> None:
        if not await save():
            return
        signed = await perform(reporting.finalise, report.id, by=actor)
        if signed is not FAILED:
            ui.notify(t('Report finalised'), type='positive')
            ui.navigate.reload()

    async def delete() -> None:
        state['dirty'] = False
        if await perform(reporting.delete_draft, report.id, by=actor) is not FAILED:
            ui.notify(t('Draft deleted'), type='positive')
            ui.navigate.to('/reports')

    with ui.row().classes('gap-2'):
        ui.button(t('Save'), icon='save', on_click=lambda: save(quiet=False)).props('outline').mark('save-report')
        if access.may(actor, Permission.FINALISE_REPORTS):
            ui.button(t('Finalise'), icon='verified', on_click=finalise).mark('finalise')
        if actor.role == 'admin' or actor.user_id == report.author_id:
            ui.button(t('Delete draft'), icon='delete', on_click=delete).props('flat color=negative').mark(
                'delete-draft'
            )

    ui.timer(AUTOSAVE_S, save)
    client = ui.context.client
    client.on_disconnect(save)


def _field_input(
    spec: FieldDef, draft: ReportDraft, language: str, changed: Any, computed_labels: dict[str, ui.label]
) -> Any:
    if spec.type == 'computed':
        computed_labels[spec.key] = ui.label('—').classes('text-weight-medium').mark(f'field-{spec.key}')
        return None
    if spec.type == 'choice':
        options = {c.value: templates.label(c.label, language) for c in spec.choices}
        field = ui.select(
            options,
            clearable=True,
            value=draft.values.get(spec.key) or None,
            on_change=lambda e: _put(draft, spec.key, e.value, changed),
        )
    else:
        field = ui.input(
            value=str(draft.values.get(spec.key) or ''), on_change=lambda e: _put(draft, spec.key, e.value, changed)
        )
        if spec.unit:
            field.props(f'suffix="{spec.unit}"')
        if spec.normal is not None:
            field.props(f'hint="{t("normal")} {normal_range(spec)}"')
    return field.props('dense').classes('w-full').mark(f'field-{spec.key}')


def _put(draft: ReportDraft, key: str, value: Any, changed: Any) -> None:
    if value is None or value == '':
        draft.values.pop(key, None)
    else:
        draft.values[key] = value
    changed()


def _measurements(
    shown: ReportView, fields: list[FieldDef], draft: ReportDraft, inputs: dict[str, Any], changed: Any
) -> None:
    numbers = [f for f in fields if f.type == 'number']
    if not shown.measurements or not numbers:
        return
    language = draft.language
    with ui.card().classes('w-full'):
        ui.label(t('Measurements of this study')).classes('text-subtitle1 text-weight-medium')
        for measurement in shown.measurements:
            if measurement.value is None:
                continue
            target = {'key': _matching_field(measurement.label, numbers)}
            with ui.row().classes('items-center gap-3').mark('measurement-row'):
                ui.label(
                    f'{measurement.label or measurement.kind}: {measurement.value:.1f} {measurement.unit}'
                ).classes('w-64')
                ui.select({f.key: templates.label(f.label, language) for f in numbers}, label=t('Field')).bind_value(
                    target, 'key'
                ).classes('w-64').props('dense')

                def insert(m: Any = measurement, chosen: dict = target) -> None:
                    spec = next((f for f in numbers if f.key == chosen['key']), None)
                    if spec is None:
                        ui.notify(t('Choose the field first'), type='warning')
                        return
                    value = _converted(m.value, m.unit, spec.unit)
                    draft.values[spec.key] = value
                    if inputs.get(spec.key) is not None:
                        inputs[spec.key].value = value
                    changed()

                ui.button(t('Insert'), icon='input', on_click=insert).props('outline dense').mark(
                    f'insert-{measurement.id}'
                )


def _matching_field(label: str, numbers: list[FieldDef]) -> str | None:
    wanted = label.strip().lower()
    for spec in numbers:
        names = {spec.key.lower(), *(a.lower() for a in spec.aliases), *(v.lower() for v in spec.label.values())}
        if wanted in names:
            return spec.key
    return None


def _converted(value: float, unit: str, wanted: str) -> str:
    if unit in LENGTH_UNITS and wanted in LENGTH_UNITS:
        value = value * LENGTH_UNITS[unit] / LENGTH_UNITS[wanted]
    return f'{value:.1f}'.rstrip('0').rstrip('.')
