"""Settings: when the reading worklist turns a waiting study amber and red, and a new report's language."""

from nicegui import ui

from domain.errors import N_

from ..i18n import LANGUAGE_NAMES, t
from .settings_form import SettingsCard


class ReadingCard(SettingsCard):
    """Turnaround thresholds in minutes since the first image arrived (amber before red), the report language."""

    name, title = 'reading', N_('Reading and reports')
    keys = ('turnaround_amber_minutes', 'turnaround_red_minutes', 'report_language')

    def fields(self) -> None:
        with ui.row().classes('gap-4'):
            for key, label in (
                ('turnaround_amber_minutes', t('Amber after (minutes)')),
                ('turnaround_red_minutes', t('Red after (minutes)')),
            ):
                self.bound(key, ui.number(label, step=5, format='%d')).classes('w-48')
        ui.label(t("Time since a study's first image arrived, on the reading worklist")).classes(
            'text-caption text-grey-7'
        )
        choices = {'': t("The reader's language"), **LANGUAGE_NAMES}
        self.bound('report_language', ui.select(choices, label=t('Language of a new report'))).classes('w-full')
