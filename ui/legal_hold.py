"""The legal-hold toggle of a patient or a study: administrators switch it (saying why), others see a chip.

A patient or study under legal hold is never removed: retention runs skip it and the trash refuses it.
"""

from nicegui import ui

from domain import access, retention
from domain.access import Actor, Permission
from domain.retention import Hold

from .i18n import t
from .shell import FAILED, perform


class LegalHoldToggle:
    """One patient's or study's hold: a switch with a reason dialog for administrators, a chip for everyone else."""

    def __init__(self, actor: Actor, *, patient_id: int | None = None, study_id: int | None = None) -> None:
        self.actor, self.patient_id, self.study_id = actor, patient_id, study_id
        self.may_change = access.may(actor, Permission.MANAGE_RETENTION)

    async def build(self) -> None:
        with ui.row().classes('items-center gap-1'):
            await self.show()

    @ui.refreshable_method
    async def show(self) -> None:
        hold = await perform(retention.hold_of, patient_id=self.patient_id, study_id=self.study_id, by=self.actor)
        if hold is FAILED:
            return
        if self.study_id is not None and hold.patient_held:
            ui.chip(t('Patient on legal hold'), icon='gavel', color='amber-3').props('dense').mark('patient-hold-chip')
        if self.may_change:
            self.switch(hold)
        elif hold.held:
            ui.chip(t('Legal hold'), icon='gavel', color='amber-3').props('dense').mark('legal-hold-chip')

    def switch(self, hold: Hold) -> None:
        switch = ui.switch(t('Legal hold'), value=hold.held).props('dense color=warning').mark('legal-hold')
        switch.on_value_change(lambda event: self.ask(bool(event.value)) if event.value != hold.held else None)

    def ask(self, held: bool) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            title = t('Put under legal hold') if held else t('Release the legal hold')
            ui.label(title).classes('text-h6')
            if held:
                ui.label(t('Nothing under legal hold is removed: retention runs skip it, the trash refuses it.'))
            reason = ui.input(t('Why (a case, a request)')).props('maxlength=500').classes('w-full').mark('hold-reason')

            async def save() -> None:
                done = await perform(
                    retention.set_legal_hold,
                    patient_id=self.patient_id,
                    study_id=self.study_id,
                    held=held,
                    by=self.actor,
                    reason=reason.value or '',
                    success=t('Legal hold placed') if held else t('Legal hold released'),
                )
                if done is not FAILED:
                    dialog.close()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat').mark('hold-cancel')
                ui.button(t('Save'), on_click=save).mark('hold-save')
        dialog.on_value_change(lambda event: None if event.value else self.show.refresh())  # shows what is on file
        dialog.open()
