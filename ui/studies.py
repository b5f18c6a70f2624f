"""Studies: images arriving live (receiving → processing → ready), with a thumbnail per series."""

from collections.abc import Callable
from typing import Annotated, Any

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
from .live_lists import Debounce, SharedRead
from .shell import FAILED, current_actor, fetch, nav, perform, screen
from .study_removal import removal_button
from .study_work import work_button

STATE_COLOURS = {'receiving': 'orange', 'processing': 'primary', 'ready': 'positive'}
THUMBNAIL_ROUTE = '/studies/thumbnails/{series_id}'
REFRESH_DELAY_S = 0.3
PAGE_SIZE = 30  # cards drawn at first; 'Show more' adds as many


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
    """Studies as they arrive, filtered by state and text, a page at a time; a burst of images redraws only the cards
    that changed, once."""

    def __init__(self, actor: Actor) -> None:
        self.actor, self.state, self.limit = actor, '', PAGE_SIZE
        self.shown: dict[int, tuple[StudySummary, ui.card]] = {}
        self.asked = 0  # the newest listing asked: an older answer arriving late is dropped
        self.refresh_soon = Debounce(lambda: self.listing(shared=True), REFRESH_DELAY_S)

    async def build(self) -> None:
        with ui.row().classes('items-center gap-2 w-full'):
            self.search = (
                ui.input(t('Search'), on_change=self.new_listing)
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
        self.empty = ui.label(t('No studies yet')).classes('text-grey-7').mark('no-studies')
        self.empty.set_visibility(False)
        self.area = ui.column().classes('w-full gap-4')
        self.more = ui.button(t('Show more'), icon='expand_more', on_click=self.show_more).props('flat no-caps')
        self.more.mark('studies-more').set_visibility(False)
        await self.listing()
        for kind in (events.StudyArrived, events.StudyUpdated, events.StudyMatched):
            live.on(kind).subscribe(self.on_study)

    async def listing(self, *, shared: bool = False) -> None:
        """Read the newest studies; redraw the cards that differ from what is shown, in arrival order."""
        self.asked += 1
        asked = self.asked
        query: dict[str, Any] = {'state': self.state, 'text': self.search.value or '', 'limit': self.limit + 1}
        if shared:
            try:
                rows = await SHARED_LISTING.read(by=self.actor, **query)
            except DomainError:
                return
        else:
            rows = await perform(study_lists.listing, by=self.actor, **query)
        if rows is FAILED or asked != self.asked:
            return
        self.more.set_visibility(len(rows) > self.limit)
        self.apply(rows[: self.limit])

    def apply(self, rows: list[StudySummary]) -> None:
        self.empty.set_visibility(not rows)
        wanted = {study.id for study in rows}
        for gone in [i for i in self.shown if i not in wanted]:
            self.shown.pop(gone)[1].delete()
        for index, study in enumerate(rows):
            shown = self.shown.get(study.id)
            if shown is not None and shown[0] != study:
                shown[1].delete()
                shown = None
            if shown is None:
                with self.area:
                    shown = (study, study_card(study))
                self.shown[study.id] = shown
            if self.area.default_slot.children.index(shown[1]) != index:
                shown[1].move(target_index=index)

    async def on_study(self, event: events.Event) -> None:
        SHARED_LISTING.changed(event)
        await self.refresh_soon()

    async def show(self, state: str) -> None:
        self.state = state
        await self.new_listing()

    async def new_listing(self) -> None:
        self.limit = PAGE_SIZE
        await self.listing()

    async def show_more(self) -> None:
        self.limit += PAGE_SIZE
        await self.listing()


SHARED_LISTING: SharedRead[list[StudySummary]] = SharedRead(study_lists.listing)


def study_card(study: StudySummary, actions: Callable[[], None] | None = None) -> ui.card:
    """One study: state, patient, date, modality, description, accession, counts, a thumbnail per series."""
    with ui.card().classes('w-full q-pa-sm').mark(f'study-{study.id}') as card:
        with ui.row().classes('items-center w-full gap-3'):
            ui.badge(t(study.state), color=STATE_COLOURS.get(study.state, 'grey')).mark(f'state-{study.id}')
            if study.urgent:
                ui.badge(t('urgent'), color='negative').mark(f'urgent-{study.id}')
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
            if study.short_id:
                ui.label(study.short_id).classes('short-id font-mono text-weight-medium').mark(f'short-id-{study.id}')
            if study.accession_number:
                ui.label(f'{t("Accession")} {study.accession_number}').classes('text-grey-7')
            ui.label(counts_text(study.num_series, study.num_instances)).mark(f'counts-{study.id}')
            if actions is not None:
                actions()
            ui.button(t('Open'), icon='visibility', on_click=lambda s=study.id: ui.navigate.to(f'/viewer/{s}')).props(
                'flat dense no-caps'
            ).mark(f'open-{study.id}')
            work_button(study.id, current_actor())  # technicians: urgent, the radiologist, accession and patient
            study_export.export_button(study.id, current_actor())
            removal_button(study, current_actor())  # administrators, last: delete (to the trash) or move
        if study.series:
            _thumbnails(study)
    return card


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
