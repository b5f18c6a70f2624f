"""The preview of a retention rule: the studies it would move to the trash, with totals, those a legal hold keeps
back, and the confirmation of exactly the listed studies."""

from collections import Counter
from collections.abc import Awaitable, Callable

from babel.units import format_unit
from nicegui import ui

from domain import retention
from domain.access import Actor
from domain.errors import N_
from domain.retention import Preview, PreviewStudy

from ..i18n import current_language, format_date, t, tn
from ..shell import FAILED, perform

COLUMNS = (
    ('id', N_('Study')),
    ('date', N_('Study date')),
    ('modalities', N_('Modality')),
    ('description', N_('Description')),
    ('patient_id', N_('Patient ID')),
    ('patient', N_('Patient')),
    ('size', N_('Size')),
)


class PreviewPanel:
    """Below the rules: the preview of the rule last asked for, and its confirm dialog."""

    def __init__(self, actor: Actor, *, on_confirmed: Callable[[], Awaitable[None]]) -> None:
        self.actor, self.on_confirmed = actor, on_confirmed
        self.current: Preview | None = None

    async def build(self) -> None:
        self.column = ui.column().classes('w-full').mark('preview')

    async def show(self, rule_id: int) -> None:
        shown = await perform(retention.preview, rule_id, by=self.actor)
        if shown is FAILED:
            return
        self.current = shown
        self.column.clear()
        with self.column, ui.card().classes('w-full'):
            self.summary(shown)
            if shown.held:
                self.held(shown.held)
            if shown.studies:
                study_table(shown.studies, 'preview-table')
                label = tn('Move {count} study to the trash', 'Move {count} studies to the trash', len(shown.studies))
                ui.button(label, icon='auto_delete', on_click=lambda: self.ask(shown)).props('color=negative').mark(
                    'move-to-trash'
                )

    def clear(self, rule_id: int | None) -> None:
        """Forget the preview of a rule that changed or went (a confirmation must follow a fresh preview)."""
        if self.current is not None and self.current.rule_id == rule_id:
            self.current = None
            self.column.clear()

    def summary(self, shown: Preview) -> None:
        ui.label(t('Preview of {name}', name=shown.rule_name)).classes('text-h6')
        ui.label(t('Studies dated {date} or earlier', date=format_date(shown.cutoff))).classes('text-grey-7')
        count = tn('{count} study', '{count} studies', len(shown.studies))
        ui.label(
            t('{studies} would move to the trash, freeing {size}', studies=count, size=size_text(shown.size_bytes))
        )
        if not shown.studies:
            ui.label(t('This rule picks no study now')).classes('text-grey-7').mark('preview-empty')

    def held(self, held: tuple[PreviewStudy, ...]) -> None:
        with ui.column().classes('gap-0 bg-amber-1 q-pa-sm rounded-borders w-full').mark('preview-held'):
            ui.label(
                tn('{count} study kept back by a legal hold', '{count} studies kept back by a legal hold', len(held))
            )
            for reason, count in sorted(Counter(study.held_because for study in held).items()):
                ui.label(f'{t(reason)}: {count}').classes('text-caption')
            with ui.expansion(t('Show them')).classes('w-full'):
                study_table(held, 'held-table')

    def ask(self, shown: Preview) -> None:
        count = len(shown.studies)
        with ui.dialog() as dialog, ui.card().classes('w-[32rem] max-w-full'):
            ui.label(
                tn('Move {count} study to the trash?', 'Move {count} studies to the trash?', count)
                + f' ({size_text(shown.size_bytes)})'
            ).classes('text-h6')
            ui.label(t('Exactly the studies listed go; one that no longer matches or is put on hold is skipped.'))
            ui.label(
                tn(
                    'They stay in the trash for {count} day and can be restored from there.',
                    'They stay in the trash for {count} days and can be restored from there.',
                    shown.trash_days,
                )
            )

            async def go() -> None:
                confirm.disable()  # one run per confirmation, however often the button is pressed
                run_id = await perform(retention.confirm, shown.rule_id, shown.study_ids, by=self.actor)
                if run_id is FAILED:
                    confirm.enable()
                    return
                ui.notify(t('Run {id} started', id=run_id), type='positive')
                dialog.close()
                self.clear(shown.rule_id)
                await self.on_confirmed()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat').mark('cancel-run')
                confirm = ui.button(t('Move to the trash'), on_click=go).props('color=negative').mark('confirm-run')
        dialog.open()


def study_table(studies: tuple[PreviewStudy, ...], marker: str) -> None:
    """The studies of a preview, one row each."""
    columns = [{'name': name, 'label': t(label), 'field': name, 'align': 'left'} for name, label in COLUMNS]
    if studies and studies[0].held_because:
        columns.append({'name': 'held', 'label': t('Kept because'), 'field': 'held', 'align': 'left'})
    rows = [
        {
            'id': study.id,
            'date': format_date(study.study_date) if study.study_date else '',
            'modalities': study.modalities.replace('\\', ', '),
            'description': study.description,
            'patient_id': study.patient_id,
            'patient': study.patient_name,
            'size': size_text(study.size_bytes),
            'held': t(study.held_because) if study.held_because else '',
        }
        for study in studies
    ]
    ui.table(columns=columns, rows=rows, row_key='id', pagination=25).props('dense flat').classes('w-full').mark(marker)


def size_text(size: int) -> str:
    """A number of bytes in the reader's language (kB, MB, GB, TB)."""
    for unit, scale in (('digital-terabyte', 1e12), ('digital-gigabyte', 1e9), ('digital-megabyte', 1e6)):
        if size >= scale:
            return format_unit(size / scale, unit, length='short', locale=current_language(), format='#,##0.#')
    return format_unit(size / 1e3, 'digital-kilobyte', length='short', locale=current_language(), format='#,##0.#')
