"""One card of the Settings screen: a group of options typed into a form and saved together.

The form is a plain dict bound to the fields; Save sends what changed to options.put_many, which stores all or
nothing. A refused value stays as typed, with the reason under its field; the saved values change only on success.
"""

from abc import ABC, abstractmethod
from typing import Any, TypeVar

from nicegui import ui
from nicegui.elements.mixins.disableable_element import DisableableElement
from nicegui.elements.mixins.validation_element import ValidationElement
from nicegui.elements.mixins.value_element import ValueElement

from domain import options
from domain.access import Actor
from domain.errors import InvalidInput

from ..i18n import error_text, t
from ..shell import FAILED, perform

E = TypeVar('E', bound=ValueElement)


class SettingsCard(ABC):
    """A titled card of options with one Save button; subclasses draw the fields in `fields()`."""

    name: str  # markers: settings-<name> on the card, save-<name> on its button
    title: str  # an English text marked with N_, translated when drawn
    keys: tuple[str, ...]  # the options this card edits

    def __init__(self, actor: Actor, values: dict[str, Any]) -> None:
        self.actor = actor
        self.saved = {key: values[key] for key in self.keys}
        self.form: dict[str, Any] = dict(self.saved)
        self.inputs: dict[str, ValidationElement] = {}

    def build(self) -> None:
        with ui.card().classes('w-full max-w-xl').mark(f'settings-{self.name}'):
            ui.label(t(self.title)).classes('text-h6')
            self.fields()
            ui.button(t('Save'), on_click=self.save).mark(f'save-{self.name}').props(f'data-testid=save-{self.name}')

    @abstractmethod
    def fields(self) -> None:
        """Draw this card's fields, each bound to self.form through `bound()`."""

    def bound(self, key: str, element: E) -> E:
        """Bind a field to the form's value of this option (marked with the option's name) for its messages."""
        name = key.replace('_', '-')
        element.bind_value(self.form, key).mark(name).props(f'data-testid={name}')  # markers stay out of the DOM
        if isinstance(element, DisableableElement) and key not in self.editable():
            element.disable()
        if isinstance(element, ValidationElement):
            self.inputs[key] = element
        return element

    def changes(self) -> dict[str, Any]:
        """The options whose typed value differs from the saved one."""
        return {key: value for key, value in self.form.items() if key in self.editable() and value != self.saved[key]}

    def editable(self) -> tuple[str, ...]:
        """The options this card may change (one the environment fixes is only shown)."""
        return tuple(key for key in self.keys if not options.is_overridden(key))

    async def save(self) -> None:
        changes = self.changes()
        if not changes:
            self.show_problems({})
            ui.notify(t('Nothing has changed'))
            return
        outcome = await perform(self._put, changes)  # a refused role or an ended session: the usual notice
        if outcome is FAILED:
            return
        if isinstance(outcome, InvalidInput):
            self.show_problems(outcome.fields)
            ui.notify(error_text(outcome), type='warning')
            return
        self.saved.update(outcome)
        self.form.update(outcome)  # as stored: trimmed text, whole numbers
        self.show_problems({})
        ui.notify(t('Saved'), type='positive')

    def show_problems(self, problems: dict[str, str]) -> None:
        """Put each refused option's reason under its field and clear the others."""
        for key, element in self.inputs.items():
            element.error = t(problems[key]) if key in problems else None

    def _put(self, changes: dict[str, Any]) -> dict[str, Any] | InvalidInput:
        try:
            return options.put_many(changes, by=self.actor)
        except InvalidInput as error:
            return error
