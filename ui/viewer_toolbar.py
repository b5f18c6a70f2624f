"""The viewer's toolbar and keyboard: layout, tools, window presets, invert, cine, link, key image, tags."""

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nicegui import ui

from dicom import viewer_facts
from domain.models import display_person_name

from .i18n import format_date, t
from .shell import fetch
from .viewer_annotations import TOOLS as NOTE_TOOLS
from .viewer_side import show_tags
from .viewer_tools import PRESETS, file_windows

if TYPE_CHECKING:
    from .viewer import Viewer

MEASURING_TOOLS = ('length', 'angle', 'ellipse', 'rectangle')


class ViewerToolbar:
    """The buttons above the viewports; each acts on the active viewport (or on all of them)."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.tool, self.playing, self.corner_text = 'scroll', False, True
        self.tool_buttons: dict[str, ui.button] = {}
        self.key_button: ui.button | None = None

    def build(self) -> None:
        with ui.row().classes('w-full items-center gap-1 wrap').mark('viewer-toolbar'):
            study = self.viewer.study
            studied = format_date(study.study_date) if study.study_date else ''
            ui.label(f'{display_person_name(study.patient_name)} · {studied} · {study.description}').classes(
                'text-subtitle1 q-mr-md'
            ).mark('viewer-study')
            self.status = ui.label('').classes('text-caption text-grey-7 q-mr-md')
            self.layouts_and_tools()
            self.viewer.hanging.controls()  # hanging protocol name, menu and stages (ui/viewer_protocols.py)
            self.presets = ui.button(t('Presets'), icon='tune').props('flat dense no-caps').mark('presets')
            with self.presets, ui.menu() as self.preset_menu:
                pass
            self.view_buttons()
            self.cine_and_link()
            self.marks_and_help()

    def layouts_and_tools(self) -> None:
        with ui.button_group().props('flat'):
            for count in (1, 2, 3, 4):
                ui.button(str(count), on_click=lambda c=count: self.viewer.set_layout(c)).props('flat dense').tooltip(
                    t('{n} viewports', n=count)
                ).mark(f'layout-{count}')
        self.viewer.mpr.controls()
        with ui.button_group().props('flat'):
            for name, icon, label in (
                ('scroll', 'swap_vert', t('Scroll')),
                ('pan', 'pan_tool', t('Pan')),
                ('zoom', 'zoom_in', t('Zoom')),
                ('wl', 'contrast', t('Window / level')),
                ('length', 'straighten', t('Length')),
                ('angle', 'architecture', t('Angle')),
                ('ellipse', 'circle', t('Ellipse ROI')),
                ('rectangle', 'crop_square', t('Rectangle ROI')),
            ):
                if name in MEASURING_TOOLS and not self.viewer.may_measure:
                    continue
                self.tool_buttons[name] = (
                    ui.button(icon=icon, on_click=lambda n=name: self.set_tool(n))
                    .props(f'flat dense data-testid=tool-{name}')
                    .tooltip(label)
                    .mark(f'tool-{name}')
                )
            for name, icon, label in NOTE_TOOLS:  # arrows and text labels (ui/viewer_annotations.py)
                self.tool_buttons[name] = (
                    ui.button(icon=icon, on_click=lambda n=name: self.set_tool(n))
                    .props(f'flat dense data-testid=tool-{name}')
                    .tooltip(t(label))
                    .mark(f'tool-{name}')
                )

    def view_buttons(self) -> None:
        for icon, label, mark, action in (
            ('invert_colors', t('Invert'), 'invert', self.toggle_invert),
            ('fit_screen', t('Fit'), 'fit', lambda: self.viewer.call('fit')),
            ('crop_free', t('One to one'), 'one-to-one', lambda: self.viewer.call('oneToOne')),
            ('rotate_right', t('Rotate 90°'), 'rotate', lambda: self.viewer.call('rotate90')),
            ('swap_horiz', t('Flip horizontal'), 'flip-h', lambda: self.viewer.call('flipHorizontal')),
            ('swap_vert', t('Flip vertical'), 'flip-v', lambda: self.viewer.call('flipVertical')),
            ('restart_alt', t('Reset'), 'reset', self.reset),
        ):
            ui.button(icon=icon, on_click=action).props('flat dense').tooltip(label).mark(mark)

    def cine_and_link(self) -> None:
        self.play_button = (
            ui.button(icon='play_arrow', on_click=self.toggle_cine)
            .props('flat dense')
            .tooltip(t('Play / pause cine'))
            .mark('cine')
        )
        self.speed = (
            ui.number(t('fps'), value=25, min=1, max=120, step=1, on_change=self.apply_speed)
            .props('dense')
            .classes('w-16')
            .mark('speed')
        )
        self.viewer.links.controls()  # Link, what is linked, Compare with… (ui/viewer_links.py)
        self.link = self.viewer.links.checkbox
        ui.button(icon='text_fields', on_click=self.toggle_corner_text).props('flat dense').tooltip(
            t('Corner text on / off')
        ).mark('corner-text')

    def marks_and_help(self) -> None:
        if self.viewer.may_measure:
            self.key_button = (
                ui.button(icon='star_border', on_click=self.viewer.toggle_key)
                .props('flat dense')
                .tooltip(t('Key image'))
                .mark('key-image')
            )
        if self.viewer.may_view_tags:
            ui.button(icon='list_alt', on_click=lambda: show_tags(self.viewer)).props('flat dense').tooltip(
                t('DICOM tags')
            ).mark('tags')
        ui.button(icon='keyboard', on_click=self.viewer.comfort.show_shortcuts).props('flat dense').tooltip(
            t('Keyboard shortcuts')
        ).mark('shortcuts')
        self.viewer.comfort.controls()  # next unread study, full-screen reading (ui/viewer_comfort.py)

    # ------------------------------------------------------------ actions

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        for name, button in self.tool_buttons.items():
            button.props(f'color={"accent" if name == tool else "primary"}')
        for viewport in self.viewer.viewports:
            viewport.canvas.set(tool=tool)

    def toggle_invert(self) -> None:
        canvas = self.viewer.current().canvas
        canvas.set(invert=not canvas.prop('invert'))

    def toggle_corner_text(self) -> None:
        self.corner_text = not self.corner_text
        for viewport in self.viewer.viewports:
            viewport.canvas.set(showoverlay=self.corner_text)

    def toggle_cine(self) -> None:
        self.playing = not self.playing
        self.play_button.props(f'icon={"pause" if self.playing else "play_arrow"}')
        self.viewer.current().canvas.set(playing=self.playing, fps=float(self.speed.value or 25))

    def apply_speed(self) -> None:
        self.viewer.current().canvas.set(fps=float(self.speed.value or 25))

    def reset(self) -> None:
        viewport = self.viewer.current()
        viewport.window = None
        viewport.canvas.set(invert=False)
        viewport.canvas.window(None)
        viewport.canvas.run_method('resetView')

    def apply_window(self, centre: float, width: float) -> None:
        viewport = self.viewer.current()
        self.viewer.on_window(viewport, [centre, width])
        viewport.canvas.window([centre, width])

    async def auto_window(self) -> None:
        viewport = self.viewer.current()
        if not viewport.images:
            return
        instance, frame = viewport.images[viewport.index]
        found = await fetch(viewer_facts.auto_window, instance.file_path, frame)
        if found is not None:
            self.apply_window(*found)

    def refresh_presets(self) -> None:
        self.preset_menu.clear()
        viewport = self.viewer.current()
        modality = viewport.series.modality if viewport.series else ''
        with self.preset_menu:
            for name, centre, width in PRESETS.get(modality, []):
                ui.menu_item(
                    f'{t(name)} ({centre:g}/{width:g})', on_click=lambda c=centre, w=width: self.apply_window(c, w)
                ).mark(f'preset-{name}')
            if viewport.images:
                facts = self.viewer.facts.get(viewport.images[viewport.index][0].id, {})
                for name, centre, width in file_windows(facts):
                    ui.menu_item(
                        f'{name} ({centre:g}/{width:g})', on_click=lambda c=centre, w=width: self.apply_window(c, w)
                    )
            ui.menu_item(t('Auto'), on_click=self.auto_window).mark('preset-auto')

    def refresh_key_button(self) -> None:
        if self.key_button is None:
            return
        viewport = self.viewer.current()
        instance, frame = viewport.images[viewport.index] if viewport.images else (None, 0)
        marked = instance is not None and (instance.id, frame) in self.viewer.key_frames
        self.key_button.props(f'icon={"star" if marked else "star_border"} color={"accent" if marked else "primary"}')

    def actions(self) -> dict[str, Callable[[], Any]]:
        """Action name -> what it does (ui/viewer_shortcuts.py names the actions and their default keys)."""
        viewer, canvas = self.viewer, self.viewer.current().canvas
        found: dict[str, Callable[[], Any]] = {
            'fit': lambda: viewer.call('fit'),
            'one-to-one': lambda: viewer.call('oneToOne'),
            'rotate': lambda: viewer.call('rotate90'),
            'flip-h': lambda: viewer.call('flipHorizontal'),
            'flip-v': lambda: viewer.call('flipVertical'),
            'invert': self.toggle_invert,
            'reset': self.reset,
            'cine': self.toggle_cine,
            'corner-text': self.toggle_corner_text,
            'zoom-in': lambda: canvas.run_method('zoomBy', 1.25),
            'zoom-out': lambda: canvas.run_method('zoomBy', 0.8),
            'layout-1': lambda: viewer.set_layout(1),
            'layout-2': lambda: viewer.set_layout(2),
            'layout-3': lambda: viewer.set_layout(3),
            'layout-4': lambda: viewer.set_layout(4),
            'full-screen': viewer.comfort.toggle_full_screen,
            'next-unread': viewer.comfort.next_unread,
            'shortcuts': viewer.comfort.show_shortcuts,
            'stage-next': lambda: viewer.hanging.step(1),
            'stage-previous': lambda: viewer.hanging.step(-1),
        }
        for tool in ('scroll', 'pan', 'zoom', 'wl', *MEASURING_TOOLS):
            if viewer.may_measure or tool not in MEASURING_TOOLS:
                found[f'tool-{tool}'] = functools.partial(self.set_tool, tool)
        if viewer.may_measure:
            found['key-image'] = viewer.toggle_key
        if viewer.may_view_tags:
            found['tags'] = lambda: show_tags(viewer)
        return found

    async def on_key(self, event: Any) -> None:
        """A key pressed over the viewer: this user's key -> action name -> what it does."""
        if not event.action.keydown or event.modifiers.ctrl or event.modifiers.meta:
            return
        comfort = self.viewer.comfort
        if comfort.capturing is not None:  # the shortcut sheet is waiting for a new key
            return
        key = str(event.key.name if hasattr(event.key, 'name') else event.key)
        if key == 'Escape':
            comfort.set_reading_mode(False)
            return
        action = self.actions().get(comfort.action_for(key) or '')
        if action is not None:
            result = action()
            if inspect.isawaitable(result):
                await result
