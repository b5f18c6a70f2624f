"""Appointments: book a patient for a procedure in a room, and the day's schedule per room
(reschedule, cancel, no-show, urgent)."""

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from nicegui import ui

from domain import access, appointments, events, procedures
from domain.access import Permission
from domain.models import Modality

from . import live
from .board import STATE_COLOURS, card_heading
from .booking import BookingForm, local_moment
from .i18n import format_day, t
from .shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/appointments', 'Appointments', 'event', order=20)

    @screen('/appointments', title='Appointments')
    async def appointments_page(patient: int | None = None, day: str | None = None) -> None:
        await DaySchedule(current_actor(), _parse_day(day)).build(patient)


class DaySchedule:
    """The day's appointments per room beside the booking form; the day follows the clinic's clock."""

    def __init__(self, actor: access.Actor, day: date | None) -> None:
        self.actor = actor
        self.day = day or appointments.today()
        self.may_book = access.may(actor, Permission.BOOK_APPOINTMENTS)
        self.may_check_in = access.may(actor, Permission.CHECK_IN)
        self.rooms: Sequence[Modality] = []

    async def build(self, patient_id: int | None) -> None:
        rooms = await perform(appointments.rooms, by=self.actor)
        offered = await perform(procedures.list_all, by=self.actor)
        if rooms is FAILED or offered is FAILED:
            return
        self.rooms = rooms
        with ui.row().classes('w-full items-start gap-6 no-wrap'):
            if self.may_book:
                with ui.card().classes('w-96 shrink-0').mark('booking'):
                    await BookingForm(self.actor, rooms, offered, patient_id, after=self.schedule.refresh).build()
            with ui.column().classes('grow min-w-0'):
                await self.schedule()
        live.on(events.AppointmentChanged).subscribe(self.schedule.refresh)

    @ui.refreshable_method
    async def schedule(self) -> None:
        cards = await perform(appointments.day, self.day, by=self.actor)
        if cards is FAILED:
            return
        self.day_switcher()
        if not self.rooms:
            ui.label(t('No rooms yet: an administrator adds the modalities first.')).classes('text-grey-7')
        with ui.row().classes('w-full gap-4 items-start no-wrap overflow-auto'):
            for room in self.rooms:
                with ui.card().classes('min-w-[16rem] w-72').mark(f'room-{room.ae_title}'):
                    ui.label(f'{room.room or room.ae_title} · {room.modality}').classes('text-subtitle1')
                    mine = [c for c in cards if c.modality_id == room.id]
                    if not mine:
                        ui.label(t('Nothing booked')).classes('text-caption text-grey-7')
                    for item in mine:
                        self.appointment_row(item)

    def day_switcher(self) -> None:
        with ui.row().classes('items-center gap-2'):
            ui.button(icon='chevron_left', on_click=lambda: self.go_to(-1)).props('flat dense').mark('previous-day')
            ui.label(format_day(self.day)).classes('text-h6').mark('shown-day')
            ui.button(icon='chevron_right', on_click=lambda: self.go_to(1)).props('flat dense').mark('next-day')
            ui.button(t('Today'), on_click=lambda: self.go_to(0)).props('flat dense')

    def appointment_row(self, item: appointments.Card) -> None:
        colour = STATE_COLOURS.get(item.state, 'grey')
        closed = item.state in (appointments.CANCELLED, appointments.NO_SHOW)
        with (
            ui.column()
            .classes(f'w-full gap-0 q-pa-xs rounded-borders bg-{colour}-1' + (' opacity-60' if closed else ''))
            .mark('appointment')
        ):
            card_heading(item)
            with ui.row().classes('w-full items-center gap-1'):
                ui.label(' · '.join(p for p in (item.procedure, item.short_id, item.accession_number) if p)).classes(
                    'text-caption'
                )
                ui.space()
                ui.badge(t(item.state), color=colour).mark(f'state-{item.accession_number}')
            if self.may_book or self.may_check_in:
                self.actions(item)

    def actions(self, item: appointments.Card) -> None:
        with ui.row().classes('gap-0'):
            if self.may_book and item.state in appointments.RESCHEDULABLE:
                _action(
                    'schedule', t('Reschedule'), f'reschedule-{item.accession_number}', lambda: self.reschedule(item)
                )
            if self.may_check_in and item.state in appointments.CANCELLABLE:
                _action('cancel', t('Cancel'), f'cancel-{item.accession_number}', lambda: self.cancel(item))
            if self.may_check_in and item.state in (appointments.SCHEDULED, appointments.WAITING):
                _action('person_off', t('No-show'), f'no-show-{item.accession_number}', lambda: self.no_show(item))
            if self.may_book and item.state not in appointments.CLOSED:
                _action(
                    'priority_high', t('Urgent'), f'urgent-{item.accession_number}', lambda: self.toggle_urgent(item)
                )

    async def go_to(self, step: int) -> None:
        self.day = appointments.today() if step == 0 else self.day + timedelta(days=step)
        await self.schedule.refresh()

    async def cancel(self, item: appointments.Card) -> None:
        await perform(appointments.cancel, item.id, by=self.actor, success=t('Cancelled'))
        await self.schedule.refresh()

    async def no_show(self, item: appointments.Card) -> None:
        await perform(appointments.no_show, item.id, by=self.actor, success=t('Marked as no-show'))
        await self.schedule.refresh()

    async def toggle_urgent(self, item: appointments.Card) -> None:
        await perform(appointments.set_urgent, item.id, not item.urgent, by=self.actor)
        await self.schedule.refresh()

    def reschedule(self, item: appointments.Card) -> None:
        local = item.scheduled_at.astimezone(appointments.local_zone())
        with ui.dialog() as dialog, ui.card():
            ui.label(t('Reschedule {accession}', accession=item.accession_number)).classes('text-h6')
            new_day = ui.input(t('Date'), value=local.date().isoformat()).props('type=date').mark('reschedule-date')
            new_time = ui.input(t('Time'), value=local.strftime('%H:%M')).props('type=time').mark('reschedule-time')

            async def save() -> None:
                when = local_moment(new_day.value, new_time.value)
                if when is None:
                    ui.notify(t('Choose the date and time'), type='warning')
                    return
                done = await perform(appointments.reschedule, item.id, when, by=self.actor, success=t('Rescheduled'))
                if done is not FAILED:
                    dialog.close()
                    await self.schedule.refresh()

            with ui.row():
                ui.button(t('Save'), on_click=save).mark('reschedule-save')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()


def _action(icon: str, tooltip: str, mark: str, on_click: Callable[[], Any]) -> None:
    ui.button(icon=icon, on_click=on_click).props('flat dense size=sm').tooltip(tooltip).mark(mark)


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
