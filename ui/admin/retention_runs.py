"""The confirmed retention runs: progress while one runs, then what was removed and what was skipped and why."""

from nicegui import ui

from domain import retention_runs, work
from domain.access import Actor
from domain.retention_runs import RunRow, RunStudy

from ..i18n import format_datetime, job_error_text, t, tn
from ..shell import FAILED, perform
from .retention_preview import size_text

SHOWN_RUNS = 10
POLL_S = 1.0  # while a run is under way its counts are read again this often
STATE_COLOURS = {'queued': 'grey', 'running': 'primary', 'done': 'positive'}


class RunsPanel:
    """The newest confirmed runs; looks again every POLL_S while one is queued or running."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    async def build(self) -> None:
        ui.label(t('Runs')).classes('text-h6 q-mt-md')
        self.timer = ui.timer(POLL_S, self.listing.refresh, active=False)
        await self.listing()

    async def refresh(self) -> None:
        await self.listing.refresh()

    @ui.refreshable_method
    async def listing(self) -> None:
        rows = await perform(retention_runs.runs, by=self.actor, limit=SHOWN_RUNS)
        if rows is FAILED:
            return
        self.timer.active = any(row.state != 'done' and row.job_state not in ('failed', work.DISCARDED) for row in rows)
        if not rows:
            ui.label(t('No run yet')).classes('text-grey-7').mark('no-runs')
        for row in rows:
            await self.run_card(row)

    async def run_card(self, row: RunRow) -> None:
        with ui.card().classes('w-full q-pa-sm').mark(f'run-{row.id}'):
            with ui.row().classes('items-center w-full gap-3'):
                ui.badge(t(row.state), color=STATE_COLOURS.get(row.state, 'grey')).mark(f'run-state-{row.id}')
                ui.label(f'#{row.id} {row.rule_name}').classes('text-weight-medium')
                ui.label(f'{row.confirmed_by} · {format_datetime(row.confirmed_at)}').classes('text-grey-7')
                ui.space()
                ui.label(counts_text(row)).mark(f'run-counts-{row.id}')
            if row.job_state == 'failed':
                with ui.row().classes('items-center gap-2 text-negative').mark(f'run-failed-{row.id}'):
                    ui.label(t('The job failed: {error}', error=job_error_text(row.job_error)))
                    ui.link(t('Retry it under Jobs'), '/admin/jobs')
            elif row.job_state == work.DISCARDED:
                ui.label(t('Its job was discarded: the run stays unfinished')).classes('text-grey-8').mark(
                    f'run-discarded-{row.id}'
                )
            if row.removed or row.skipped:
                self.outcomes(await perform(retention_runs.run_studies, row.id, by=self.actor))

    def outcomes(self, studies: list[RunStudy]) -> None:
        if studies is FAILED:
            return
        skipped = [study for study in studies if study.outcome == retention_runs.SKIPPED]
        for study in skipped:
            ui.label(t('Study {id} skipped: {reason}', id=study.study_id, reason=t(study.reason))).classes(
                'text-caption text-grey-8'
            ).mark(f'skipped-{study.study_id}')
        removed = [study.study_id for study in studies if study.outcome == retention_runs.REMOVED]
        if removed:
            with ui.expansion(t('Studies moved to the trash')).classes('w-full').props('dense'):
                ui.label(', '.join(str(study_id) for study_id in removed)).classes('text-caption')
                ui.link(t('Restore one from the trash'), '/admin/trash').classes('text-caption')


def counts_text(row: RunRow) -> str:
    """'3 removed · 1 skipped · of 4 · 1.2 GB freed'."""
    return ' · '.join(
        (
            tn('{count} removed', '{count} removed', row.removed),
            tn('{count} skipped', '{count} skipped', row.skipped),
            tn('of {count} study', 'of {count} studies', row.studies),
            t('{size} freed', size=size_text(row.freed_bytes)),
        )
    )
