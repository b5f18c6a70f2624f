"""A report as everyone reads it: header, values, texts, addenda, signature, checksum, the PDF and its route."""

from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.responses import Response
from nicegui import app, ui

from domain import access, events, reporting, templates
from domain.access import Actor, Permission
from domain.errors import NotAllowed, NotFound
from domain.models import display_person_name
from domain.reporting import ReportView

from . import live
from .guard import route_guard
from .i18n import error_text, format_date, format_datetime, t
from .shell import FAILED, fetch, perform

PDF_PATH = '/reports/{report_id}/pdf'
STATE_COLOURS = {'draft': 'orange', 'final': 'positive', 'addended': 'primary'}


def header(shown: ReportView) -> None:
    """Patient, study, template version and state."""
    study, patient, report = shown.study, shown.patient, shown.report
    with ui.card().classes('w-full'), ui.row().classes('items-center gap-4 w-full'):
        ui.label(patient.name if patient else display_person_name(study.patient_name)).classes('text-h6').mark(
            'report-patient'
        )
        ui.label(patient.patient_id if patient else study.dicom_patient_id).classes('text-grey-7')
        when = format_date(study.study_date) if study.study_date else ''
        parts = (when, study.description, study.short_id or '', study.accession_number)
        ui.label(' · '.join(part for part in parts if part)).classes('text-grey-7').mark('report-study')
        ui.space()
        ui.label(f'{templates.label(shown.definition.name, report.language)} v{shown.template.version}')
        ui.badge(t(report.state), color=STATE_COLOURS.get(report.state, 'grey')).mark('report-state')


def key_images(shown: ReportView) -> None:
    """The study's key images, drawn by the DICOMweb rendered-frame endpoint (PS3.18 8.3.5)."""
    if not shown.key_images:
        return
    with ui.card().classes('w-full'):
        ui.label(t('Key images')).classes('text-subtitle1 text-weight-medium')
        with ui.row().classes('gap-3'):
            for key in shown.key_images:
                series_uid, sop_uid = shown.uids.get(key.instance_id, ('', ''))
                url = (
                    f'/dicomweb/studies/{shown.study.study_instance_uid}/series/{series_uid}/instances/'
                    f'{sop_uid}/frames/{key.frame}/rendered'
                )
                with ui.column().classes('items-center gap-1').mark('key-image'):
                    ui.image(url).classes('w-48 h-48 bg-black').props('fit=contain')
                    ui.label(key.note or f'#{key.instance_id}/{key.frame}').classes('text-caption')


async def final_report(shown: ReportView, actor: Actor) -> None:
    """The frozen report (or a draft for roles that may only read it), addenda and the PDF."""
    report = shown.report
    header(shown)
    if report.state == reporting.DRAFT:
        ui.label(t('This report is a draft and not signed yet')).classes('text-orange-9').mark('draft-notice')
    _values(shown)
    _texts(shown)
    _addenda(shown)
    key_images(shown)
    if report.state != reporting.DRAFT:
        await PdfPanel(report.id or 0, actor).build()
        if access.may(actor, Permission.FINALISE_REPORTS):
            _addendum_form(report.id or 0, actor)


def _values(shown: ReportView) -> None:
    report, language = shown.report, shown.report.language
    values = {**shown.computed, **report.values}
    flagged = {f.key for f in shown.flags if f.kind == 'out-of-range'}
    for section in shown.definition.sections:
        rows = [(f, values.get(f.key)) for f in section.fields if str(values.get(f.key) or '').strip()]
        if not rows:
            continue
        with ui.card().classes('w-full'):
            ui.label(templates.label(section.label, language)).classes('text-subtitle1 text-weight-medium')
            with ui.grid(columns='minmax(12rem, 18rem) 1fr').classes('gap-x-4'):
                for spec, value in rows:
                    chosen = next((c for c in spec.choices if c.value == str(value)), None)
                    printed = templates.label(chosen.label, language) if chosen else value
                    ui.label(templates.label(spec.label, language))
                    ui.label(f'{printed} {spec.unit}'.strip()).classes(
                        'text-weight-medium' + (' text-negative' if spec.key in flagged else '')
                    ).mark(f'value-{spec.key}')


