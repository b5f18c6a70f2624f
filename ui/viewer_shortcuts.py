"""The viewer's keyboard shortcuts: every keyed action with its default key, and the sheet that lets a doctor
change them (the next key pressed becomes the action's key; a key another action has is refused, saying which).

A doctor's changes are kept per user (domain/viewer_preferences.py); ViewerToolbar.on_key asks Comfort which
action a key means (key -> action name) and the toolbar which callable does it (action name -> callable).
An action added to the viewer gets a row here and an entry in ViewerToolbar.actions().
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nicegui import ui

from domain.errors import N_, Message

from .i18n import t
from .viewer_tools import SHORTCUTS

if TYPE_CHECKING:
    from .viewer_comfort import Comfort


@dataclass(frozen=True)
class Action:
    name: str
    key: str  # the default key, as the browser names it ('f'; 'F' is Shift+F; ' ' is Space)
    label: Message


ACTIONS: tuple[Action, ...] = (
    Action('fit', 'f', N_('Fit to viewport')),
    Action('one-to-one', 'o', N_('One to one')),
    Action('rotate', 'r', N_('Rotate 90°')),
    Action('flip-h', 'h', N_('Flip horizontal')),
    Action('flip-v', 'v', N_('Flip vertical')),
    Action('invert', 'i', N_('Invert')),
    Action('reset', '0', N_('Reset')),
    Action('cine', ' ', N_('Play / pause cine')),
    Action('corner-text', 'c', N_('Corner text on / off')),
    Action('zoom-in', '+', N_('Zoom in')),
    Action('zoom-out', '-', N_('Zoom out')),
    Action('layout-1', '1', N_('{n} viewports', n=1)),
    Action('layout-2', '2', N_('{n} viewports', n=2)),
    Action('layout-3', '3', N_('{n} viewports', n=3)),
    Action('layout-4', '4', N_('{n} viewports', n=4)),
    Action('tool-scroll', 's', N_('Scroll')),
    Action('tool-pan', 'p', N_('Pan')),
    Action('tool-zoom', 'z', N_('Zoom')),
    Action('tool-wl', 'w', N_('Window / level')),
    Action('tool-length', 'l', N_('Length')),
    Action('tool-angle', 'a', N_('Angle')),
    Action('tool-ellipse', 'e', N_('Ellipse ROI')),
    Action('tool-rectangle', 'q', N_('Rectangle ROI')),
    Action('key-image', 'k', N_('Key image on / off')),
    Action('tags', 't', N_('DICOM tags')),
    Action('full-screen', 'F', N_('Full-screen reading')),
    Action('next-unread', 'N', N_('Next unread study')),
    Action('stage-previous', '[', N_('Previous hanging protocol stage')),
    Action('stage-next', ']', N_('Next hanging protocol stage')),
    Action('shortcuts', '?', N_('This list')),
)
DEFAULTS = {action.name: action.key for action in ACTIONS}
LABELS = {action.name: action.label for action in ACTIONS}
# Keys the viewer keeps for itself: scrolling (the canvas), leaving full screen, moving through the page.
RESERVED = frozenset(
    {'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown', 'Home', 'End', 'Escape', 'Tab', 'Enter'}
)
MODIFIERS = frozenset({'Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock'})


def effective(changed: dict[str, str]) -> dict[str, str]:
    """Action -> key: the defaults with the user's changes (for actions the viewer still has) on top."""
    return {**DEFAULTS, **{action: key for action, key in changed.items() if action in DEFAULTS}}


def key_label(key: str) -> str:
    """A key as the sheet writes it: Space, Shift + F, ArrowUp as is."""
    if key == ' ':
        return t('Space')
    if len(key) == 1 and key.isalpha() and key.isupper():
        return f'Shift + {key}'
    return key.upper() if len(key) == 1 else key


def refusal(keys: dict[str, str], action: str, key: str, *, ctrl: bool = False) -> str:
    """Why `key` cannot become `action`'s key ('' when it can)."""
    if ctrl or key in RESERVED:
        return t('{key} is kept by the viewer; choose another key', key=key_label(key) if not ctrl else 'Ctrl')
    holder = next((other for other, held in keys.items() if held == key and other != action), None)
    if holder is not None:
        return t('{key} is already the key for “{action}”', key=key_label(key), action=t(LABELS[holder]))
    return ''


class ShortcutSheet:
    """The shortcut sheet: the pointer gestures, then every keyed action with its key and a Change button."""

    def __init__(self, comfort: 'Comfort', save: Callable[[dict[str, str]], Awaitable[Any]]) -> None:
        self.comfort, self.save = comfort, save
        self.draft = dict(comfort.keys)  # action -> key, as edited
        self.capturing: str | None = None

    def open(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes('w-[40rem] max-w-full').mark('shortcut-sheet'):
            ui.label(t('Keyboard shortcuts')).classes('text-h6')
            for keys, action in SHORTCUTS:
                with ui.row().classes('w-full gap-4 no-wrap'):
                    ui.label(t(keys)).classes('w-56 font-mono text-caption')
                    ui.label(t(action))
            ui.separator()
            self.problem = ui.label('').classes('text-negative').mark('shortcut-problem')
            self.rows()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(t('Reset to defaults'), on_click=self.reset).props('flat no-caps').mark('shortcuts-reset')
                ui.button(t('Save'), on_click=self.keep).props('no-caps').mark('shortcuts-save')
                ui.button(t('Close'), on_click=self.close).props('flat no-caps').mark('shortcuts-close')
        self.dialog.on('hide', self.stop)
        self.dialog.open()

    @ui.refreshable_method
    def rows(self) -> None:
        with ui.column().classes('w-full gap-0').style('max-height:50vh;overflow:auto'):
            for action in ACTIONS:
                with ui.row().classes('w-full items-center gap-4 no-wrap'):
                    waiting = self.capturing == action.name
                    shown = t('Press a key…') if waiting else key_label(self.draft[action.name])
                    ui.label(shown).classes('w-40 font-mono text-caption').mark(f'shortcut-key-{action.name}')
                    ui.label(t(action.label)).classes('grow')
                    ui.button(t('Change'), on_click=lambda a=action.name: self.capture(a)).props(
                        f'flat dense no-caps {"color=accent" if waiting else ""}'
                    ).mark(f'shortcut-change-{action.name}')

    def capture(self, action: str) -> None:
        """The next key pressed (anywhere, buttons included) becomes this action's key."""
        self.capturing = action
        self.problem.text = ''
        self.comfort.capture(self.pressed)
        self.rows.refresh()

    def pressed(self, key: str, ctrl: bool) -> None:
        if self.capturing is None or key in MODIFIERS:
            return
        why = refusal(self.draft, self.capturing, key, ctrl=ctrl)
        if why:
            self.problem.text = why  # still waiting for a key; what was changed so far stays
            ui.notify(why, type='warning')
            return
        self.draft[self.capturing] = key
        self.stop()

    def stop(self) -> None:
        self.capturing = None
        self.comfort.capture(None)
        self.rows.refresh()

    async def keep(self) -> None:
        changed = {action: key for action, key in self.draft.items() if DEFAULTS.get(action) != key}
        if await self.save(changed):
            ui.notify(t('Shortcuts saved'), type='positive')

    async def reset(self) -> None:
        self.draft = dict(DEFAULTS)
        self.problem.text = ''
        self.stop()
        if await self.save({}):
            ui.notify(t('Shortcuts are back to the defaults'), type='positive')

    def close(self) -> None:
        self.stop()
        self.dialog.close()
