"""Studies: images arriving live (receiving → processing → ready), with a thumbnail per series."""

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.responses import Response
from nicegui import app, ui

from domain import events, study_lists
from domain.access import Actor
from domain.errors import DomainError
from domain.models import display_person_name
from domain.studies import StudySummary

from . import live, study_export
from .guard import route_guard
from .i18n import format_date, t, tn
from .shell import FAILED, current_actor, fetch, nav, perform, screen
from .study_removal import removal_button

STATE_COLOURS = {'receiving': 'orange', 'processing': 'primary', 'ready': 'positive'}
THUMBNAIL_ROUTE = '/studies/thumbnails/{series_id}'
REFRESH_DELAY_S = 0.3


def register() -> None:
    nav('/studies', 'Studies', 'photo_library', order=30)
    study_export.register()  # the export zip's route; the card's Export… button opens its dialog

    thumbnail_guard = route_guard(THUMBNAIL_ROUTE)

    @app.get(THUMBNAIL_ROUTE, include_in_schema=False)
    async def thumbnail(series_id: int, actor: Annotated[Actor, Depends(thumbnail_guard)]) -> Response:
        try:
            relative = await fetch(study_lists.thumbnail_path, series_id, by=actor)
        except DomainError:
            raise HTTPException(status_code=403, detail='Your role may not use this') from None
        if not relative:
            raise HTTPException(status_code=404, detail='No thumbnail')
        from dicom import storage

        try:
            png = await fetch(storage.read_file, relative)  # decrypted when kept encrypted at rest
        except OSError:  # gone from disk (or not a file): the series is shown without one
            raise HTTPException(status_code=404, detail='No thumbnail') from None
        return Response(png, media_type='image/png', headers={'Cache-Control': 'private, max-age=3600'})

    @screen('/studies', title='Studies')
    async def studies_page() -> None:
        await StudyList(current_actor()).build()


class StudyList:
    """Studies as they arrive, filtered by state and text; a burst of images redraws the list once."""

    def __init__(self, actor: Actor) -> None:
        self.actor, self.state, self.refresh_pending = actor, '', False

    async def build(self) -> None:
        with ui.row().classes('items-center gap-2 w-full'):
            self.search = (
                ui.input(t('Search'), on_change=self.listing.refresh)
                .props('dense clearable')
                .classes('w-72')
                .mark('study-search')
            )
            for state, label in (
                ('', t('all')),
                ('receiving', t('receiving')),
                ('processing', t('processing')),
                ('ready', t('ready')),
            ):
                ui.button(label, on_click=lambda s=state: self.show(s)).props('outline dense no-caps').mark(
                    f'studies-{state or "all"}'
                )
        await self.listing()
        for kind in (events.StudyArrived, events.StudyUpdated, events.StudyMatched):
            live.on(kind).subscribe(self.refresh_soon)

    @ui.refreshable_method
    async def listing(self) -> None:
        rows = await perform(study_lists.listing, by=self.actor, state=self.state, text=self.search.value or '')
        if rows is FAILED:
            return
        if not rows:
            ui.label(t('No studies yet')).classes('text-grey-7').mark('no-studies')
        for study in rows:
            study_card(study)

    async def refresh_soon(self) -> None:
        if self.refresh_pending:
            return
        self.refresh_pending = True
        await asyncio.sleep(REFRESH_DELAY_S)  # many images in a burst: one redraw
        self.refresh_pending = False
        await self.listing.refresh()

    async def show(self, state: str) -> None:
        self.state = state
        await self.listing.refresh()


def study_card(study: StudySummary, actions: Callable[[], None] | None = None) -> None:
    """One study: state, patient, date, modality, description, accession, counts, a thumbnail per series."""
    with ui.card().classes('w-full q-pa-sm').mark(f'study-{study.id}'):
        with ui.row().classes('items-center w-full gap-3'):
            ui.badge(t(study.state), color=STATE_COLOURS.get(study.state, 'grey')).mark(f'state-{study.id}')
            if study.clinic_patient_name is not None:
                ui.link(study.clinic_patient_name, f'/patients/{study.patient_ref_id}').classes('text-weight-medium')
            else:
                ui.label(display_person_name(study.patient_name) or t('(no name)')).classes('text-weight-medium')
                ui.badge(t('unmatched'), color='negative').props('outline')
            ui.label(study.patient_id).classes('text-grey-7')
            ui.label(format_date(study.study_date) if study.study_date else '').classes('text-grey-8')
            ui.label(study.modalities.replace('\\', ', ')).classes('text-weight-medium')
            ui.label(study.description).classes('text-grey-9')
            ui.space()
            if study.accession_number:
                ui.label(f'{t("Accession")} {study.accession_number}').classes('text-grey-7')
            ui.label(counts_text(study.num_series, study.num_instances)).mark(f'counts-{study.id}')
            if actions is not None:
                actions()
            ui.button(t('Open'), icon='visibility', on_click=lambda s=study.id: ui.navigate.to(f'/viewer/{s}')).props(
                'flat dense no-caps'
            ).mark(f'open-{study.id}')
            study_export.export_button(study.id, current_actor())
            removal_button(study, current_actor())  # administrators, last: delete (to the trash) or move
        if study.series:
            _thumbnails(study)


def counts_text(series: int, images: int) -> str:
    """How much a study holds ('2 series · 120 images'), each count in the plural form of the language."""
    return f'{tn("{count} series", "{count} series", series)} · {tn("{count} image", "{count} images", images)}'


def _thumbnails(study: StudySummary) -> None:
    with ui.row().classes('gap-2 q-mt-xs'):
        for series in study.series:
            with ui.column().classes('items-center gap-0'):
                if series.thumbnail_path:
                    ui.image(f'/studies/thumbnails/{series.id}?v={study.state}-{series.num_instances}').classes(
                        'w-24 h-24 rounded-borders bg-black'
                    ).props('fit=contain').mark(f'thumbnail-{series.id}')
                else:
                    with ui.element('div').classes('w-24 h-24 rounded-borders bg-grey-3 flex flex-center'):
                        ui.icon('image', color='grey-6')
                ui.label(f'{series.modality} {series.series_number or ""} · {series.num_instances}').classes(
                    'text-caption text-grey-8'
                )
