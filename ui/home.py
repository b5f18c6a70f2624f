"""Home: a greeting and the screens this role uses, as large tiles that work on a tablet."""

from nicegui import ui

from .i18n import t
from .shell import current_actor, menu_for, nav, screen


def register() -> None:
    nav('/', 'Home', 'home', order=0)

    @screen('/', title='Home')
    async def home_page() -> None:
        actor = current_actor()
        ui.label(t('Welcome, {name}', name=actor.username)).classes('text-h5').mark('welcome')
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
