"""The trash: deleted studies and series with who deleted them, when and why, restorable until they are purged."""

from datetime import date

from nicegui import ui

from domain import options, trash, trash_records
from domain.access import Actor
from domain.errors import N_
from domain.trash_records import TrashEntry

from ..i18n import format_date, format_datetime, t, tn
from ..shell import FAILED, current_actor, fetch, nav, perform, screen
from .retention_preview import size_text

HEADINGS = (N_('What'), N_('Deleted'), N_('By'), N_('Reason'), N_('Size'), N_('Days left'), '')


def register() -> None:
    nav('/admin/trash', 'Trash', 'delete', order=87)

    @screen('/admin/trash', title='Trash')
    async def trash_page() -> None:
        await TrashPage(current_actor()).build()


class TrashPage:
    """The items in the trash, newest first, each with Restore and Delete now."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        days = await fetch(options.get, 'trash_days')
        ui.label(
            t('Deleted studies and series are kept {days} days, then deleted for good with their files.', days=days)
        ).classes('text-grey-7')
        with ui.card().classes('w-full'):
            await self.rows()

    @ui.refreshable_method
    async def rows(self) -> None:
        entries = await perform(trash.items, by=self.actor)
        if entries is FAILED:
            return
        if not entries:
            ui.label(t('The trash is empty')).classes('text-grey-7').mark('trash-empty')
            return
        with ui.grid(columns='2fr 10rem 8rem 2fr 6rem 6rem auto').classes('w-full items-center gap-x-4 gap-y-2'):
            for heading in HEADINGS:
                ui.label(t(heading)).classes('text-caption text-grey-7')
            for entry in entries:
                self.row(entry)

    def row(self, entry: TrashEntry) -> None:
        with ui.column().classes('gap-0').mark(f'trash-item-{entry.id}'):
            ui.label(what_text(entry)).classes('text-weight-medium')
            ui.label(detail_text(entry)).classes('text-caption text-grey-7')
        ui.label(format_datetime(entry.trashed_at))
        ui.label(entry.trashed_by)
        ui.label(entry.reason).classes('text-body2').style('overflow-wrap: anywhere')
        ui.label(size_text(entry.size_bytes))
        ui.label(str(entry.days_left)).mark(f'days-left-{entry.id}')
        with ui.row().classes('gap-1 no-wrap'):
            ui.button(t('Restore'), icon='restore_from_trash', on_click=lambda: self.restore(entry)).props(
                'flat dense no-caps'
            ).mark(f'restore-{entry.id}')
            ui.button(t('Delete now'), icon='delete_forever', on_click=lambda: self.confirm_purge(entry)).props(
                'flat dense no-caps color=negative'
            ).mark(f'purge-{entry.id}')

    async def restore(self, entry: TrashEntry) -> None:
        if await perform(trash.restore, entry.id, by=self.actor, success=t('Restored')) is not FAILED:
            await self.rows.refresh()

    def confirm_purge(self, entry: TrashEntry) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(t('Delete for good?')).classes('text-h6')
            ui.label(what_text(entry))
            ui.label(t('The images, reports and measurements cannot be restored afterwards.')).classes('text-caption')

            async def purge() -> None:
                if await perform(trash.purge, entry.id, by=self.actor, success=t('Deleted for good')) is not FAILED:
                    dialog.close()
                    await self.rows.refresh()

            with ui.row().classes('w-full justify-end'):
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                ui.button(t('Delete now'), on_click=purge).props('color=negative').mark('confirm-purge')
        dialog.open()


def what_text(entry: TrashEntry) -> str:
    """'Study CT · 30 Nov 2026 · CHEST' or 'Series 2 SR … of study …', from what the item kept to show."""
    summary = entry.summary
    when = summary.get('study_date') or ''
    parts = [
        summary.get('modalities', '').replace('\\', ', '),
        format_date(date.fromisoformat(when)) if when else '',
        summary.get('description', ''),
    ]
    study = ' · '.join(part for part in parts if part)
    if entry.kind == trash_records.SERIES:
        number = summary.get('series_number')
        series = ' '.join(
            str(part) for part in (number, summary.get('series_modality'), summary.get('series_description')) if part
        )
        return t('Series {series} of the study {study}', series=series, study=study)
    return t('Study {study}', study=study)


def detail_text(entry: TrashEntry) -> str:
    """Patient ID, accession number and what it holds."""
    summary = entry.summary
    parts = [
        f'{t("Patient ID")} {summary["patient_id"]}' if summary.get('patient_id') else '',
        f'{t("Accession")} {summary["accession_number"]}' if summary.get('accession_number') else '',
        tn('{count} image', '{count} images', entry.num_instances),
    ]
    return ' · '.join(part for part in parts if part)
