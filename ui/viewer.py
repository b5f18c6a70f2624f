"""The doctor's viewer: series strip, one/two/four viewports, W/L, cine, priors, measurements, key images, tags."""

import logging
from dataclasses import dataclass, field
from typing import Any

from nicegui import run, ui

from dicom import facts as dicom_facts
from dicom import render, storage, wado
from domain import access, calibration, events, viewing
from domain.access import Actor, Permission
from domain.models import display_person_name
from domain.viewing import InstanceView, MeasurementView, SeriesView, StudyView

from . import live
from .guard import route_guard
from .i18n import t
from .shell import FAILED, current_actor, perform, screen
from .viewer_canvas import ViewerCanvas
from .viewer_tools import PRESETS, SHORTCUTS, TOOL_KEYS, file_windows, measurement_text, orientation, overlay

log = logging.getLogger(__name__)

TOOLS = [
    ('scroll', 'swap_vert', 'Scroll'),
    ('pan', 'pan_tool', 'Pan'),
    ('zoom', 'zoom_in', 'Zoom'),
    ('wl', 'contrast', 'Window / level'),
    ('length', 'straighten', 'Length'),
    ('angle', 'architecture', 'Angle'),
    ('ellipse', 'circle', 'Ellipse ROI'),
    ('rectangle', 'crop_square', 'Rectangle ROI'),
]


def register() -> None:
    wado.register(route_guard)

    @screen('/viewer/{study_id}', title='Viewer')
    async def viewer_page(study_id: int) -> None:
        actor = current_actor()
        study = await perform(viewing.open_study, study_id, by=actor)
        if study is FAILED:
            ui.label(t('This study cannot be opened')).classes('text-h6').mark('viewer-unavailable')
            return
        await Viewer(actor, study).build()


@dataclass
class Viewport:
    canvas: ViewerCanvas
    box: Any = None
    study: StudyView | None = None
    series: SeriesView | None = None
    images: list[tuple[InstanceView, int]] = field(default_factory=list)
    index: int = 0
    window: list[float] | None = None
    file_window: list[float] | None = None


