"""One patient: details, edit, the timeline (appointments, studies with thumbnails, reports), history, merge."""

import asyncio
from datetime import date
from html import escape

from nicegui import ui

from domain import access, events, patient_search, patients, reporting
from domain.access import Actor, Permission
from domain.errors import N_, DomainError
from domain.models import Patient

from . import live, thumbnails
from .board import badge_html
from .i18n import format_date, format_datetime, t
from .legal_hold import LegalHoldToggle
from .live_lists import Debounce, SharedRead
from .patient_access_log import patient_access_log
from .patients import SEX_OPTIONS, patient_inputs, submit_form
from .shell import FAILED, current_actor, perform, screen

KIND_ICONS = {'appointment': 'event', 'study': 'photo_library', 'report': 'description'}
# What the History tab calls each recorded change of a patient's record, and each field it lists.
HISTORY_ACTIONS = {
    'patient.create': N_('Registered'),
    'patient.update': N_('Details changed'),
    'patient.merge': N_('Merged into another record'),
    'patient.merged-in': N_('Another record merged into this one'),
    'patient.unmerge': N_('Merge undone'),
}
PATIENT_FIELDS = {
    'family_name': N_('Family name'),
    'given_name': N_('Given name'),
    'middle_name': N_('Middle name'),
    'birth_date': N_('Birth date'),
    'sex': N_('Sex'),
    'phone': N_('Phone'),
    'email': N_('Email'),
    'national_id': N_('National ID'),
    'address': N_('Address'),
    'notes': N_('Notes'),
}


def register() -> None:
    thumbnails.register()  # the timeline's thumbnail URLs

    @screen('/patients/{patient_id}', title='Patient')
    async def patient_page(patient_id: int) -> None:
        await PatientPage(patient_id, current_actor()).build()


