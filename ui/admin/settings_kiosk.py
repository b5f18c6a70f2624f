"""Settings: the waiting-room kiosk's title, its columns and whether it shows names (it follows them live)."""

from nicegui import ui

from domain.errors import N_
from domain.option_rules import KIOSK_STATES

from ..board import COLUMN_TITLES
from ..i18n import t
from .settings_form import SettingsCard


class KioskCard(SettingsCard):
    """The kiosk's heading (empty: the clinic name), the appointment states it shows as columns, names or initials."""

    name, title = 'kiosk', N_('Waiting-room kiosk')
    keys = ('kiosk_title', 'kiosk_states', 'kiosk_show_names')

    def fields(self) -> None:
        self.bound('kiosk_title', ui.input(t('Title'), placeholder=t('Empty: the clinic name'))).classes('w-full')
        columns = {state: t(COLUMN_TITLES[state]) for state in KIOSK_STATES}
        self.bound('kiosk_states', ui.select(columns, label=t('Columns'), multiple=True)).props('use-chips').classes(
            'w-full'
        )
        self.bound('kiosk_show_names', ui.switch(t('Show full names instead of initials')))
