"""Settings: arriving images — the quiet period that completes a study, and whether any modality may connect."""

from nicegui import ui

from domain import options
from domain.errors import N_

from ..i18n import t
from .settings_form import SettingsCard


class ArrivalsCard(SettingsCard):
    """The study-complete quiet period (seconds) and accepting unknown calling AE titles (unless the environment
    fixes it: PACS_ACCEPT_ANY_AE)."""

    name, title = 'arrivals', N_('Arriving images')
    keys = ('study_quiet_seconds', 'accept_any_ae')

    def fields(self) -> None:
        quiet = ui.number(t('Study complete after (seconds)'), step=0.5, format='%.1f').classes('w-64')
        self.bound('study_quiet_seconds', quiet)
        ui.label(
            t('A study is complete, and its thumbnails are made, once no new image has come for this long')
        ).classes('text-caption text-grey-7')
        self.bound(
            'accept_any_ae', ui.switch(t('Accept images and queries from any modality, not only the configured ones'))
        )
        if options.is_overridden('accept_any_ae'):
            ui.label(t('Fixed by PACS_ACCEPT_ANY_AE in the environment')).classes('text-caption text-grey-7')
