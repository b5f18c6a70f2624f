"""The administrator's home: operations at a glance. Backups, jobs, the DICOM listener and the data disk as status
cards; the newest failed jobs with Retry and Discard; studies and images per day over the last 30 days as a chart.

Each card reads its figures with one call off the event loop (perform). Job changes redraw the cards and the failed
jobs once per burst; the chart is drawn once per visit.
"""

from nicegui import ui

from domain import backup_runs, events, ops_figures, work
from domain.access import Actor
from domain.errors import N_
from domain.ops_figures import Daily

from .. import live
from ..i18n import t, tn
from ..live_lists import Debounce
from ..shell import FAILED, perform
from . import ops_server
from .backups import state_card
from .job_list import job_row
from .ops_cards import line, status_card
from .ops_chart import daily_chart
from .ops_server import DiskSeen, ListenerSeen
from .retention_preview import size_text
from .work_state import glance, work_card

FAILED_SHOWN = 5  # the newest failed jobs on the home; the Jobs screen has them all
REDRAW_DELAY_S = 1.0  # a burst of job changes (a study's thumbnails) redraws once
DAYS_LEFT_WARNING = 30  # the disk card turns amber when it fills within this many days at the current growth
DAYS_LEFT_SHOWN = 1000  # further off than this, "full in about N days" says nothing useful


class OpsDashboard:
    """The status cards, the failed jobs and the chart of the last days."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.daily = Daily(())
        self.redraw_soon = Debounce(self.redraw, REDRAW_DELAY_S)

    async def build(self) -> None:
        daily = await perform(ops_figures.daily, by=self.actor)  # the disk card's growth and the chart: one query
        if daily is not FAILED:
            self.daily = daily
        await self.cards()
        await self.failed_jobs()
        if daily is not FAILED:
            daily_chart(daily)
        live.on(events.JobChanged).subscribe(self.redraw_soon)

    @ui.refreshable_method
    async def cards(self) -> None:
        with ui.row().classes('gap-4 flex-wrap items-stretch'):
            shown = await perform(backup_runs.status)
            if shown is not FAILED:
                state_card(shown)
            seen = await perform(glance, by=self.actor)
            if seen is not FAILED:
                work_card(seen)
            heard = await perform(ops_server.listener)
            if heard is not FAILED:
                listener_card(heard)
            room = await perform(ops_server.disk)
            if room is not FAILED:
                disk_card(room, self.daily.growth_per_day)

    @ui.refreshable_method
    async def failed_jobs(self) -> None:
        jobs = await perform(work.listing, by=self.actor, state='failed', limit=FAILED_SHOWN)
        if jobs is FAILED or not jobs:
            return
        with ui.column().classes('w-full max-w-screen-lg gap-2').mark('failed-job-list'):
            with ui.row().classes('items-center gap-2'):
                ui.label(t('Failed jobs')).classes('text-subtitle1')
                ui.link(t('All jobs'), '/admin/jobs')
            for job in jobs:
                job_row(job, retry=self.retry, discard=self.discard)

    async def redraw(self) -> None:
        await self.cards.refresh()
        await self.failed_jobs.refresh()

    async def retry(self, job_id: int) -> None:
        if await perform(work.retry, job_id, by=self.actor, success=t('Queued again')) is not FAILED:
            await self.redraw()

    async def discard(self, job_id: int) -> None:
        if await perform(work.discard, job_id, by=self.actor, success=t('Discarded')) is not FAILED:
            await self.redraw()


LISTENER_LOOKS = {
    'ok': ('positive', N_('listening')),
    'saturated': ('warning', N_('busy')),
    'down': ('negative', N_('not listening')),
}


def listener_card(heard: ListenerSeen) -> None:
    """Whether modalities can send images: the listener's state, its AE title and ports."""
    colour, badge = LISTENER_LOOKS.get(heard.state, LISTENER_LOOKS['down'])
    with status_card(
        t('DICOM listener'), 'settings_input_antenna', colour, t(badge), mark=f'listener-state-{heard.state}'
    ):
        if heard.ae_title or heard.port is not None:
            where = t('AE title {title} · port {port}', title=heard.ae_title or '–', port=heard.port or '–')
            if heard.tls_port:
                where += ' · ' + t('TLS port {port}', port=heard.tls_port)
            line(where, mark='listener-where')
        if heard.state == 'saturated':
            line(t('Refusing new connections: every slot is taken'), warn=True)
        elif not heard.here and heard.processes:
            line(tn('{count} listener process running', '{count} listener processes running', heard.processes))
        elif heard.state == 'down':
            line(t('Modalities cannot send images now'), warn=True)


def disk_card(room: DiskSeen, growth_per_day: int) -> None:
    """The data disk: free space, how fast it fills (from what arrived lately) and how long that lasts."""
    days_left = room.disk.days_left(growth_per_day)
    if room.disk.free_bytes < room.min_free_bytes:
        colour, badge = 'negative', t('no space left')
    elif days_left is not None and days_left < DAYS_LEFT_WARNING:
        colour, badge = 'warning', t('filling up')
    else:
        colour, badge = 'positive', t('enough space')
    with status_card(t('Data disk'), 'storage', colour, badge, mark=f'disk-state-{colour}'):
        line(
            t('{free} free of {total}', free=size_text(room.disk.free_bytes), total=size_text(room.disk.total_bytes)),
            mark='disk-free',
        )
        if growth_per_day:
            line(t('Growing {size} a day', size=size_text(growth_per_day)), mark='disk-growth')
        else:
            line(t('Nothing arrived in the last {count} days', count=ops_figures.DAYS), mark='disk-growth')
        if days_left is not None and days_left < DAYS_LEFT_SHOWN:
            line(tn('Full in about {count} day', 'Full in about {count} days', days_left), mark='disk-days-left')
        if room.disk.free_bytes < room.min_free_bytes:
            line(t('Images are refused below {size} free', size=size_text(room.min_free_bytes)), warn=True)
