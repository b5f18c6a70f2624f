"""Reading comfort: full-screen reading, the doctor's own shortcuts, loading progress on the series strip and
"Next unread study" without going back to the worklist.

Full-screen reading asks the browser for full screen (the Fullscreen API, within the click itself: browsers grant
it only there, not after a round trip to the server) and hides the application's header and menu, the series strip
and the side panel with a class on the page, so the viewports get the whole screen even where the browser refuses
full screen. Esc leaves both: the browser ends its full screen by itself (the page reports that it left, never a
refusal) and the viewer's keyboard sees Esc when the browser was not in full screen.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nicegui import app, ui

from domain import reading, viewer_preferences

from .i18n import t
from .shell import FAILED, on_leave, once_per_page, perform
from .viewer_shortcuts import DEFAULTS, ShortcutSheet, effective

if TYPE_CHECKING:
    from .viewer import Viewer, Viewport

READING_CSS = """
body.reading-mode .q-header, body.reading-mode .q-drawer, body.reading-mode .viewer-strip,
body.reading-mode .viewer-side { display: none !important; }
body.reading-mode .q-page-container { padding: 0 !important; }
body.reading-mode .nicegui-content { height: 100vh; flex-wrap: nowrap; overflow: hidden; padding: 0; }
body.reading-mode .nicegui-sub-pages { flex: 1 1 0; min-height: 0; flex-wrap: nowrap; }
body.reading-mode .nicegui-column:has(> .viewer-main) {
  flex: 1 1 0; min-height: 0; flex-wrap: nowrap; padding: 4px !important; gap: 4px !important; max-width: none;
}
body.reading-mode .viewer-main { flex: 1 1 0; min-height: 0; align-items: stretch !important; }
body.reading-mode .viewer-grid { height: auto !important; min-height: 0 !important; }
"""
EXIT_FULL_SCREEN = 'if (document.fullscreenElement) document.exitFullscreen().catch(() => {});'
ENTER_FULL_SCREEN = 'if (!document.fullscreenElement) document.documentElement.requestFullscreen().catch(() => {});'
# In the click's own handling, only when entering: a click that leaves reading mode finds the class on the page.
ASK_FULL_SCREEN = f"() => {{ if (!document.body.classList.contains('reading-mode')) {{ {ENTER_FULL_SCREEN} }} }}"
# Once per page: tell the server when the browser leaves a full screen it had entered (Esc, its own controls).
REPORT_FULL_SCREEN_LEFT = """<script>
document.addEventListener('fullscreenchange', () => {
  if (document.fullscreenElement) { window.pacsWasFullScreen = true; }
  else if (window.pacsWasFullScreen) { window.pacsWasFullScreen = false; emitEvent('reading_full_screen_left'); }
});
</script>"""


def _full_screen_left(storage: dict[str, Any]) -> None:
    comfort = storage.get('reading')
    if comfort is not None:
        comfort.set_reading_mode(False)


class Comfort:
    """Full screen, the user's key map, series loading bars and the next unread study for one open viewer."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.changed: dict[str, str] = {}  # action -> key, what this user changed
        self.keys: dict[str, str] = dict(DEFAULTS)  # action -> key, in force
        self.capturing: Callable[[str, bool], None] | None = None
        self.bars: dict[int, ui.linear_progress] = {}  # series id -> its card's loading bar
        self.reading_mode = False

    # ------------------------------------------------------------ controls

    def controls(self) -> None:
        """Toolbar buttons: next unread study, full-screen reading; the keyboard that captures a new shortcut."""
        storage = app.storage.client
        storage['reading'] = self  # the open viewer's, for the page-wide listener (a page may show several in turn)
        if once_per_page('reading mode'):
            ui.add_css(READING_CSS)
            ui.add_body_html(REPORT_FULL_SCREEN_LEFT)
            ui.on('reading_full_screen_left', lambda: _full_screen_left(storage))
        on_leave(self.leave)
        self.capture_keys = ui.keyboard(on_key=self.captured, active=False, ignore=[]).mark('shortcut-capture')
        ui.button(icon='skip_next', on_click=self.next_unread).props('flat dense').tooltip(t('Next unread study')).mark(
            'next-unread'
        )
        self.full_screen_button = (
            ui.button(icon='fullscreen', on_click=self.toggle_full_screen)
            .props('flat dense')
            .tooltip(t('Full-screen reading'))
            .mark('full-screen')
        )
        # Browsers grant full screen only within a click's own handling: ask there, not after the round trip.
        self.full_screen_button.on('click', js_handler=ASK_FULL_SCREEN)

    # ------------------------------------------------------------ full screen

    async def leave(self) -> None:
        """The doctor moves to another screen: reading mode ends with the viewer (the page, and its body, stay)."""
        if app.storage.client.get('reading') is self:
            del app.storage.client['reading']
        if self.reading_mode:
            self.reading_mode = False
            ui.run_javascript("document.body.classList.remove('reading-mode');" + EXIT_FULL_SCREEN)

    def toggle_full_screen(self) -> None:
        self.set_reading_mode(not self.reading_mode)

    def set_reading_mode(self, on: bool) -> None:
        if on == self.reading_mode:
            return
        self.reading_mode = on
        if on:
            ui.query('body').classes(add='reading-mode')
            # Shift+F comes by the server: the browser may still count the key press as the user's gesture.
            ui.run_javascript(
                ENTER_FULL_SCREEN
                + 'document.activeElement && document.activeElement.blur()'  # Esc must reach the viewer
            )
        else:
            ui.query('body').classes(remove='reading-mode')
            ui.run_javascript(EXIT_FULL_SCREEN)
        self.full_screen_button.props(f'icon={"fullscreen_exit" if on else "fullscreen"}')

    # ------------------------------------------------------------ shortcuts

    async def load_shortcuts(self) -> None:
        if self.viewer.actor.user_id is None:
            return
        found = await perform(viewer_preferences.shortcuts, self.viewer.actor.user_id, by=self.viewer.actor)
        self.changed = {} if found is FAILED else found
        self.keys = effective(self.changed)

    def action_for(self, key: str) -> str | None:
        """The action this user's key means (None: no action)."""
        return next((action for action, held in self.keys.items() if held == key), None)

    def show_shortcuts(self) -> None:
        ShortcutSheet(self, self.save_shortcuts).open()

    async def save_shortcuts(self, changed: dict[str, str]) -> bool:
        if self.viewer.actor.user_id is None:
            return False
        saved = await perform(
            viewer_preferences.save_shortcuts, self.viewer.actor.user_id, changed, by=self.viewer.actor
        )
        if saved is FAILED:
            return False
        self.changed, self.keys = saved, effective(saved)
        return True

    def capture(self, receiver: Callable[[str, bool], None] | None) -> None:
        """Send the next key presses to the shortcut sheet (None: back to the viewer)."""
        self.capturing = receiver
        self.capture_keys.active = receiver is not None

    def captured(self, event: Any) -> None:
        if self.capturing is not None and event.action.keydown:
            self.capturing(str(event.key.name), bool(event.modifiers.ctrl or event.modifiers.meta))

    # ------------------------------------------------------------ next unread, loading progress

    async def next_unread(self) -> None:
        found = await perform(reading.next_unread, self.viewer.study.id, by=self.viewer.actor)
        if found is FAILED:
            return
        if found is None:
            ui.notify(t('No other study waits to be read'), type='info')
            return
        ui.navigate.to(f'/viewer/{found}')

    def bar(self, series_id: int) -> None:
        """The thin loading bar on a series card (hidden until that series loads in a viewport)."""
        self.bars[series_id] = (
            ui.linear_progress(value=0, show_value=False, size='3px')
            .props('instant-feedback')
            .mark(f'series-progress-{series_id}')
        )
        self.bars[series_id].set_visibility(False)

    def progress(self, viewport: 'Viewport', args: dict[str, Any]) -> None:
        """The canvas has `loaded` of `total` frames of its series: the card's bar shows it, and hides when full."""
        bar = self.bars.get(viewport.series.id) if viewport.series else None
        if bar is None:
            return
        loaded, total = int(args.get('loaded') or 0), max(1, int(args.get('total') or 1))
        bar.value = min(1.0, loaded / total)
        bar.set_visibility(loaded < total)
