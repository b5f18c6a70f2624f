"""Unmatched: studies that matched no appointment or patient, and assigning each to the right patient."""

import asyncio

from nicegui import ui

from domain import events, patient_search, study_lists

from . import live
from .i18n import t
from .shell import FAILED, current_actor, nav, perform, screen
from .studies import REFRESH_DELAY_S, study_card


def register() -> None:
    nav('/unmatched', 'Unmatched', 'link_off', order=31)

    @screen('/unmatched', title='Unmatched')
    async def unmatched_page() -> None:
        actor = current_actor()
        pending = {'refresh': False}

        @ui.refreshable
        async def listing() -> None:
            rows = await perform(study_lists.listing, by=actor, unmatched=True)
            if rows is FAILED:
                return
            if not rows:
                ui.label(t('Every study is matched to a patient')).classes('text-grey-7').mark('none-unmatched')
            for study in rows:
                study_card(
                    study,
                    actions=lambda s=study.id: (
                        ui.button(t('Assign to a patient'), icon='person_search', on_click=lambda: choose_patient(s))
                        .props('no-caps dense')
                        .mark(f'assign-{s}')
                    ),
                )

        async def refresh_soon() -> None:
            if pending['refresh']:
                return
            pending['refresh'] = True
            await asyncio.sleep(REFRESH_DELAY_S)
            pending['refresh'] = False
            await listing.refresh()

        async def choose_patient(study_id: int) -> None:
            with ui.dialog() as dialog, ui.card().classes('w-[32rem]'):
                ui.label(t('Assign the study to a patient')).classes('text-h6')

                @ui.refreshable
                async def matches() -> None:
                    text = (search.value or '').strip()
                    if not text:
                        ui.label(t('Type a name, patient ID, phone or accession number')).classes('text-grey-7')
                        return
                    page = await perform(patient_search.search, text, by=actor, limit=10)
                    if page is FAILED:
                        return
                    if not page.rows:
                        ui.label(t('No patient found')).classes('text-grey-7')
                    for patient in page.rows:
                        birth = patient.birth_date.isoformat() if patient.birth_date else ''
                        with (
                            ui.item(on_click=lambda p=patient.id: assign(study_id, p, dialog))
                            .props('clickable')
                            .mark('patient-choice')
                        ):
                            with ui.item_section():
                                ui.item_label(patient.name)
                                ui.item_label(f'{patient.patient_id} · {birth}').props('caption')

                search = (
                    ui.input(t('Search patients'), on_change=matches.refresh)
                    .props('autofocus clearable')
                    .classes('w-full')
                    .mark('assign-search')
                )
                await matches()
                with ui.row().classes('w-full justify-end'):
                    ui.button(t('Cancel'), on_click=dialog.close).props('flat')
            dialog.open()

        async def assign(study_id: int, patient_id: int | None, dialog: ui.dialog) -> None:
            if patient_id is None:
                return
            if await perform(study_lists.assign, study_id, patient_id, by=actor, success=t('Study assigned')) is FAILED:
                return
            dialog.close()
            await listing.refresh()

        await listing()
        for kind in (events.StudyArrived, events.StudyUpdated, events.StudyMatched):
            live.on(kind).subscribe(refresh_soon)
