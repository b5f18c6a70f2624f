"""The technician's part of a study card: mark the study urgent, give it to a radiologist, and enter the accession
number or the patient its images did not carry. Only the index changes (audited, old -> new); the files stay exactly
as they were received."""

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from domain import access, reading, study_corrections, study_lists
from domain.access import Actor, Permission
from domain.models import display_person_name
from domain.study_corrections import StudyWork

from .i18n import t
from .patients import submit_form
from .shell import FAILED, perform


def work_button(study_id: int, actor: Actor) -> None:
    """The card's button (technicians and administrators); it opens the study's dialog."""
    if not access.may(actor, Permission.RECONCILE_STUDIES):
        return
    ui.button(
        t('Urgency, reader, details…'), icon='edit_note', on_click=lambda: StudyWorkDialog(actor, study_id).open()
    ).props('flat dense no-caps').mark(f'work-{study_id}')


class StudyWorkDialog:
    """One study's urgency, its radiologist, its accession number and its patient, each saved on its own."""

    def __init__(self, actor: Actor, study_id: int) -> None:
        self.actor, self.study_id = actor, study_id
        self.urgent = False  # as saved: the switch put back after a refusal is no change to save
        self.doctors: dict[int, str] | None = None  # the radiologists, for those who may assign them

    async def open(self) -> None:
        shown = await perform(study_corrections.work, self.study_id, by=self.actor)
        if shown is FAILED:
            return
        if access.may(self.actor, Permission.ASSIGN_READERS):
            found = await perform(reading.radiologists, by=self.actor)
            if found is FAILED:
                return
            self.doctors = dict(found)
        with ui.context.client.content:  # not inside the card, which a change to the study draws again
            self.dialog = ui.dialog()
        self.dialog.on('hide', self.dialog.delete)  # built again at each opening
        with self.dialog, ui.card().classes('w-[34rem] max-w-full').mark('study-work'):
            ui.label(t('Urgency, reader and details')).classes('text-h6')
            await self.body(shown)
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Close'), on_click=self.dialog.close).props('flat')
        self.dialog.open()

    @ui.refreshable_method
    async def body(self, shown: StudyWork) -> None:
        """Drawn again after the accession number is saved: it may have filed the study under a patient."""
        self.urgent = shown.urgent
        self.urgency = ui.switch(t('Urgent'), value=shown.urgent, on_change=self.set_urgent).mark('work-urgent')
        if self.doctors is not None:
            self.reader(shown, dict(self.doctors))
        ui.separator()
        self.accession(shown)
        ui.separator()
        await self.patient(shown)

    def reader(self, shown: StudyWork, doctors: dict[int, str]) -> None:
        if shown.assigned_to_id is not None and shown.assigned_to_id not in doctors:  # a reader no longer active
            doctors[shown.assigned_to_id] = shown.assigned_to
        if not doctors:
            ui.label(t('No radiologist account is active')).classes('text-grey-7').mark('work-reader')
            return
        ui.select(
            doctors, label=t('Radiologist to read it'), value=shown.assigned_to_id, on_change=self.assign
        ).classes('w-full').mark('work-reader')

    def accession(self, shown: StudyWork) -> None:
        booked = shown.appointment_id is not None
        with ui.row().classes('w-full items-start gap-2 no-wrap'):
            self.accession_input = (
                ui.input(t('Accession number'), value=shown.accession_number)
                .props(f'maxlength={study_corrections.ACCESSION_LENGTH}')
                .classes('grow')
                .mark('work-accession')
            )
            save = (
                ui.button(t('Save'), on_click=self.save_accession).props('outline no-caps').mark('work-save-accession')
            )
        if booked:
            self.accession_input.disable()
            save.disable()
            ui.label(t('From its appointment')).classes('text-caption text-grey-7')
        elif not shown.accession_number:
            ui.label(t('The images came without an accession number')).classes('text-caption text-grey-7')

    async def patient(self, shown: StudyWork) -> None:
        if shown.matched:
            ui.label(f'{t("Patient")}: {shown.patient_name} · {shown.patient_id}').mark('work-patient')
            return
        name = display_person_name(shown.patient_name) or t('(no name)')
        ui.label(t('Not filed under a patient yet; the images name: {name}', name=name)).mark('work-patient')
        from .unmatched import PatientChoices  # unmatched imports the study card, which imports this module

        await PatientChoices(self.actor, on_choose=self.file_under).build()

    async def set_urgent(self, event: ValueChangeEventArguments) -> None:
        urgent = bool(event.value)
        if urgent == self.urgent:
            return
        self.urgency.disable()  # one change at a time: a second click waits for the first to be saved
        done = await perform(
            reading.set_urgent,
            self.study_id,
            urgent,
            by=self.actor,
            success=t('Marked urgent') if urgent else t('No longer urgent'),
        )
        if done is not FAILED:
            self.urgent = urgent
        self.urgency.set_value(self.urgent)
        self.urgency.enable()

    async def assign(self, event: ValueChangeEventArguments) -> None:
        if event.value is not None:
            await perform(reading.assign, self.study_id, int(event.value), by=self.actor, success=t('Assigned'))

    async def save_accession(self) -> None:
        value = self.accession_input.value or ''
        saved = await submit_form(
            lambda: study_corrections.correct_accession(self.study_id, value, by=self.actor),
            {'accession_number': self.accession_input},
        )
        if saved is FAILED:
            return
        ui.notify(t('Accession number saved'), type='positive')
        shown = await perform(study_corrections.work, self.study_id, by=self.actor)
        if shown is not FAILED:
            await self.body.refresh(shown)

    async def file_under(self, patient_id: int) -> None:
        """The reconcile flow's own service: the study goes under the chosen patient (audited from -> to)."""
        done = await perform(study_lists.assign, self.study_id, patient_id, by=self.actor, success=t('Study assigned'))
        if done is not FAILED:
            self.dialog.close()
