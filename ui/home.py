"""Home: a greeting and the screens this role uses, as large tiles that work on a tablet."""

from nicegui import ui

from domain import access, backup_runs

from . import restore_page
from .admin.backups import state_card
from .admin.work_state import glance, work_card
from .i18n import t
from .shell import FAILED, current_actor, menu_for, nav, perform, screen


def register() -> None:
    nav('/', 'Home', 'home', order=0)

    @screen('/', title='Home')
    async def home_page() -> None:
        actor = current_actor()
        ui.label(t('Welcome, {name}', name=actor.username)).classes('text-h5').mark('welcome')
        await restore_page.offer(actor)  # admins of a fresh install: restore from a backup
        if access.may_open(actor.role, '/admin/backups'):  # the administrator sees how fresh the last backup is
            shown = await perform(backup_runs.status)
            if shown is not FAILED:
                state_card(shown)
        if access.may_open(actor.role, '/admin/jobs'):  # and whether background work is getting done
            seen = await perform(glance)
            if seen is not FAILED:
                work_card(*seen)
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
