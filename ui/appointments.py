"""Appointments: book a patient for a procedure in a room, and the day's schedule per room
(reschedule, cancel, no-show, urgent)."""

from datetime import date, datetime, time, timedelta
from typing import Any

from nicegui import ui

from domain import access, appointments, events, patient_search, patients, procedures
from domain.access import Permission
from domain.models import AppointmentCreate

from . import live
from .board import STATE_COLOURS
from .i18n import t
from .patients import submit_form
from .shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/appointments', 'Appointments', 'event', order=20)

    @screen('/appointments', title='Appointments')
    async def appointments_page(patient: int | None = None, day: str | None = None) -> None:
        actor = current_actor()
        shown: dict[str, Any] = {'day': _parse_day(day) or appointments.today()}
        may_book = access.may(actor, Permission.BOOK_APPOINTMENTS)
        may_check_in = access.may(actor, Permission.CHECK_IN)
        rooms = await perform(appointments.rooms, by=actor)
        offered = await perform(procedures.list_all, by=actor)
        if rooms is FAILED or offered is FAILED:
            return

        @ui.refreshable
        async def schedule() -> None:
            cards = await perform(appointments.day, shown['day'], by=actor)
            if cards is FAILED:
                return
            with ui.row().classes('items-center gap-2'):
                ui.button(icon='chevron_left', on_click=lambda: go_to(-1)).props('flat dense').mark('previous-day')
                ui.label(shown['day'].strftime('%A %Y-%m-%d')).classes('text-h6').mark('shown-day')
                ui.button(icon='chevron_right', on_click=lambda: go_to(1)).props('flat dense').mark('next-day')
                ui.button(t('Today'), on_click=lambda: go_to(0)).props('flat dense')
            if not rooms:
                ui.label(t('No rooms yet: an administrator adds the modalities first.')).classes('text-grey-7')
            with ui.row().classes('w-full gap-4 items-start no-wrap overflow-auto'):
                for room in rooms:
                    mine = [c for c in cards if c.modality_id == room.id]
                    with ui.card().classes('min-w-[16rem] w-72').mark(f'room-{room.ae_title}'):
                        ui.label(f'{room.room or room.ae_title} · {room.modality}').classes('text-subtitle1')
                        if not mine:
                            ui.label(t('Nothing booked')).classes('text-caption text-grey-7')
                        for item in mine:
                            appointment_row(item)

        def appointment_row(item: appointments.Card) -> None:
            colour = STATE_COLOURS.get(item.state, 'grey')
            closed = item.state in (appointments.CANCELLED, appointments.NO_SHOW)
            with (
                ui.column()
                .classes(f'w-full gap-0 q-pa-xs rounded-borders bg-{colour}-1' + (' opacity-60' if closed else ''))
                .mark('appointment')
            ):
                with ui.row().classes('w-full items-center gap-1'):
                    ui.label(item.scheduled_at.astimezone(appointments.local_zone()).strftime('%H:%M')).classes(
                        'text-weight-bold'
                    )
                    ui.link(item.patient_name, f'/patients/{item.patient_id}').classes('text-body2')
                    if item.urgent:
                        ui.badge(t('urgent'), color='negative')
                with ui.row().classes('w-full items-center gap-1'):
                    ui.label(f'{item.procedure} · {item.accession_number}').classes('text-caption')
                    ui.space()
                    ui.badge(t(item.state), color=colour).mark(f'state-{item.accession_number}')
                if not (may_book or may_check_in):
                    return
                with ui.row().classes('gap-0'):
                    if may_book and item.state in appointments.RESCHEDULABLE:
                        ui.button(icon='schedule', on_click=lambda i=item: reschedule_dialog(i)).props(
                            'flat dense size=sm'
                        ).tooltip(t('Reschedule')).mark(f'reschedule-{item.accession_number}')
                    if may_check_in and item.state in appointments.CANCELLABLE:
                        ui.button(icon='cancel', on_click=lambda i=item: cancel(i)).props('flat dense size=sm').tooltip(
                            t('Cancel')
                        ).mark(f'cancel-{item.accession_number}')
                    if may_check_in and item.state in (appointments.SCHEDULED, appointments.WAITING):
                        ui.button(icon='person_off', on_click=lambda i=item: no_show(i)).props(
                            'flat dense size=sm'
                        ).tooltip(t('No-show')).mark(f'no-show-{item.accession_number}')
                    if may_book and item.state not in appointments.CLOSED:
                        ui.button(icon='priority_high', on_click=lambda i=item: toggle_urgent(i)).props(
                            'flat dense size=sm'
                        ).tooltip(t('Urgent')).mark(f'urgent-{item.accession_number}')

        async def go_to(step: int) -> None:
            shown['day'] = appointments.today() if step == 0 else shown['day'] + timedelta(days=step)
            await schedule.refresh()

        async def cancel(item: appointments.Card) -> None:
            await perform(appointments.cancel, item.id, by=actor, success=t('Cancelled'))
            await schedule.refresh()

        async def no_show(item: appointments.Card) -> None:
            await perform(appointments.no_show, item.id, by=actor, success=t('Marked as no-show'))
            await schedule.refresh()

        async def toggle_urgent(item: appointments.Card) -> None:
            await perform(appointments.set_urgent, item.id, not item.urgent, by=actor)
            await schedule.refresh()

        def reschedule_dialog(item: appointments.Card) -> None:
            local = item.scheduled_at.astimezone(appointments.local_zone())
            with ui.dialog() as dialog, ui.card():
                ui.label(t('Reschedule {accession}', accession=item.accession_number)).classes('text-h6')
                new_day = ui.input(t('Date'), value=local.date().isoformat()).props('type=date').mark('reschedule-date')
                new_time = ui.input(t('Time'), value=local.strftime('%H:%M')).props('type=time').mark('reschedule-time')

                async def save() -> None:
                    when = _local(new_day.value, new_time.value)
                    if when is None:
                        ui.notify(t('Choose the date and time'), type='warning')
                        return
                    if (
                        await perform(appointments.reschedule, item.id, when, by=actor, success=t('Rescheduled'))
                        is not FAILED
                    ):
                        dialog.close()
                        await schedule.refresh()

                with ui.row():
                    ui.button(t('Save'), on_click=save).mark('reschedule-save')
                    ui.button(t('Cancel'), on_click=dialog.close).props('flat')
            dialog.open()

        with ui.row().classes('w-full items-start gap-6 no-wrap'):
            if may_book:
                with ui.card().classes('w-96 shrink-0').mark('booking'):
                    await booking_form(actor, rooms, offered, patient, after=schedule.refresh)
            with ui.column().classes('grow min-w-0'):
                await schedule()
        live.on(events.AppointmentChanged).subscribe(schedule.refresh)


