"""Backups: how fresh the last verified backup is, the policy, "Back up now", the runs with Retry, the archives in
the folder and the last drill. The admin home shows the same state as a card (`state_card`)."""

from datetime import timedelta

from babel import dates
from nicegui import ui

from domain import backup_runs, backup_schedule, events
from domain.access import Actor
from domain.backup_runs import RunRow
from domain.backup_schedule import BackupState
from domain.errors import N_

from .. import live
from ..i18n import current_language, format_datetime, job_error_text, t
from ..shell import FAILED, current_actor, nav, perform, screen
from .backup_policy import PolicyCard
from .ops_cards import line, status_card

STATE_COLOURS = {'ok': 'positive', 'amber': 'warning', 'red': 'negative', 'off': 'grey'}
STATE_NAMES = {'ok': N_('up to date'), 'amber': N_('overdue'), 'red': N_('needs attention'), 'off': N_('off')}
RUN_COLOURS = {'queued': 'grey', 'running': 'primary', 'done': 'positive', 'failed': 'negative'}
KIND_NAMES = {
    'full': N_('Full backup'),
    'incremental': N_('Incremental backup'),
    'drill': N_('Restore drill'),
    'check': N_('Stored archive check'),
}


def register() -> None:
    nav('/admin/backups', 'Backups', 'backup', order=90)

    @screen('/admin/backups', title='Backups')
    async def backups_page() -> None:
        await BackupsPage(current_actor()).build()


def state_card(shown: BackupState) -> None:
    """The last verified backup's age, green, amber, red or grey, linking to the Backups screen."""
    colour = STATE_COLOURS.get(shown.state, 'grey')
    badge = t(STATE_NAMES.get(shown.state, shown.state))
    with status_card(t('Backups'), 'backup', colour, badge, mark=f'backup-state-{shown.state}', link='/admin/backups'):
        line(verified_text(shown))
        if shown.reason:
            ui.label(t(shown.reason)).classes('text-caption text-grey-8')


def verified_text(shown: BackupState) -> str:
    if shown.age_seconds is None:
        return t('No verified backup yet')
    age = dates.format_timedelta(timedelta(seconds=shown.age_seconds), locale=current_language())
    return t('Last verified backup {age} ago', age=age)


class BackupsPage:
    """The state, the policy card, the buttons, and the runs and archives kept fresh by job events."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        await self.summary()
        current = await perform(backup_schedule.policy)
        if current is FAILED:
            return
        await PolicyCard(self.actor, current, self.refresh).build()
        with ui.row().classes('gap-2'):
            ui.button(t('Full backup now'), icon='backup', on_click=lambda: self.start('full')).mark('backup-full-now')
            ui.button(t('Incremental backup now'), on_click=lambda: self.start('incremental')).props('outline').mark(
                'backup-incremental-now'
            )
            ui.button(t('Drill now'), icon='fact_check', on_click=lambda: self.start('drill')).props('outline').mark(
                'backup-drill-now'
            )
        await self.runs()
        await self.archives()
        live.on(events.JobChanged).subscribe(self.on_job)

    async def refresh(self) -> None:
        await self.summary.refresh()
        await self.archives.refresh()

    async def on_job(self, event: events.JobChanged) -> None:
        if event.kind in (backup_schedule.BACKUP_JOB, backup_schedule.DRILL_JOB):
            await self.runs.refresh()
            await self.refresh()

    @ui.refreshable_method
    async def summary(self) -> None:
        shown = await perform(backup_runs.status)
        drill = await perform(backup_runs.last_drill, by=self.actor)
        if shown is FAILED or drill is FAILED:
            return
        with ui.row().classes('gap-4 items-stretch'):
            state_card(shown)
            with ui.card().classes('w-96').mark('last-drill'):
                ui.label(t('Last drill')).classes('text-subtitle1')
                if drill is None:
                    ui.label(t('No drill yet')).classes('text-grey-7')
                else:
                    ui.badge(t(drill.state), color=RUN_COLOURS.get(drill.state, 'grey'))
                    ui.label(f'{t(KIND_NAMES[drill.kind])} · {format_datetime(drill.created_at)}')
                    ui.label(_stored_text(drill.error or drill.outcome)).classes('text-caption')

    async def start(self, kind: str) -> None:
        await perform(backup_runs.start_now, kind, by=self.actor, success=t('Queued'))
        await self.runs.refresh()

    @ui.refreshable_method
    async def runs(self) -> None:
        rows = await perform(backup_runs.listing, by=self.actor)
        if rows is FAILED:
            return
        with ui.card().classes('w-full'):
            ui.label(t('Runs')).classes('text-h6')
            if not rows:
                ui.label(t('No backup has run yet')).classes('text-grey-7').mark('no-backup-runs')
            for row in rows:
                self.run(row)

    def run(self, row: RunRow) -> None:
        with ui.column().classes('w-full gap-0 q-py-xs').mark(f'backup-run-{row.id}'):
            with ui.row().classes('items-center w-full gap-3'):
                ui.badge(t(row.state), color=RUN_COLOURS.get(row.state, 'grey')).mark(f'backup-run-state-{row.id}')
                ui.label(t(KIND_NAMES.get(row.kind, row.kind))).classes('text-weight-medium')
                ui.label(format_datetime(row.created_at)).classes('text-grey-7')
                ui.label(row.triggered_by).classes('text-grey-7')
                if row.archive:
                    ui.label(row.archive).classes('font-mono text-caption')
                if row.size_bytes:
                    ui.label(_size(row.size_bytes)).classes('text-grey-7')
                ui.space()
                if row.state == 'failed':
                    ui.button(t('Retry'), icon='replay', on_click=lambda: self.retry(row.id)).props(
                        'outline dense'
                    ).mark(f'retry-backup-{row.id}')
            if row.error:
                ui.label(_stored_text(row.error)).classes('text-negative text-caption font-mono whitespace-pre-wrap')
            elif row.outcome:
                ui.label(_stored_text(row.outcome)).classes('text-caption')

    async def retry(self, run_id: int) -> None:
        await perform(backup_runs.retry, run_id, by=self.actor, success=t('Queued again'))
        await self.runs.refresh()

    @ui.refreshable_method
    async def archives(self) -> None:
        found = await perform(backup_runs.archives, by=self.actor)
        if found is FAILED:
            return
        with ui.card().classes('w-full').mark('backup-archives'):
            ui.label(t('Archives in the folder')).classes('text-h6')
            if not found:
                ui.label(t('No archive in the folder')).classes('text-grey-7')
            for info in found:
                with ui.row().classes('items-center gap-3'):
                    ui.label(info.name).classes('font-mono')
                    ui.label(t(KIND_NAMES.get(info.kind, info.kind)))
                    ui.label(_size(info.size)).classes('text-grey-7')
                    if info.parent:
                        ui.label(t('after {parent}', parent=info.parent)).classes('text-caption text-grey-7')


def _size(count: int) -> str:
    for unit, scale in (('GB', 1024**3), ('MB', 1024**2)):
        if count >= scale:
            return f'{count / scale:.1f} {unit}'
    return f'{max(1, round(count / 1024))} KB'


def _stored_text(stored: str) -> str:
    """A recorded error ('Kind: message') or outcome (a message) in the reader's language when it is a known one."""
    if stored.split(' ', 1)[0].endswith(':'):
        return job_error_text(stored)
    return job_error_text(f'-: {stored}')[3:]