class PatientPage:
    """One patient: the details card, the timeline and history tabs, edit and merge dialogs."""

    def __init__(self, patient_id: int, actor: Actor) -> None:
        self.patient_id, self.actor = patient_id, actor
        self.refreshing = asyncio.Lock()  # a save and its live event refresh one after the other, never interleaved
        self.appointment_ids: set[int] = set()  # what the timeline shows: the changes that concern this page
        self.study_ids: set[int] = set()
        self.history_built = False  # the History tab is built when first opened
        self.timeline_soon = Debounce(self.timeline.refresh)

    async def build(self) -> None:
        await self.details()
        patient_access_log(self.patient_id, self.actor)  # administrators only; read when opened
        with ui.tabs().classes('w-full') as tabs:
            timeline_tab = ui.tab(t('Timeline')).mark('tab-timeline')
            history_tab = ui.tab(t('History')).mark('tab-history')
        with ui.tab_panels(tabs, value=timeline_tab).classes('w-full') as panels:
            with ui.tab_panel(timeline_tab):
                await self.timeline()
            with ui.tab_panel(history_tab) as self.history_panel:
                pass
        panels.on_value_change(lambda event: self.open_history() if event.value == history_tab.props['name'] else None)
        live.on(events.PatientChanged).subscribe(self.on_change)
        live.on(events.AppointmentChanged).subscribe(self.on_appointment)
        live.on(events.ReportChanged).subscribe(self.on_report)

    async def open_history(self) -> None:
        if self.history_built:
            return
        self.history_built = True
        with self.history_panel:
            await self.history()

    @ui.refreshable_method
    async def details(self) -> None:
        patient = await perform(patients.get, self.patient_id, by=self.actor)
        if patient is FAILED:
            ui.label(t('No such patient')).classes('text-h6').mark('not-found')
            return
        if patient.merged_into_id is not None:
            self.merged_notice(patient.merged_into_id)
        with ui.card().classes('w-full'):
            with ui.row().classes('w-full items-center'):
                ui.label(patient.name).classes('text-h5').mark('patient-name')
                ui.badge(patient.patient_id).props('color=primary').mark('patient-id')
                await LegalHoldToggle(self.actor, patient_id=self.patient_id).build()
                ui.space()
                if patient.merged_into_id is None:
                    self.actions(patient)
            ui.html(details_html(patient), sanitize=False).mark('patient-details')

    def merged_notice(self, kept_id: int) -> None:
        with ui.row().classes('items-center gap-2 bg-amber-1 q-pa-sm rounded-borders w-full').mark('merged-notice'):
            ui.icon('merge_type', color='warning')
            ui.label(t('This record was merged into another one.'))
            ui.link(t('Open that record'), f'/patients/{kept_id}')
            if access.may(self.actor, Permission.MERGE_PATIENTS):
                ui.button(t('Undo the merge'), on_click=self.undo_merge).props('flat dense').mark('undo-merge')

    def actions(self, patient: Patient) -> None:
        if access.may(self.actor, Permission.EDIT_PATIENTS):
            ui.button(t('Edit'), icon='edit', on_click=lambda: self.edit_dialog(patient)).mark('edit-patient')
        if access.may(self.actor, Permission.BOOK_APPOINTMENTS):
            ui.button(
                t('Book'), icon='event', on_click=lambda: ui.navigate.to(f'/appointments?patient={self.patient_id}')
            ).props('outline').mark('book-patient')
        if access.may(self.actor, Permission.MERGE_PATIENTS):
            ui.button(t('Merge into…'), icon='merge_type', on_click=self.merge_dialog).props('flat').mark(
                'merge-patient'
            )

    @ui.refreshable_method
    async def timeline(self) -> None:
        entries = await perform(patient_search.timeline, self.patient_id, by=self.actor)
        if entries is FAILED:
            return
        self.appointment_ids = {e.object_id for e in entries if e.kind == 'appointment'}
        self.study_ids = {e.object_id for e in entries if e.kind == 'study'}
        if not entries:
            ui.label(t('Nothing yet')).classes('text-grey-7')
            return
        # One element for the whole timeline (Quasar's timeline markup, written here): a patient page is opened
        # all day long, and an element per label, badge, link and thumbnail was most of what a view cost the server.
        # Its markers name the kinds of entry it holds, and 'thumbnail' when it shows any (tests find them).
        kinds = sorted({f'timeline-{entry.kind}' for entry in entries})
        ui.html(timeline_html(entries), sanitize=False, tag='ul').classes(TIMELINE_CLASSES).mark(
            ' '.join(kinds + (['thumbnail'] if any(entry.thumbnails for entry in entries) else []))
        )

    @ui.refreshable_method
    async def history(self) -> None:
        rows = await perform(patients.changes, self.patient_id, by=self.actor)
        if rows is FAILED:
            return
        with ui.list().props('dense separator').classes('w-full'):
            for row in rows:
                with ui.item().mark('history-row'), ui.item_section():
                    action = t(HISTORY_ACTIONS.get(row.action, row.action))
                    ui.item_label(f'{format_datetime(row.at)} · {row.username} · {action}')
                    for name, (old, new) in row.detail.get('changes', {}).items():
                        shown = t(PATIENT_FIELDS.get(name, name))
                        ui.item_label(f'{shown}: {_value(name, old)} → {_value(name, new)}').props('caption')

    def edit_dialog(self, patient: Patient) -> None:
        form = patients.form_of(patient)
        with ui.dialog() as dialog, ui.card().classes('w-[40rem] max-w-full'):
            ui.label(t('Edit patient')).classes('text-h6')
            inputs = patient_inputs(form)

            async def save() -> None:
                done = await submit_form(lambda: patients.update_details(self.patient_id, form, by=self.actor), inputs)
                if done is not FAILED:
                    ui.notify(t('Saved'), type='positive')
                    dialog.close()
                    await self.refresh_all()

            with ui.row():
                ui.button(t('Save'), on_click=save).mark('edit-save')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()

    def merge_dialog(self) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(t('Merge this record into another')).classes('text-h6')
            ui.label(
                t('Appointments, studies and reports move to the record you keep. The merge can be undone.')
            ).classes('text-caption')
            target = ui.input(t('Patient ID of the record to keep')).mark('merge-target')
            with ui.row():
                ui.button(t('Merge'), on_click=lambda: self.merge(target.value or '', dialog)).props(
                    'color=negative'
                ).mark('merge-save')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()

    async def merge(self, kept_patient_id: str, dialog: ui.dialog) -> None:
        kept = await perform(patients.merge_into, self.patient_id, kept_patient_id, by=self.actor, success=t('Merged'))
        if kept is not FAILED:
            dialog.close()
            ui.navigate.to(f'/patients/{kept.id}')

    async def undo_merge(self) -> None:
        if await perform(patients.undo_merge, self.patient_id, by=self.actor, success=t('Merge undone')) is not FAILED:
            await self.refresh_all()

    async def on_change(self, event: events.PatientChanged) -> None:
        if event.patient_id == self.patient_id:
            await self.refresh_all()

    async def on_appointment(self, event: events.AppointmentChanged) -> None:
        """Only this patient's appointments redraw the timeline (one shared look-up says whose a new one is)."""
        APPOINTMENT_PATIENT.changed(event)
        if event.appointment_id not in self.appointment_ids:
            try:
                whose = await APPOINTMENT_PATIENT.read(event.appointment_id, by=self.actor)
            except DomainError:
                return
            if whose != self.patient_id:
                return
        await self.timeline_soon()

    async def on_report(self, event: events.ReportChanged) -> None:
        if event.study_id in self.study_ids:  # a report is on the timeline only through its study
            await self.timeline_soon()

    async def refresh_all(self) -> None:
        async with self.refreshing:
            await self.details.refresh()
            await self.timeline.refresh()
            if self.history_built:
                await self.history.refresh()


