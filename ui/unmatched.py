"""Unmatched: studies that matched no appointment or patient, and assigning each to the right patient."""

import asyncio
import functools
from collections.abc import Awaitable, Callable

from nicegui import ui

from domain import events, patient_search, study_lists
from domain.access import Actor

from . import live
from .i18n import format_date, t
from .shell import FAILED, current_actor, nav, perform, screen
from .studies import REFRESH_DELAY_S, study_card


def register() -> None:
    nav('/unmatched', 'Unmatched', 'link_off', order=31)

    @screen('/unmatched', title='Unmatched')
    async def unmatched_page() -> None:
        await UnmatchedStudies(current_actor()).build()


class UnmatchedStudies:
    """Studies waiting for a patient, and the dialog that assigns one; arrivals refresh the list, bunched."""

    def __init__(self, actor: Actor) -> None:
        self.actor, self.refresh_pending = actor, False

    async def build(self) -> None:
        await self.listing()
        for kind in (events.StudyArrived, events.StudyUpdated, events.StudyMatched):
            live.on(kind).subscribe(self.refresh_soon)

    @ui.refreshable_method
    async def listing(self) -> None:
        rows = await perform(study_lists.listing, by=self.actor, unmatched=True)
        if rows is FAILED:
            return
        if not rows:
            ui.label(t('Every study is matched to a patient')).classes('text-grey-7').mark('none-unmatched')
        for study in rows:
            study_card(study, actions=functools.partial(self.assign_button, study.id))

    def assign_button(self, study_id: int) -> None:
        ui.button(t('Assign to a patient'), icon='person_search', on_click=lambda: self.choose_patient(study_id)).props(
            'no-caps dense'
        ).mark(f'assign-{study_id}')

    async def refresh_soon(self) -> None:
        if self.refresh_pending:
            return
        self.refresh_pending = True
        await asyncio.sleep(REFRESH_DELAY_S)
        self.refresh_pending = False
        await self.listing.refresh()

    async def choose_patient(self, study_id: int) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-[32rem]'):
            ui.label(t('Assign the study to a patient')).classes('text-h6')
            choices = PatientChoices(self.actor, on_choose=lambda p: self.assign(study_id, p, dialog))
            await choices.build()
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()

    async def assign(self, study_id: int, patient_id: int, dialog: ui.dialog) -> None:
        if (
            await perform(study_lists.assign, study_id, patient_id, by=self.actor, success=t('Study assigned'))
            is FAILED
        ):
            return
        dialog.close()
        await self.listing.refresh()


class PatientChoices:
    """A search box and the patients it finds; clicking one chooses it."""

    def __init__(self, actor: Actor, *, on_choose: Callable[[int], Awaitable[None]]) -> None:
        self.actor, self.on_choose = actor, on_choose

    async def build(self) -> None:
        self.search = (
            ui.input(t('Search patients'), on_change=self.matches.refresh)
            .props('autofocus clearable')
            .classes('w-full')
            .mark('assign-search')
        )
        await self.matches()

    @ui.refreshable_method
    async def matches(self) -> None:
        text = (self.search.value or '').strip()
        if not text:
            ui.label(t('Type a name, patient ID, phone or accession number')).classes('text-grey-7')
            return
        page = await perform(patient_search.search, text, by=self.actor, limit=10)
        if page is FAILED:
            return
        if not page.rows:
            ui.label(t('No patient found')).classes('text-grey-7')
        for patient in page.rows:
            birth = format_date(patient.birth_date) if patient.birth_date else ''
            with (
                ui.item(on_click=lambda p=patient.id: self.on_choose(p)).props('clickable').mark('patient-choice'),
                ui.item_section(),
            ):
                ui.item_label(patient.name)
                ui.item_label(f'{patient.patient_id} · {birth}').props('caption')
