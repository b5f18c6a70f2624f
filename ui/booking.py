"""The booking form beside the day's schedule: choose the patient, the procedure, the room and the time."""

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from typing import Any

from nicegui import ui

from domain import access, appointments, patient_search, patients
from domain.models import AppointmentCreate, Modality, Procedure

from .i18n import format_date, t
from .patients import submit_form
from .shell import FAILED, perform


class BookingForm:
    """Choose the patient (search), the procedure, the room and the time; Book makes the accession number."""

    def __init__(
        self,
        actor: access.Actor,
        rooms: Sequence[Modality],
        offered: Sequence[Procedure],
        patient_id: int | None,
        *,
        after: Callable[[], Awaitable[None]],
    ) -> None:
        self.actor, self.rooms, self.offered, self.after = actor, rooms, offered, after
        self.form = AppointmentCreate(patient_id=patient_id)
        self.fields: dict[str, Any] = {}
        self.chosen_name = ''

    async def build(self) -> None:
        await self.load_patient()
        ui.label(t('Book an appointment')).classes('text-h6')
        self.finder = (
            ui.input(t('Patient: name or Patient ID'), on_change=self.patient_choice.refresh)
            .props('debounce=250')
            .classes('w-full')
            .mark('booking-patient')
        )
        self.finder.set_visibility(self.form.patient_id is None)
        self.fields['patient_id'] = self.finder
        with ui.column().classes('w-full gap-0'):
            await self.patient_choice()
        self.procedure_and_room()
        self.when_and_details()
        ui.button(t('Book'), icon='event_available', on_click=self.book).mark('booking-save')

    async def load_patient(self) -> None:
        if self.form.patient_id is None:
            return
        found = await perform(patients.get, self.form.patient_id, by=self.actor)
        if found is FAILED:
            self.form.patient_id = None
        else:
            self.chosen_name = f'{found.name} · {found.patient_id}'

    def procedure_and_room(self) -> None:
        self.fields['procedure_id'] = (
            ui.select(
                {p.id: f'{p.name} ({p.modality})' for p in self.offered},
                label=t('Procedure'),
                on_change=self.procedure_chosen,
            )
            .bind_value(self.form, 'procedure_id')
            .classes('w-full')
            .mark('booking-procedure')
        )
        self.room_select = (
            ui.select(_room_options(self.rooms), label=t('Room'))
            .bind_value(self.form, 'modality_id')
            .classes('w-full')
            .mark('booking-room')
        )
        self.fields['modality_id'] = self.room_select

    def when_and_details(self) -> None:
        with ui.row().classes('w-full no-wrap'):
            self.day = (
                ui.input(t('Date'), value=appointments.today().isoformat()).props('type=date').mark('booking-date')
            )
            self.at = (
                ui.input(t('Time'), value=appointments.next_slot().strftime('%H:%M'))
                .props('type=time')
                .mark('booking-time')
            )
        self.fields['scheduled_at'] = self.at
        self.fields['duration_minutes'] = (
            ui.number(t('Minutes'), min=1, max=600, format='%d')
            .bind_value(self.form, 'duration_minutes', forward=lambda v: int(v) if v else None)
            .classes('w-28')
        )
        ui.input(t('Referring physician')).bind_value(self.form, 'referring_physician').classes('w-full')
        ui.input(t('Notes')).bind_value(self.form, 'notes').classes('w-full')
        ui.checkbox(t('Urgent')).bind_value(self.form, 'urgent').mark('booking-urgent')

    @ui.refreshable_method
    async def patient_choice(self) -> None:
        if self.form.patient_id is not None:
            with ui.row().classes('items-center'):
                ui.icon('person', color='primary')
                ui.label(self.chosen_name).mark('chosen-patient')
                ui.button(icon='close', on_click=self.clear_patient).props('flat dense round size=sm')
            return
        text = (self.finder.value or '').strip()
        if len(text) < 2:
            return
        page = await perform(patient_search.search, text, by=self.actor, limit=6)
        if page is FAILED:
            return
        for row in page.rows:
            ui.item(
                f'{row.name} · {row.patient_id} · {format_date(row.birth_date) if row.birth_date else ""}',
                on_click=lambda r=row: self.choose(r),
            ).props('clickable dense').mark('patient-choice')

    async def choose(self, row: Any) -> None:
        self.form.patient_id, self.chosen_name = row.id, f'{row.name} · {row.patient_id}'
        self.finder.set_visibility(False)
        await self.patient_choice.refresh()

    async def clear_patient(self) -> None:
        self.form.patient_id = None
        self.finder.set_visibility(True)
        await self.patient_choice.refresh()

    def procedure_chosen(self) -> None:
        procedure = next((p for p in self.offered if p.id == self.form.procedure_id), None)
        if procedure is None:
            return
        matching = _room_options([r for r in self.rooms if r.modality == procedure.modality])
        self.room_select.set_options(matching or _room_options(self.rooms))
        if len(matching) == 1:
            self.form.modality_id = next(iter(matching))
        self.fields['duration_minutes'].value = procedure.duration_minutes

    async def book(self) -> None:
        self.form.scheduled_at = local_moment(self.day.value, self.at.value)
        made = await submit_form(lambda: appointments.book(self.form, by=self.actor), self.fields)
        if made is FAILED:
            return
        ui.notify(
            t(
                'Booked: study ID {code}, accession number {accession}',
                code=made.short_id,
                accession=made.accession_number,
            ),
            type='positive',
        )
        await self.after()


def local_moment(day_text: str | None, time_text: str | None) -> datetime | None:
    """The clinic-local moment typed into a date and a time input; None while either is incomplete."""
    try:
        return datetime.combine(
            date.fromisoformat(day_text or ''), time.fromisoformat(time_text or ''), tzinfo=appointments.local_zone()
        )
    except ValueError:
        return None


def _room_options(rooms: Sequence[Modality]) -> dict[Any, str]:
    return {r.id: f'{r.room or r.ae_title} ({r.modality})' for r in rooms}