APPOINTMENT_PATIENT: SharedRead[int | None] = SharedRead(patient_search.patient_of_appointment)


TIMELINE_CLASSES = 'q-timeline q-timeline--dense q-timeline--dense--right w-full'
THUMBNAILS_SHOWN = 8  # an entry's first series' thumbnails


def details_html(patient: Patient) -> str:
    """The details card's facts, two label and value pairs a line, and the notes below them."""
    facts = (
        (t('Birth date'), format_date(patient.birth_date) if patient.birth_date else ''),
        (t('Sex'), t(SEX_OPTIONS.get(patient.sex, ''))),
        (t('Phone'), patient.phone),
        (t('Email'), patient.email),
        (t('National ID'), patient.national_id or ''),
        (t('Address'), patient.address),
    )
    cells = ''.join(
        f'<div class="text-grey-7">{escape(label)}</div><div>{escape(str(value))}</div>' for label, value in facts
    )
    notes = f'<div class="text-body2 text-grey-8 q-mt-sm">{escape(patient.notes)}</div>' if patient.notes else ''
    return f'<div class="grid gap-x-4 gap-y-1" style="grid-template-columns: 10rem 1fr 10rem 1fr">{cells}</div>{notes}'


def timeline_html(entries: list[patient_search.TimelineEntry]) -> str:
    """The entries as Quasar's QTimeline draws them (dense, on the right), each with its links and thumbnails."""
    return ''.join(_entry_html(entry) for entry in entries)


def _entry_html(entry: patient_search.TimelineEntry) -> str:
    links = []
    if entry.kind == 'study':
        links.append((t('Open in viewer'), f'/viewer/{entry.object_id}'))
    if entry.kind == 'report':
        links.append((t('Open report'), f'/reports/{entry.object_id}'))
        if entry.state != reporting.DRAFT:
            links.append(('PDF', f'/reports/{entry.object_id}/pdf'))
    line = (
        f'<div class="text-weight-medium">{escape(t(entry.title))}</div>'
        f'<div>{badge_html(t(entry.state), "primary", outline=True)}</div>'
        f'<div class="text-caption text-grey-7">{escape(entry.detail)}</div>'
        + ''.join(f'<a class="nicegui-link" href="{escape(href)}">{escape(text)}</a>' for text, href in links)
    )
    versions = entry.thumbnail_versions or ('',) * len(entry.thumbnails)
    images = ''.join(
        f'<img class="w-24 h-24 rounded-borders" style="object-fit: cover" alt="" '
        f'src="{escape(thumbnails.url(series_id, version))}">'
        for series_id, version in list(zip(entry.thumbnails, versions, strict=False))[:THUMBNAILS_SHOWN]
    )
    icon = (
        '<i class="q-icon notranslate material-icons row items-center justify-center" aria-hidden="true" '
        f'role="presentation">{KIND_ICONS[entry.kind]}</i>'
    )
    return (
        f'<li class="q-timeline__entry q-timeline__entry--right q-timeline__entry--icon" data-kind="{entry.kind}">'
        f'<div class="q-timeline__subtitle"><span>{escape(format_datetime(entry.at))}</span></div>'
        f'<div class="q-timeline__dot text-primary">{icon}</div>'
        '<div class="q-timeline__content"><h6 class="q-timeline__title"></h6>'
        f'<div class="row items-center gap-2">{line}</div>'
        + (f'<div class="row gap-2">{images}</div>' if images else '')
        + '</div></li>'
    )


def _value(field: str, value: object) -> str:
    """A recorded old or new value as the reader writes it: a birth date in their format, sex in words."""
    if not value:
        return '—'
    if field == 'birth_date':
        try:
            return format_date(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if field == 'sex':
        return t(SEX_OPTIONS.get(str(value), str(value)))
    return str(value)