async def booking_form(actor: access.Actor, rooms: Any, offered: Any, patient_id: int | None, *, after: Any) -> None:
    """Choose the patient (search), the procedure, the room and the time; Book makes the accession number."""
    form = AppointmentCreate(patient_id=patient_id)
    fields: dict[str, Any] = {}
    chosen = {'name': ''}
    if patient_id is not None:
        found = await perform(patients.get, patient_id, by=actor)
        chosen['name'] = '' if found is FAILED else f'{found.name} · {found.patient_id}'
        if found is FAILED:
            form.patient_id = None

    @ui.refreshable
    async def patient_choice() -> None:
        if form.patient_id is not None:
            with ui.row().classes('items-center'):
                ui.icon('person', color='primary')
                ui.label(chosen['name']).mark('chosen-patient')
                ui.button(icon='close', on_click=clear_patient).props('flat dense round size=sm')
            return
        text = (finder.value or '').strip()
        if len(text) < 2:
            return
        page = await perform(patient_search.search, text, by=actor, limit=6)
        if page is FAILED:
            return
        for row in page.rows:
            ui.item(f'{row.name} · {row.patient_id} · {row.birth_date or ""}', on_click=lambda r=row: choose(r)).props(
                'clickable dense'
            ).mark('patient-choice')

    async def choose(row: Any) -> None:
        form.patient_id, chosen['name'] = row.id, f'{row.name} · {row.patient_id}'
        finder.set_visibility(False)
        await patient_choice.refresh()

    async def clear_patient() -> None:
        form.patient_id = None
        finder.set_visibility(True)
        await patient_choice.refresh()

    def procedure_chosen() -> None:
        procedure = next((p for p in offered if p.id == form.procedure_id), None)
        if procedure is None:
            return
        matching = {r.id: f'{r.room or r.ae_title} ({r.modality})' for r in rooms if r.modality == procedure.modality}
        room_select.set_options(matching or {r.id: f'{r.room or r.ae_title} ({r.modality})' for r in rooms})
        if len(matching) == 1:
            form.modality_id = next(iter(matching))
        fields['duration_minutes'].value = procedure.duration_minutes

    async def book() -> None:
        form.scheduled_at = _local(day.value, at.value)
        made = await submit_form(lambda: appointments.book(form, by=actor), fields)
        if made is FAILED:
            return
        ui.notify(t('Booked: accession number {accession}', accession=made.accession_number), type='positive')
        await after()

    ui.label(t('Book an appointment')).classes('text-h6')
    finder = (
        ui.input(t('Patient: name or Patient ID'), on_change=patient_choice.refresh)
        .props('debounce=250')
        .classes('w-full')
        .mark('booking-patient')
    )
    finder.set_visibility(form.patient_id is None)
    fields['patient_id'] = finder
    with ui.column().classes('w-full gap-0'):
        await patient_choice()
    fields['procedure_id'] = (
        ui.select({p.id: f'{p.name} ({p.modality})' for p in offered}, label=t('Procedure'), on_change=procedure_chosen)
        .bind_value(form, 'procedure_id')
        .classes('w-full')
        .mark('booking-procedure')
    )
    room_select = (
        ui.select({r.id: f'{r.room or r.ae_title} ({r.modality})' for r in rooms}, label=t('Room'))
        .bind_value(form, 'modality_id')
        .classes('w-full')
        .mark('booking-room')
    )
    fields['modality_id'] = room_select
    with ui.row().classes('w-full no-wrap'):
        day = ui.input(t('Date'), value=appointments.today().isoformat()).props('type=date').mark('booking-date')
        at = ui.input(t('Time'), value=_next_slot()).props('type=time').mark('booking-time')
    fields['scheduled_at'] = at
    fields['duration_minutes'] = (
        ui.number(t('Minutes'), min=1, max=600, format='%d')
        .bind_value(form, 'duration_minutes', forward=lambda v: int(v) if v else None)
        .classes('w-28')
    )
    ui.input(t('Referring physician')).bind_value(form, 'referring_physician').classes('w-full')
    ui.input(t('Notes')).bind_value(form, 'notes').classes('w-full')
    ui.checkbox(t('Urgent')).bind_value(form, 'urgent').mark('booking-urgent')
    ui.button(t('Book'), icon='event_available', on_click=book).mark('booking-save')


def _local(day_text: str | None, time_text: str | None) -> datetime | None:
    try:
        return datetime.combine(
            date.fromisoformat(day_text or ''), time.fromisoformat(time_text or ''), tzinfo=appointments.local_zone()
        )
    except ValueError:
        return None


def _next_slot() -> str:
    now = datetime.now(appointments.local_zone())
    minute = (now.minute // 15 + 1) * 15
    slot = now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minute)
    return slot.strftime('%H:%M')


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
