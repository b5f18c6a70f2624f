"""Settings: how long a session lasts after sign-in, per role and for waiting-room screens."""

from nicegui import ui

from domain import options
from domain.errors import N_
from domain.option_rules import KIOSK_SESSION_KEY, SESSION_KEYS

from ..i18n import t
from .settings_form import SettingsCard


class SessionsCard(SettingsCard):
    """Hours from sign-in until a session ends, used or not; a change applies to sessions already open."""

    name, title = 'sessions', N_('Session lifetimes')
    keys = (*SESSION_KEYS.values(), KIOSK_SESSION_KEY)

    def fields(self) -> None:
        with ui.grid(columns=2).classes('w-full gap-x-4'):
            for role, key in SESSION_KEYS.items():
                role_name = t(role)
                label = t('{role} (hours)', role=role_name[:1].upper() + role_name[1:])
                self.bound(key, ui.number(label, step=1, format='%d'))
            self.bound(KIOSK_SESSION_KEY, ui.number(t('Waiting-room screen (hours)'), step=1, format='%d'))
        staff, kiosk = options.default(SESSION_KEYS['admin']), options.default(KIOSK_SESSION_KEY)
        ui.label(
            t(
                'Hours from sign-in until the session ends, used or not; open sessions follow a change. Unless set '
                'here: {staff} h for staff (PACS_SESSION_LIFETIME_HOURS), {kiosk} h for waiting-room screens '
                '(PACS_KIOSK_SESSION_LIFETIME_HOURS).',
                staff=staff,
                kiosk=kiosk,
            )
        ).classes('text-caption text-grey-7')