def _texts(shown: ReportView) -> None:
    report = shown.report
    with ui.card().classes('w-full'):
        ui.label(t('Findings')).classes('text-subtitle1 text-weight-medium')
        ui.html(report.findings).mark('findings-text')  # sanitised by domain.richtext on save
        ui.label(t('Impression')).classes('text-subtitle1 text-weight-medium')
        ui.html(report.impression).mark('impression-text')
        if report.signed_at is not None:
            ui.label(
                t(
                    'Signed by {name} at {time}',
                    name=shown.name(report.signed_by_id),
                    time=format_datetime(report.signed_at),
                )
            ).classes('text-weight-medium').mark('signed-by')
            ui.label(f'SHA-256 {report.content_sha256}').classes('text-caption font-mono text-grey-7')


def _addenda(shown: ReportView) -> None:
    for number, addendum in enumerate(shown.addenda, start=1):
        with ui.card().classes('w-full border-l-4 border-orange-5').mark('addendum'):
            ui.label(f'{t("Addendum")} {number}').classes('text-subtitle1 text-weight-medium')
            ui.html(addendum.findings)
            ui.label(
                t(
                    'Signed by {name} at {time}',
                    name=shown.name(addendum.signed_by_id),
                    time=format_datetime(addendum.signed_at) if addendum.signed_at else '',
                )
            ).classes('text-caption')


class PdfPanel:
    """The signed report's PDF: open it, or see that it is being prepared; follows the job live."""

    def __init__(self, report_id: int, actor: Actor) -> None:
        self.report_id, self.actor = report_id, actor
        self.report: Any = None

    async def build(self) -> None:
        self.panel()
        await self.reload()
        live.on(events.ReportPdfReady).subscribe(self.on_ready)

    async def reload(self) -> None:
        current = await perform(reporting.view, self.report_id, by=self.actor, audited=False)
        if current is not FAILED and current is not None:
            self.report = current.report
            self.panel.refresh()

    @ui.refreshable_method
    def panel(self) -> None:
        report = self.report
        if report is None:
            return
        with ui.row().classes('items-center gap-2'):
            if report.pdf_path and report.pdf_rendered_at is not None:
                ui.button(
                    t('Open PDF'),
                    icon='picture_as_pdf',
                    on_click=lambda: ui.navigate.to(f'/reports/{self.report_id}/pdf', new_tab=True),
                ).mark('open-pdf')
                ui.label(f'PDF SHA-256 {report.pdf_sha256}').classes('text-caption font-mono text-grey-7')
            else:
                ui.spinner(size='sm')
                ui.label(t('The PDF is being prepared')).classes('text-grey-7').mark('pdf-pending')
            if access.may(self.actor, Permission.WRITE_REPORTS):
                ui.button(t('Render the PDF again'), icon='refresh', on_click=self.render_again).props(
                    'flat dense'
                ).mark('render-again')

    async def render_again(self) -> None:
        if await perform(reporting.request_pdf, self.report_id, by=self.actor) is not FAILED:
            await self.reload()

    async def on_ready(self, event: events.ReportPdfReady) -> None:
        if event.report_id == self.report_id:
            await self.reload()


def _addendum_form(report_id: int, actor: Actor) -> None:
    text = {'value': ''}
    with ui.card().classes('w-full'):
        ui.label(t('Add an addendum')).classes('text-subtitle1 text-weight-medium')
        ui.editor().bind_value(text, 'value').classes('w-full').mark('addendum-text')

        async def sign() -> None:
            added = await perform(reporting.add_addendum, report_id, text['value'], by=actor)
            if added is not FAILED:
                ui.notify(t('Addendum signed'), type='positive')
                ui.navigate.reload()

        ui.button(t('Sign addendum'), icon='verified', on_click=sign).mark('sign-addendum')


def register_pdf_route() -> None:
    """The PDF of a report, for staff whose role may open it (audited by the domain)."""
    pdf_guard = route_guard(PDF_PATH)

    @app.get(PDF_PATH, include_in_schema=False)
    async def report_pdf(report_id: int, actor: Annotated[Actor, Depends(pdf_guard)]) -> Response:
        try:
            data = await fetch(reporting.pdf_bytes, report_id, by=actor)
        except NotFound as error:
            raise HTTPException(status_code=404, detail=error_text(error, actor.language or None)) from None
        except NotAllowed as error:
            raise HTTPException(status_code=403, detail=error_text(error, actor.language or None)) from None
        disposition = f'inline; filename="report-{report_id}.pdf"'  # the id is a number: nothing to quote
        return Response(data, media_type='application/pdf', headers={'Content-Disposition': disposition})
