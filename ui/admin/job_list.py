"""Jobs: background work by state, the error of a failed job, Retry and Discard. The admin home lists the newest
failed jobs with the same row (`job_row`)."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from domain import backup_schedule, commitment, events, forwarding, reporting, retention, studies, work
from domain.access import Actor
from domain.errors import N_
from domain.models import Job

from .. import live
from ..i18n import format_datetime, job_error_text, t, tn
from ..shell import FAILED, current_actor, nav, perform, screen

STATE_COLOURS = {
    'queued': 'grey',
    'running': 'primary',
    'done': 'positive',
    'failed': 'negative',
    work.DISCARDED: 'grey',
}
STATES = ('', 'queued', 'running', 'done', 'failed', work.DISCARDED)
DISCARDED_NAME = N_('discarded')  # t(job.state) for the state domain.work.DISCARDED
JobAction = Callable[[int], Awaitable[None]]


def register() -> None:
    nav('/admin/jobs', 'Jobs', 'pending_actions', order=88)

    @screen('/admin/jobs', title='Jobs')
    async def jobs_page() -> None:
        await JobsPage(current_actor()).build()


class JobsPage:
    """A button per job state with its count, and the jobs in the chosen state (failed ones first shown)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.state = 'failed'  # '': every state

    async def build(self) -> None:
        await self.listing()
        live.on(events.JobChanged).subscribe(self.listing.refresh)

    @ui.refreshable_method
    async def listing(self) -> None:
        counts = await perform(work.counts, by=self.actor)
        jobs = await perform(work.listing, by=self.actor, state=self.state or None)
        if counts is FAILED or jobs is FAILED:
            return
        with ui.row().classes('gap-2'):
            for state in STATES:
                count = counts.get(state, 0) if state else sum(counts.values())
                ui.button(f'{t(state or "all")} ({count})', on_click=lambda s=state: self.show(s)).props(
                    'unelevated' if self.state == state else 'outline'
                ).mark(f'jobs-{state or "all"}')
        if not jobs:
            ui.label(t('No jobs here')).classes('text-grey-7')
        for job in jobs:
            job_row(job, retry=self.retry, discard=self.discard)

    async def show(self, state: str) -> None:
        self.state = state
        await self.listing.refresh()

    async def retry(self, job_id: int) -> None:
        await perform(work.retry, job_id, by=self.actor, success=t('Queued again'))
        await self.listing.refresh()

    async def discard(self, job_id: int) -> None:
        await perform(work.discard, job_id, by=self.actor, success=t('Discarded'))
        await self.listing.refresh()


def job_row(job: Job, *, retry: JobAction, discard: JobAction) -> None:
    """One job: state, what it works on, attempts, when it last moved; a failed one's error, Retry and Discard."""
    with ui.card().classes('w-full q-pa-sm').mark('job-row'):
        with ui.row().classes('items-center w-full gap-3'):
            ui.badge(t(job.state), color=STATE_COLOURS.get(job.state, 'grey'))
            ui.label(f'#{job.id} {_what(job)}').classes('text-weight-medium').tooltip(job.kind)
            ui.label(tn('{count} attempt', '{count} attempts', job.attempts)).classes('text-grey-7')
            ui.label(format_datetime(job.updated_at, 'medium')).classes('text-grey-7')
            ui.space()
            if job.state == 'failed':
                job_id = job.id or 0
                ui.button(t('Retry'), icon='replay', on_click=lambda: retry(job_id)).props('outline dense').mark(
                    f'retry-{job_id}'
                )
                ui.button(t('Discard'), icon='block', on_click=lambda: discard(job_id)).props(
                    'flat dense color=negative'
                ).mark(f'discard-{job_id}')
        if job.error:
            ui.label(job_error_text(job.error)).classes('text-negative text-caption font-mono whitespace-pre-wrap')


def _what(job: Job) -> str:
    """What the job works on, in the reader's words ('Thumbnails of series 12')."""
    if job.kind == studies.THUMBNAIL_JOB:
        return t('Thumbnails of series {id}', id=job.object_id)
    if job.kind == studies.METADATA_JOB:
        return t('Image details of series {id}', id=job.object_id)
    if job.kind == reporting.PDF_JOB:
        return t('PDF of report {id}', id=job.object_id)
    if job.kind == forwarding.FORWARD_JOB:
        return t('Forwarding of a study ({id})', id=job.object_id)
    if job.kind == commitment.REPORT_JOB:
        return t('Storage commitment report {id}', id=job.object_id)
    if job.kind == backup_schedule.BACKUP_JOB:
        return t('Backup run {id}', id=job.object_id)
    if job.kind == backup_schedule.DRILL_JOB:
        return t('Backup drill or check, run {id}', id=job.object_id)
    if job.kind == retention.RUN_JOB:
        return t('Retention run {id}', id=job.object_id)
    return f'{job.kind} · {job.object_id}'
