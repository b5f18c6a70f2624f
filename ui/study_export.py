"""Export…: a study (chosen series, or the key images) as a zip with a DICOMDIR for a patient's CD or USB stick.

The dialog offers what domain.export.choices says the study holds; Download asks the route below, which checks the
role (ROUTES), has the service decide and audit what goes in, and streams the zip dicom/export.py writes.
"""

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException
from fastapi.responses import StreamingResponse
from nicegui import app, ui
from starlette.background import BackgroundTask

from dicom.export import StudyZip
from domain import access
from domain import export as exports
from domain.access import Actor, Permission
from domain.errors import DomainError, InvalidInput, NotAllowed, NotFound
from domain.export import ExportChoices, ExportRequest, SeriesChoice

from .guard import route_guard
from .i18n import error_text, t, tn
from .shell import FAILED, fetch, perform

log = logging.getLogger(__name__)

EXPORT_PATH = '/studies/{study_id}/export'
STATUS = {NotFound: 404, NotAllowed: 403, InvalidInput: 400}


def register() -> None:
    """The route that streams an export's zip (the dialog's Download)."""
    export_guard = route_guard(EXPORT_PATH)

    @app.get(EXPORT_PATH, include_in_schema=False)
    async def study_export(
        study_id: int,
        *,
        actor: Annotated[Actor, Depends(export_guard)],
        series: str = '',
        key_images: bool = False,
        deidentify: bool = False,
        report: bool = False,
    ) -> StreamingResponse:
        language = actor.language or None
        try:
            series_ids = tuple(int(part) for part in series.split(',') if part.strip())
        except ValueError:
            raise HTTPException(status_code=400, detail='series: a comma-separated list of series ids') from None
        request = ExportRequest(study_id, series_ids, key_images, deidentify, report)
        try:
            plan = await fetch(exports.prepare, request, by=actor)
        except DomainError as error:
            status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 409)
            raise HTTPException(status_code=status, detail=error_text(error, language)) from None
        written = await fetch(StudyZip, plan)  # the zip is written as it is sent: an unreadable image ends it
        return StreamingResponse(
            written.chunks(),
            media_type='application/zip',
            headers={
                'Content-Disposition': f'attachment; filename="{written.filename}"',
                'Cache-Control': 'no-store',
            },
            background=BackgroundTask(written.close),
        )


def export_button(study_id: int, actor: Actor) -> None:
    """The study's "Export…" button, for the roles that may export."""
    if access.may(actor, Permission.EXPORT_STUDIES):
        ui.button(t('Export…'), icon='download', on_click=lambda: ExportDialog(study_id, actor).open()).props(
            'flat dense no-caps'
        ).mark(f'export-{study_id}')


class ExportDialog:
    """What to put in the zip: series, key images only, de-identified, the report; then Download."""

    def __init__(self, study_id: int, actor: Actor) -> None:
        self.study_id, self.actor = study_id, actor
        self.chosen: dict[str, bool] = {}  # series id (as text: NiceGUI binds by name) -> in the zip
        self.options = {'key_images': False, 'deidentify': False, 'report': False}
        self.choices: ExportChoices | None = None

    async def open(self) -> None:
        choices = await perform(exports.choices, self.study_id, by=self.actor)
        if choices is FAILED:
            return
        self.choices = choices
        self.chosen = {str(series.id): True for series in choices.series}
        with ui.dialog() as self.dialog, ui.card().classes('w-[38rem] max-w-full').mark('export-dialog'):
            ui.label(t('Export the study')).classes('text-h6')
            ui.label(t('A zip with a DICOMDIR: copy what it holds onto a CD or USB stick as it is.')).classes(
                'text-caption text-grey-8'
            )
            for series in choices.series:
                ui.checkbox(self.series_label(series), on_change=self.refresh_notes).bind_value(
                    self.chosen, str(series.id)
                ).mark(f'export-series-{series.id}')
            if choices.key_images:
                ui.checkbox(t('Key images only ({count})', count=choices.key_images)).bind_value(
                    self.options, 'key_images'
                ).mark('export-key-images')
            ui.switch(t('De-identify (PS3.15 basic profile)'), on_change=self.refresh_notes).bind_value(
                self.options, 'deidentify'
            ).mark('export-deidentify')
            report = ui.checkbox(t('Include the signed report (PDF)')).bind_value(self.options, 'report')
            report.mark('export-report').bind_enabled_from(
                self.options, 'deidentify', backward=lambda on: not on and choices.report_id is not None
            )
            self.notes()
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=self.dialog.close).props('flat')
                ui.button(t('Download'), icon='download', on_click=self.download).mark('export-download')
        self.dialog.open()

    def refresh_notes(self) -> None:
        self.notes.refresh()

    def series_label(self, series: SeriesChoice) -> str:
        number = f' {series.series_number}' if series.series_number is not None else ''
        images = tn('{count} image', '{count} images', series.num_instances)
        return f'{series.modality}{number} · {series.description or "—"} · {images}'

    @ui.refreshable_method
    def notes(self) -> None:
        choices = self.choices
        if choices is None:
            return
        if choices.report_id is None:
            ui.label(t('This study has no signed report with a PDF yet')).classes('text-caption text-grey-7')
        if not self.options['deidentify']:
            return
        if choices.report_id is not None:
            ui.label(t('A de-identified export leaves the report out: its PDF names the patient.')).classes(
                'text-caption text-grey-7'
            ).mark('export-report-left-out')
        flagged = [s for s in choices.series if self.chosen.get(str(s.id)) and s.burned_in != 'no']
        if flagged:
            with (
                ui.row()
                .classes('items-start no-wrap gap-2 bg-amber-1 q-pa-sm rounded-borders')
                .mark('export-burned-in')
            ):
                ui.icon('warning', color='warning')
                ui.label(
                    t(
                        'Text may be burned into the pixels of {series} (names, dates): de-identification changes '
                        'the tags, not the pixels. Look at these images before they leave the clinic.',
                        series=', '.join(self.series_label(s) for s in flagged),
                    )
                )

    def url(self) -> str:
        """The route's address for what is chosen now."""
        query = {
            'series': ','.join(series_id for series_id, on in self.chosen.items() if on),
            'key_images': self.options['key_images'],
            'deidentify': self.options['deidentify'],
            'report': self.options['report'] and not self.options['deidentify'],
        }
        return f'/studies/{self.study_id}/export?' + urlencode({k: str(v).lower() for k, v in query.items()})

    def download(self) -> None:
        if not any(self.chosen.values()):
            ui.notify(t('Choose at least one series'), type='warning')
            return
        ui.download.from_url(self.url())
        self.dialog.close()
