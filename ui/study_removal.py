"""Deleting a wrong study or series (into the trash, with a reason) and moving a study to another patient: the study
card's "Delete or move…" button and its dialogs, for administrators. A legal hold shows as disabled buttons with
the reason."""

from nicegui import ui

from domain import access, trash
from domain.access import Actor, Permission
from domain.studies import SeriesSummary, StudySummary

from .i18n import t, tn
from .shell import FAILED, perform


def removal_button(study: StudySummary, actor: Actor) -> None:
    """The card's button (administrators only); it opens the choices for this study."""
    if not access.may(actor, Permission.DELETE_STUDIES):
        return
    ui.button(t('Delete or move…'), icon='delete_outline', on_click=lambda: StudyRemoval(actor, study).open()).props(
        'flat dense no-caps color=negative'
    ).mark(f'remove-{study.id}')


class StudyRemoval:
    """The choices for one study: delete it, delete one of its series, or move it to another patient."""

    def __init__(self, actor: Actor, study: StudySummary) -> None:
        self.actor, self.study = actor, study

    async def open(self) -> None:
        held = await perform(trash.hold_reason, self.study.id, by=self.actor)
        if held is FAILED:
            return
        with ui.dialog() as dialog, ui.card().classes('w-[36rem] max-w-full').mark('removal-dialog'):
            ui.label(t('Delete or move this study')).classes('text-h6')
            if held:
                with ui.row().classes('items-center gap-2 bg-amber-1 q-pa-sm rounded-borders w-full'):
                    ui.icon('gavel', color='warning')
                    ui.label(t(held)).mark('legal-hold-reason')
            else:
                ui.label(
                    t('What is deleted waits in the trash and can be restored from there until it is purged.')
                ).classes('text-caption text-grey-8')
            with ui.row().classes('w-full items-center'):
                ui.label(t('The whole study')).classes('grow')
                self.guarded(
                    ui.button(t('Delete study…'), icon='delete', on_click=lambda: self.delete(dialog, None)).props(
                        'outline no-caps color=negative'
                    ),
                    held,
                ).mark('delete-study')
            for series in self.study.series:
                with ui.row().classes('w-full items-center'):
                    ui.label(_series_text(series)).classes('grow').mark(f'removal-series-{series.id}')
                    self.guarded(
                        ui.button(
                            t('Delete series…'), icon='delete', on_click=lambda s=series: self.delete(dialog, s)
                        ).props('flat dense no-caps color=negative'),
                        held,
                    ).mark(f'delete-series-{series.id}')
            ui.separator()
            with ui.row().classes('w-full items-center'):
                ui.label(t('Filed under the wrong patient?')).classes('grow')
                self.guarded(
                    ui.button(
                        t('Move to another patient…'), icon='person_search', on_click=lambda: self.move(dialog)
                    ).props('outline no-caps'),
                    held,
                ).mark('move-study')
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Close'), on_click=dialog.close).props('flat')
        dialog.open()

    @staticmethod
    def guarded(button: ui.button, held: str) -> ui.button:
        if held:
            button.disable()
            button.tooltip(t(held))
        return button

    def delete(self, parent: ui.dialog, series: SeriesSummary | None) -> None:
        """Ask for the reason, then move the study (or one series) to the trash."""
        with ui.dialog() as dialog, ui.card().classes('w-[32rem] max-w-full').mark('delete-dialog'):
            if series is None:
                ui.label(t('Delete this study?')).classes('text-h6')
                ui.label(f'{self.study.description} · {self.study.modalities.replace(chr(92), ", ")}')
            else:
                ui.label(t('Delete this series?')).classes('text-h6')
                ui.label(_series_text(series))
            reason = ui.textarea(t('Reason (required)')).props('autofocus maxlength=500').classes('w-full')
            reason.mark('removal-reason')

            async def confirm() -> None:
                if series is None:
                    call = perform(trash.trash_study, self.study.id, by=self.actor, reason=reason.value or '')
                else:
                    call = perform(trash.trash_series, series.id, by=self.actor, reason=reason.value or '')
                if await call is FAILED:
                    return
                ui.notify(t('Moved to the trash; an administrator can restore it there'), type='positive')
                dialog.close()
                parent.close()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                ui.button(t('Delete'), icon='delete', on_click=confirm).props('color=negative').mark('confirm-removal')
        dialog.open()

    async def move(self, parent: ui.dialog) -> None:
        """Ask for the reason and the patient, then file the study under that patient."""
        from .unmatched import PatientChoices  # unmatched imports the study card, which imports this module

        with ui.dialog() as dialog, ui.card().classes('w-[32rem] max-w-full').mark('move-dialog'):
            ui.label(t('Move the study to another patient')).classes('text-h6')
            reason = ui.input(t('Reason (required)')).props('maxlength=500').classes('w-full').mark('move-reason')

            async def choose(patient_id: int) -> None:
                done = await perform(
                    trash.move_study,
                    self.study.id,
                    patient_id,
                    by=self.actor,
                    reason=reason.value or '',
                    success=t('Study moved'),
                )
                if done is not FAILED:
                    dialog.close()
                    parent.close()

            await PatientChoices(self.actor, on_choose=choose).build()
            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()


def _series_text(series: SeriesSummary) -> str:
    number = f'{series.series_number} ' if series.series_number is not None else ''
    images = tn('{count} image', '{count} images', series.num_instances)
    return f'{number}{series.modality} {series.description} · {images}'.strip()