class Viewer:
    """One open viewer (per browser tab): the study, the viewports and what the doctor is doing."""

    def __init__(self, actor: Actor, study: StudyView) -> None:
        self.actor, self.study = actor, study
        self.viewports: list[Viewport] = []
        self.active, self.layout, self.tool = 0, 1, 'scroll'
        self.linked, self.invert, self.playing, self.corner_text = False, False, False, True
        self.facts: dict[int, dict[str, Any]] = {}
        self.measurements: list[MeasurementView] = []
        self.key_frames: set[tuple[int, int]] = set()
        self.dragged: tuple[StudyView, SeriesView] | None = None
        self.may_measure = access.may(actor, Permission.MEASURE)
        self.may_view_tags = access.may(actor, Permission.VIEW_TAGS)

    # ------------------------------------------------------------ layout

    async def build(self) -> None:
        ui.add_css(
            '.viewer-grid{display:grid;gap:4px;height:calc(100vh - 190px);min-height:360px}'
            '.series-card{cursor:pointer;user-select:none}'
        )
        self.toolbar()
        with ui.row().classes('w-full no-wrap gap-2 items-start'):
            with ui.column().classes('w-36 gap-2 shrink-0').mark('series-strip'):
                self.strip(self.study)
            self.grid = ui.element('div').classes('viewer-grid grow').mark('viewports')
            with ui.column().classes('w-72 gap-2 shrink-0'):
                self.side = ui.column().classes('w-full gap-2')
        for n in range(4):
            with self.grid:
                box = ui.element('div').classes('w-full h-full').style('min-height:0')
                box.on('dragover', js_handler='(e) => e.preventDefault()')
                box.on('drop', lambda n=n: self.drop(n))
                with box:
                    canvas = (
                        ViewerCanvas().classes('w-full h-full').mark(f'viewport-{n}').props(f'data-testid=viewport-{n}')
                    )
            viewport = Viewport(canvas, box)
            canvas.on('index', lambda e, v=viewport: self.on_index(v, int(e.args)), throttle=0.08)
            canvas.on('window', lambda e, v=viewport: self.on_window(v, e.args))
            canvas.on('measure', lambda e, v=viewport: self.on_measure(v, e.args))
            canvas.on('activate', lambda v=viewport: self.activate(v))
            self.viewports.append(viewport)
        ui.keyboard(on_key=self.on_key, ignore=['input', 'select', 'button', 'textarea'])
        self.set_layout(1)
        await self.load_marks()
        await self.render_side()
        live.on(events.MeasurementsChanged).subscribe(self.on_marks_changed)
        if self.study.series:
            await ui.context.client.connected()
            await self.show_series(self.viewports[0], self.study, self.study.series[0])
        else:
            ui.label(t('This study has no images yet')).mark('viewer-empty')

    def toolbar(self) -> None:
        with ui.row().classes('w-full items-center gap-1 wrap').mark('viewer-toolbar'):
            name = display_person_name(self.study.patient_name)
            ui.label(f'{name} · {self.study.study_date or ""} · {self.study.description}').classes(
                'text-subtitle1 q-mr-md'
            ).mark('viewer-study')
            self.status = ui.label('').classes('text-caption text-grey-7 q-mr-md')
            with ui.button_group().props('flat'):
                for count in (1, 2, 4):
                    ui.button(str(count), on_click=lambda c=count: self.set_layout(c)).props('flat dense').tooltip(
                        t('{n} viewports', n=count)
                    ).mark(f'layout-{count}')
            self.tool_buttons: dict[str, ui.button] = {}
            with ui.button_group().props('flat'):
                for name, icon, label in TOOLS:
                    if name in ('length', 'angle', 'ellipse', 'rectangle') and not self.may_measure:
                        continue
                    self.tool_buttons[name] = (
                        ui.button(icon=icon, on_click=lambda n=name: self.set_tool(n))
                        .props(f'flat dense data-testid=tool-{name}')
                        .tooltip(t(label))
                        .mark(f'tool-{name}')
                    )
            self.presets = ui.button(t('Presets'), icon='tune').props('flat dense no-caps').mark('presets')
            with self.presets, ui.menu() as self.preset_menu:
                pass
            for icon, label, mark, action in (
                ('invert_colors', 'Invert', 'invert', self.toggle_invert),
                ('fit_screen', 'Fit', 'fit', lambda: self.call('fit')),
                ('crop_free', 'One to one', 'one-to-one', lambda: self.call('oneToOne')),
                ('rotate_right', 'Rotate 90°', 'rotate', lambda: self.call('rotate90')),
                ('swap_horiz', 'Flip horizontal', 'flip-h', lambda: self.call('flipHorizontal')),
                ('swap_vert', 'Flip vertical', 'flip-v', lambda: self.call('flipVertical')),
                ('restart_alt', 'Reset', 'reset', self.reset),
            ):
                ui.button(icon=icon, on_click=action).props('flat dense').tooltip(t(label)).mark(mark)
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
            self.link = ui.checkbox(t('Link'), on_change=lambda e: setattr(self, 'linked', e.value)).mark('link')
            ui.button(icon='text_fields', on_click=self.toggle_corner_text).props('flat dense').tooltip(
                t('Corner text on / off')
            ).mark('corner-text')
            if self.may_measure:
                self.key_button = (
                    ui.button(icon='star_border', on_click=self.toggle_key)
                    .props('flat dense')
                    .tooltip(t('Key image'))
                    .mark('key-image')
                )
            if self.may_view_tags:
                ui.button(icon='list_alt', on_click=self.show_tags).props('flat dense').tooltip(t('DICOM tags')).mark(
                    'tags'
                )
            ui.button(icon='keyboard', on_click=self.show_shortcuts).props('flat dense').tooltip(
                t('Keyboard shortcuts')
            ).mark('shortcuts')

    def strip(self, study: StudyView) -> None:
        for series in study.series:
            with (
                ui.card()
                .classes('series-card w-full q-pa-xs')
                .props('draggable flat bordered')
                .mark(f'series-{series.id}') as card
            ):
                middle = series.instances[len(series.instances) // 2] if series.instances else None
                if middle is not None:
                    ui.image(
                        _frame_url(study, series, middle, middle.number_of_frames // 2 + 1)
                        + '?viewport=128,128&quality=80'
                    ).classes('w-full').props('fit=contain height=96px')
                ui.label(f'{series.series_number or ""} {series.modality} · {series.frames}').classes('text-caption')
                ui.label(series.description).classes('text-caption text-grey-7 ellipsis')
            card.on('click', lambda s=series, st=study: self.show_series(self.viewports[self.active], st, s))
            card.on('dragstart', lambda s=series, st=study: setattr(self, 'dragged', (st, s)))

    # ------------------------------------------------------------ viewports

    def set_layout(self, count: int) -> None:
        self.layout = count
        columns, rows = {1: (1, 1), 2: (2, 1), 4: (2, 2)}[count]
        self.grid.style(f'grid-template-columns:repeat({columns},1fr);grid-template-rows:repeat({rows},1fr)')
        for n, viewport in enumerate(self.viewports):
            viewport.box.set_visibility(n < count)
        if self.active >= count:
            self.activate(self.viewports[0])

    async def show_series(self, viewport: Viewport, study: StudyView, series: SeriesView, index: int = 0) -> None:
        viewport.study, viewport.series = study, series
        viewport.images = [
            (instance, frame) for instance in series.instances for frame in range(1, instance.number_of_frames + 1)
        ]
        viewport.index, viewport.window = min(index, max(0, len(viewport.images) - 1)), None
        frames = [
            [_frame_url(study, series, instance, frame), instance.columns or 0, instance.rows or 0]
            for instance, frame in viewport.images
        ]
        viewport.canvas.frames(frames, viewport.index, None)
        self.activate(viewport)
        await self.image_changed(viewport)
        self.send_marks(viewport)
        self.status.text = t('{n} images', n=len(viewport.images))
        self.status.mark('viewer-ready')

    def activate(self, viewport: Viewport) -> None:
        self.active = self.viewports.index(viewport)
        for other in self.viewports:
            other.canvas.set(active=other is viewport)
        self.refresh_presets()
        self.refresh_key_button()

    async def image_changed(self, viewport: Viewport) -> None:
        if not viewport.images or viewport.series is None or viewport.study is None:
            return
        instance, _frame = viewport.images[viewport.index]
        facts = await self.describe(instance)
        if 'error' in facts:
            viewport.canvas.info(message=facts['error'], overlay={}, orient=None, spacing=0)
            return
        windows = file_windows(facts)
        viewport.file_window = [windows[0][1], windows[0][2]] if windows else None
        spacing = calibration.from_attributes(facts)
        label = f'{t("Series")} {viewport.series.series_number or ""} {viewport.series.description}'.strip()
        viewport.canvas.info(
            message='',
            overlay=overlay(viewport.study, facts, label),
            orient=orientation(facts),
            spacing=spacing.column_mm or 0,
            window=viewport.file_window,
        )
        self.speed.value = round(facts.get('FrameRate', 25)) if instance.number_of_frames > 1 else self.speed.value
        self.refresh_key_button()

    async def describe(self, instance: InstanceView) -> dict[str, Any]:
        if instance.id not in self.facts:
            self.facts[instance.id] = await run.io_bound(_describe, instance.file_path)
        return self.facts[instance.id]

    def current(self) -> Viewport:
        return self.viewports[self.active]

    def call(self, method: str) -> None:
        self.current().canvas.run_method(method)

    def drop(self, n: int) -> None:
        if self.dragged is not None:
            study, series = self.dragged
            self.dragged = None
            return self.show_series(self.viewports[n], study, series)
        return None

    # ------------------------------------------------------------ what the canvas reports

    async def on_index(self, viewport: Viewport, index: int) -> None:
        if not viewport.images:
            return
        viewport.index = max(0, min(len(viewport.images) - 1, index))
        await self.image_changed(viewport)
        if self.linked and viewport.series is not None:
            fraction = viewport.index / max(1, len(viewport.images) - 1)
            for other in self.viewports[: self.layout]:
                if other is not viewport and other.images and not self.playing:
                    other.index = round(fraction * (len(other.images) - 1))
                    other.canvas.go_to(other.index)
                    await self.image_changed(other)

    def on_window(self, viewport: Viewport, window: list[float]) -> None:
        viewport.window = [float(window[0]), float(window[1])]
        if self.linked:
            for other in self.viewports[: self.layout]:
                if other is not viewport and other.images:
                    other.window = viewport.window
                    other.canvas.window(viewport.window)

    async def on_measure(self, viewport: Viewport, args: dict[str, Any]) -> None:
        if not self.may_measure or not viewport.images or viewport.study is None:
            return
        index = int(args.get('index', viewport.index))
        if not 0 <= index < len(viewport.images):
            return
        instance, frame = viewport.images[index]
        kind, points = str(args.get('kind')), [[float(x), float(y)] for x, y in args.get('points', [])]
        facts = await self.describe(instance)
        if 'error' in facts:
            ui.notify(t('This image cannot be measured'), type='warning')
            return
        calibrated = calibration.from_attributes(facts, points[0] if points else None)
        stats = None
        if kind in ('ellipse', 'rectangle'):
            stats = await run.io_bound(_roi, instance.file_path, frame, kind, points)
            if calibrated.value_unit:
                stats['unit'] = calibrated.value_unit
        saved = await perform(
            viewing.add_measurement,
            viewport.study.id,
            instance.id,
            frame,
            kind,
            points,
            calibration=calibrated,
            stats=stats,
            by=self.actor,
        )
        if saved is not FAILED:
            ui.notify(f'{t(kind.capitalize())}: {measurement_text(saved)}', type='positive')

    # ------------------------------------------------------------ toolbar actions

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        for name, button in self.tool_buttons.items():
            button.props(f'color={"accent" if name == tool else "primary"}')
        for viewport in self.viewports:
            viewport.canvas.set(tool=tool)

    def toggle_invert(self) -> None:
        canvas = self.current().canvas
        canvas.set(invert=not canvas.prop('invert'))

    def toggle_corner_text(self) -> None:
        self.corner_text = not self.corner_text
        for viewport in self.viewports:
            viewport.canvas.set(showoverlay=self.corner_text)

    def toggle_cine(self) -> None:
        self.playing = not self.playing
        self.play_button.props(f'icon={"pause" if self.playing else "play_arrow"}')
        self.current().canvas.set(playing=self.playing, fps=float(self.speed.value or 25))

    def apply_speed(self) -> None:
        self.current().canvas.set(fps=float(self.speed.value or 25))

    def reset(self) -> None:
        viewport = self.current()
        viewport.window = None
        viewport.canvas.set(invert=False)
        viewport.canvas.window(None)
        viewport.canvas.run_method('resetView')

    def apply_window(self, centre: float, width: float) -> None:
        viewport = self.current()
        self.on_window(viewport, [centre, width])
        viewport.canvas.window([centre, width])

    async def auto_window(self) -> None:
        viewport = self.current()
        if not viewport.images:
            return
        instance, frame = viewport.images[viewport.index]
        found = await run.io_bound(_auto_window, instance.file_path, frame)
        if found is not None:
            self.apply_window(*found)

    def refresh_presets(self) -> None:
        self.preset_menu.clear()
        viewport = self.current()
        modality = viewport.series.modality if viewport.series else ''
        with self.preset_menu:
            for name, centre, width in PRESETS.get(modality, []):
                ui.menu_item(
                    f'{t(name)} ({centre:g}/{width:g})', on_click=lambda c=centre, w=width: self.apply_window(c, w)
                ).mark(f'preset-{name}')
            if viewport.images:
                for name, centre, width in file_windows(self.facts.get(viewport.images[viewport.index][0].id, {})):
                    ui.menu_item(
                        f'{name} ({centre:g}/{width:g})', on_click=lambda c=centre, w=width: self.apply_window(c, w)
                    )
            ui.menu_item(t('Auto'), on_click=self.auto_window).mark('preset-auto')

    async def on_key(self, event: Any) -> None:
        if not event.action.keydown or event.modifiers.ctrl or event.modifiers.meta:
            return
        key = str(event.key.name if hasattr(event.key, 'name') else event.key)
        actions = {
            'f': lambda: self.call('fit'),
            'o': lambda: self.call('oneToOne'),
            'r': lambda: self.call('rotate90'),
            'h': lambda: self.call('flipHorizontal'),
            'v': lambda: self.call('flipVertical'),
            'i': self.toggle_invert,
            '0': self.reset,
            ' ': self.toggle_cine,
            'c': self.toggle_corner_text,
            '+': lambda: self.current().canvas.run_method('zoomBy', 1.25),
            '-': lambda: self.current().canvas.run_method('zoomBy', 0.8),
            '1': lambda: self.set_layout(1),
            '2': lambda: self.set_layout(2),
            '4': lambda: self.set_layout(4),
            '?': self.show_shortcuts,
        }
        if key in TOOL_KEYS and (self.may_measure or TOOL_KEYS[key] in ('scroll', 'pan', 'zoom', 'wl')):
            self.set_tool(TOOL_KEYS[key])
        elif key == 'k' and self.may_measure:
            await self.toggle_key()
        elif key == 't' and self.may_view_tags:
            await self.show_tags()
        elif key in actions:
            actions[key]()

    # ------------------------------------------------------------ measurements, key images, priors, tags

    async def load_marks(self) -> None:
        found = await perform(viewing.measurements, self.study.id, by=self.actor)
        self.measurements = [] if found is FAILED else found
        keys = await perform(viewing.key_images, self.study.id, by=self.actor)
        self.key_frames = set() if keys is FAILED else {(k.instance_id, k.frame) for k in keys}

    async def on_marks_changed(self, event: events.MeasurementsChanged) -> None:
        if event.study_id not in {v.study.id for v in self.viewports if v.study} | {self.study.id}:
            return
        await self.load_marks()
        for viewport in self.viewports:
            self.send_marks(viewport)
        self.refresh_key_button()
        await self.render_side()

    def send_marks(self, viewport: Viewport) -> None:
        places = {(instance.id, frame): n for n, (instance, frame) in enumerate(viewport.images)}
        marks = [
            {'kind': m.kind, 'points': m.points, 'text': measurement_text(m), 'index': places[(m.instance_id, m.frame)]}
            for m in self.measurements
            if (m.instance_id, m.frame) in places
        ]
        viewport.canvas.marks(marks)

    def refresh_key_button(self) -> None:
        if not self.may_measure or not hasattr(self, 'key_button'):
            return
        viewport = self.current()
        marked = (
            bool(viewport.images)
            and (viewport.images[viewport.index][0].id, viewport.images[viewport.index][1]) in self.key_frames
        )
        self.key_button.props(f'icon={"star" if marked else "star_border"} color={"accent" if marked else "primary"}')

    async def toggle_key(self) -> None:
        viewport = self.current()
        if not viewport.images or viewport.study is None:
            return
        instance, frame = viewport.images[viewport.index]
        marked = (instance.id, frame) in self.key_frames
        result = await perform(viewing.set_key_image, viewport.study.id, instance.id, frame, not marked, by=self.actor)
        if result is not FAILED:
            ui.notify(t('Key image') + (' ✓' if result else ' ✗'), type='positive')

    async def render_side(self) -> None:
        self.side.clear()
        priors = await perform(viewing.priors, self.study.id, by=self.actor)
        with self.side:
            ui.label(t('Priors')).classes('text-subtitle2')
            if priors is FAILED or not priors:
                ui.label(t('No prior studies of this patient')).classes('text-caption text-grey-7').mark('no-priors')
            else:
                for prior in priors:
                    ui.button(
                        f'{prior.study_date or ""} {prior.modalities} {prior.description}',
                        on_click=lambda p=prior.id: self.compare(p),
                    ).props('flat dense no-caps align=left').classes('w-full').mark(f'prior-{prior.id}')
            ui.separator()
            ui.label(t('Measurements')).classes('text-subtitle2')
            if not self.measurements:
                ui.label(t('None yet')).classes('text-caption text-grey-7')
            for row in self.measurements:
                with (
                    ui.row()
                    .classes('w-full items-center no-wrap gap-1')
                    .mark('measurement-row')
                    .props('data-testid=measurement-row')
                ):
                    ui.label(measurement_text(row)).classes('text-body2 grow').mark(f'measurement-{row.id}')
                    if self.may_measure:
                        with ui.button(icon='edit').props('flat dense size=sm').mark(f'label-{row.id}'):
                            with ui.menu(), ui.column().classes('q-pa-sm'):
                                label = ui.input(t('Label'), value=row.label).mark('measurement-label')
                                ui.button(t('Save'), on_click=lambda r=row.id, i=label: self.relabel(r, i.value)).mark(
                                    'save-label'
                                )
                        ui.button(icon='delete', on_click=lambda r=row.id: self.remove(r)).props(
                            'flat dense size=sm color=negative'
                        ).mark(f'delete-{row.id}')
                ui.label(f'{row.calibration} · {row.created_by} · {row.created_at:%Y-%m-%d %H:%M}').classes(
                    'text-caption text-grey-7'
                )
            ui.separator()
            ui.label(t('Key images: {n}', n=len(self.key_frames))).classes('text-subtitle2').mark('key-count')

    async def relabel(self, measurement_id: int, label: str) -> None:
        await perform(viewing.label_measurement, measurement_id, label, by=self.actor)

    async def remove(self, measurement_id: int) -> None:
        await perform(viewing.delete_measurement, measurement_id, by=self.actor)

    async def compare(self, prior_id: int) -> None:
        prior = await perform(viewing.open_study, prior_id, by=self.actor)
        if prior is FAILED or not prior.series:
            ui.notify(t('This prior study has no images'), type='warning')
            return
        if self.layout == 1:
            self.set_layout(2)
        current = self.current().series
        match = next((s for s in prior.series if current and s.modality == current.modality), prior.series[0])
        await self.show_series(self.viewports[1], prior, match)
        self.link.value = True

    async def show_tags(self) -> None:
        viewport = self.current()
        if not viewport.images:
            return
        source = await perform(viewing.tag_source, viewport.images[viewport.index][0].id, by=self.actor)
        if source is FAILED:
            return
        rows = await run.io_bound(_tags, source.file_path)
        with ui.dialog() as dialog, ui.card().classes('w-[56rem] max-w-full'):
            ui.label(t('DICOM tags')).classes('text-h6')
            search = ui.input(t('Filter')).classes('w-full').mark('tag-filter')
            columns = [
                {'name': n, 'label': t(n.capitalize()), 'field': n, 'align': 'left'}
                for n in ('tag', 'name', 'vr', 'value')
            ]
            shown = [{**row, 'name': '\u00a0' * 3 * row['depth'] + row['name']} for row in rows]
            table = (
                ui.table(columns=columns, rows=shown, row_key='tag', pagination=50)
                .classes('w-full')
                .props('dense flat')
                .mark('tag-table')
            )
            table.bind_filter_from(search, 'value')
            ui.button(t('Close'), on_click=dialog.close)
        dialog.open()

    def show_shortcuts(self) -> None:
        with ui.dialog() as dialog, ui.card().mark('shortcut-sheet'):
            ui.label(t('Keyboard shortcuts')).classes('text-h6')
            for keys, action in SHORTCUTS:
                with ui.row().classes('w-full gap-4 no-wrap'):
                    ui.label(t(keys)).classes('w-56 font-mono text-caption')
                    ui.label(t(action))
            ui.button(t('Close'), on_click=dialog.close)
        dialog.open()


# ---------------------------------------------------------------- off the event loop (plain arguments)


def _frame_url(study: StudyView, series: SeriesView, instance: InstanceView, frame: int) -> str:
    return (
        f'/dicomweb/studies/{study.study_instance_uid}/series/{series.series_instance_uid}'
        f'/instances/{instance.sop_instance_uid}/frames/{frame}/rendered'
    )


def _describe(file_path: str) -> dict[str, Any]:
    try:
        return dicom_facts.describe(storage.absolute(file_path))
    except FileNotFoundError:
        return {'error': t('The file of this image is missing on the server')}
    except (render.RenderError, ValueError) as error:
        return {'error': f'{t("This image cannot be shown")}: {error}'}


def _roi(file_path: str, frame: int, kind: str, points: list[list[float]]) -> dict[str, Any]:
    return dicom_facts.roi_stats(wado.frames.get(storage.absolute(file_path), frame), kind, points)


def _auto_window(file_path: str, frame: int) -> tuple[float, float] | None:
    decoded = wado.frames.get(storage.absolute(file_path), frame)
    if decoded.colour:
        return None
    found = render.auto_window(decoded.values)
    return found.center, found.width


def _tags(file_path: str) -> list[dict[str, Any]]:
    try:
        return dicom_facts.tag_rows(storage.absolute(file_path))
    except (OSError, render.RenderError) as error:
        return [{'tag': '', 'name': t('This file cannot be read'), 'vr': '', 'value': str(error), 'depth': 0}]
