"""Home: a greeting and the screens this role uses, as large tiles that work on a tablet; the administrator's home
opens with the operations dashboard (ui/admin/ops_dashboard.py)."""

from nicegui import ui

from domain import access

from . import restore_page
from .admin.ops_dashboard import OpsDashboard
from .i18n import t
from .shell import current_actor, menu_for, nav, screen

DASHBOARD = '/admin/jobs'  # who may open the Jobs screen sees the dashboard: jobs, listener, disk, backups, arrivals


def register() -> None:
    nav('/', 'Home', 'home', order=0)

    @screen('/', title='Home')
    async def home_page() -> None:
        actor = current_actor()
        ui.label(t('Welcome, {name}', name=actor.username)).classes('text-h5').mark('welcome')
        await restore_page.offer(actor)  # admins of a fresh install: restore from a backup
        if access.may_open(actor.role, DASHBOARD):
            await OpsDashboard(actor).build()
        with ui.row().classes('gap-4 flex-wrap'):
            for item in menu_for(actor.role):
                if item.path == '/':
                    continue
                with (
                    ui.card()
                    .classes('w-56 cursor-pointer hover:shadow-lg')
                    .on('click', lambda i=item: ui.navigate.to(i.path))
                    .mark('home-tile')
                ):
                    ui.icon(item.icon, size='lg', color='primary')
                    ui.label(t(item.label)).classes('text-subtitle1')
