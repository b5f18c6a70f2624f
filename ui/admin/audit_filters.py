"""The audit page's question: which days, whose, about which patient, which action, with which result."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from domain import audit_filters
from domain.audit_filters import OUTCOMES, AuditFilter
from domain.errors import InvalidInput

from ..i18n import error_text, t


class AuditFilterForm:
    """One row of inputs; `asked()` is what they say, or None (with the problem shown) when a day is mistyped."""

    def __init__(self, on_search: Callable[[], Awaitable[None]], actions: list[str]) -> None:
        self.on_search = on_search
        with ui.row().classes('items-end gap-2 w-full'):
            self.since = self.day(t('First day'), 'audit-since')
            self.until = self.day(t('Last day'), 'audit-until')
            self.username = self.text(t('User'), 'audit-user')
            self.patient = self.text(t('Patient ID'), 'audit-patient')
            self.action = self.text(t('Action'), 'audit-action')
            self.action.set_autocomplete(actions)
            outcomes = {'': t('Any result'), **{outcome: t(outcome) for outcome in OUTCOMES}}
            self.outcome = ui.select(outcomes, value='', label=t('Result')).props('dense').classes('w-36')
            self.outcome.mark('audit-outcome')
            self.object_id = self.text(t('Object id'), 'audit-object')
            ui.button(t('Search'), icon='search', on_click=on_search).props('data-testid=audit-search').mark(
                'audit-search'
            )

    def day(self, label: str, marker: str) -> ui.input:
        return ui.input(label).props('dense clearable type=date stack-label').classes('w-40').mark(marker)

    def text(self, label: str, marker: str) -> ui.input:
        field = ui.input(label).props(f'dense clearable data-testid={marker}').classes('w-36').mark(marker)
        field.on('keydown.enter', self.on_search)
        return field

    def asked(self) -> AuditFilter | None:
        """The filter the inputs describe; a mistyped day is marked on its input (what was typed stays)."""
        for field in (self.since, self.until):
            field.props(remove='error error-message')
        try:
            return audit_filters.as_filter(
                {
                    'since': self.since.value,
                    'until': self.until.value,
                    'username': self.username.value,
                    'patient': self.patient.value,
                    'action': self.action.value,
                    'outcome': self.outcome.value,
                    'object_id': self.object_id.value,
                }
            )
        except InvalidInput as error:
            for name, field in (('since', self.since), ('until', self.until)):
                if name in error.fields:
                    field.props(f'error error-message="{t(error.fields[name])}"')
            ui.notify(error_text(error), type='warning')
            return None
