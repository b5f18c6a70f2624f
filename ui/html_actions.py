"""Many rows' buttons as one element: a list that draws dozens of rows on every page view builds each row as HTML
in a single `ui.html`, and its buttons carry `data-action` (with `data-id`, `data-value`) instead of being NiceGUI
elements of their own. One click listener on the whole list finds the button clicked and sends only that to the
server, where the list's handler for the action runs (and checks, as every handler does, who is asking).

A NiceGUI element costs the server far more to create than its HTML costs to write (bench/uiload.py --page-cpu:
the board's cards, each a card, its summary and its move buttons, were half of a board page view's CPU).

Tests (NiceGUI's `user`) press such a button with tests/conftest.py's `press(user, marker, action, id, value)`: the
same event a browser sends.
"""

import inspect
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any, TypeVar

from nicegui import ui

# On the client: the button clicked (not a disabled one), its action and ids; anything else sends nothing.
CLICK_JS = """(e) => {
  const button = e.target.closest('[data-action]');
  if (!button || button.disabled || !e.currentTarget.contains(button)) return;
  emit({action: button.dataset.action, id: button.dataset.id || '', value: button.dataset.value || ''});
}"""
BUTTON_CLASSES = (
    'q-btn q-btn-item non-selectable no-outline q-btn--rectangle q-btn--actionable q-focusable q-hoverable '
    'q-btn--no-uppercase q-btn--dense'
)

Handler = Callable[[str, str], Awaitable[None] | None]
E = TypeVar('E', bound=ui.element)


def action_html(content: str, handlers: dict[str, Handler]) -> ui.html:
    """A `ui.html` whose `data-action` buttons call `handlers[action](id, value)` on the server."""
    return listen(ui.html(content, sanitize=False), handlers)


def listen(element: E, handlers: dict[str, Handler]) -> E:
    """One click listener on `element` for the `data-action` buttons anywhere inside it (its HTML children too)."""

    async def dispatch(event: Any) -> None:
        args = event.args if isinstance(event.args, dict) else {}
        handler = handlers.get(str(args.get('action', '')))
        if handler is None:
            return
        result = handler(str(args.get('id', '')), str(args.get('value', '')))
        if inspect.isawaitable(result):
            await result

    element.on('click', dispatch, js_handler=CLICK_JS)
    return element


def action_attributes(action: str, id: str | int, value: str = '', *, mark: str = '') -> str:
    """The attributes that make an HTML button send `{action, id, value}` (CLICK_JS reads them), escaped here."""
    return (
        f'data-action="{escape(action)}" data-id="{escape(str(id))}" data-value="{escape(value)}" '
        f'data-mark="{escape(mark)}"'
    )


def row_id(id: str) -> int | None:
    """A database id from a press; anything else (a forged or garbled event) is None."""
    try:
        number = int(id)
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None  # what the database can hold


def button_html(
    label: str, action: str, id: str | int, value: str = '', *, mark: str = '', outline: bool = True, size: str = 'sm'
) -> str:
    """A dense, no-caps Quasar button in HTML: `label` (escaped here), `data-mark` for tests and screenshots."""
    look = 'q-btn--outline text-primary' if outline else 'q-btn--standard bg-primary text-white'
    font = {'sm': 'font-size: 0.75rem', 'md': ''}.get(size, '')
    return (
        f'<button type="button" class="{BUTTON_CLASSES} {look}" style="{font}" '
        f'{action_attributes(action, id, value, mark=mark)}>'
        '<span class="q-focus-helper"></span>'
        '<span class="q-btn__content text-center col items-center q-anchor--skip justify-center row">'
        f'<span class="block">{escape(label)}</span></span></button>'
    )
