"""The doctor's viewer: series strip, one/two/four viewports, W/L, cine, priors, measurements, key images, tags."""

import logging
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from dicom import viewer_facts, wado, wado_mpr
from domain import access, calibration, events, viewing
from domain.access import Actor, Permission
from domain.viewing import InstanceView, MeasurementView, SeriesView, StudyView

from . import live
from .guard import route_guard
from .i18n import t, tn
from .legal_hold import LegalHoldToggle
from .shell import FAILED, add_css_once, current_actor, fetch, perform, screen
from .viewer_annotations import Annotations, register_route
from .viewer_canvas import ViewerCanvas
from .viewer_comfort import Comfort
from .viewer_links import Links
from .viewer_mpr import MprMode
from .viewer_protocols import HangingProtocols
from .viewer_side import SidePanel, series_strip
from .viewer_toolbar import ViewerToolbar
from .viewer_tools import KIND_NAMES, file_windows, frame_url, measurement_text, orientation, overlay

log = logging.getLogger(__name__)


def register() -> None:
    wado.register(route_guard)
    register_route()
    wado_mpr.register(route_guard)

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
        self.active, self.layout, self.linked = 0, 1, False
        self.facts: dict[int, dict[str, Any]] = {}
        self.measurements: list[MeasurementView] = []
        self.key_frames: set[tuple[int, int]] = set()
        self.dragged: tuple[StudyView, SeriesView] | None = None
        self.may_measure = access.may(actor, Permission.MEASURE)
        self.may_view_tags = access.may(actor, Permission.VIEW_TAGS)
        self.notes = Annotations(self)  # arrows and text labels (ui/viewer_annotations.py)
        self.mpr = MprMode(self)
        self.links = Links(self)  # linked scroll, zoom/pan, W/L and "Compare with…" (ui/viewer_links.py)
        self.comfort = Comfort(self)  # full screen, next unread, loading progress, own shortcuts (ui/viewer_comfort.py)
        self.hanging = HangingProtocols(self)  # the study's hanging protocol (ui/viewer_protocols.py)
        self.tools = ViewerToolbar(self)

    # ------------------------------------------------------------ layout

    async def build(self) -> None:
        add_css_once(
            '.viewer-grid{display:grid;gap:4px;height:calc(100vh - 190px);min-height:360px}'
            '.series-card{cursor:pointer;user-select:none}'
            # a tablet: the side panel goes below the viewports and the strip narrows, so two viewports fit
            '@media (max-width:1100px){.viewer-main{flex-wrap:wrap!important}'
            '.viewer-grid{flex:1 1 0;min-width:0}.viewer-side{flex-basis:100%;width:100%!important}'
            '.viewer-strip{width:6.5rem!important}}'
        )
        self.tools.build()
        with ui.row().classes('viewer-main w-full no-wrap gap-2 items-start'):
            with ui.column().classes('viewer-strip w-36 gap-2 shrink-0').mark('series-strip'):
                series_strip(self, self.study)
            self.grid = ui.element('div').classes('viewer-grid grow').mark('viewports')
            with ui.column().classes('viewer-side w-72 gap-2 shrink-0'):
                await LegalHoldToggle(self.actor, study_id=self.study.id).build()
                self.side = SidePanel(self)
        for n in range(4):
            self.viewports.append(self.viewport(n))
        ui.keyboard(on_key=self.tools.on_key, ignore=['input', 'select', 'button', 'textarea']).mark('viewer-keys')
        self.set_layout(1)
        await self.load_marks()
        await self.side.render()
        await self.links.fill_priors()
        await self.comfort.load_shortcuts()
        live.on(events.MeasurementsChanged).subscribe(self.on_marks_changed)
        if self.study.series:
            await ui.context.client.connected()
            if not await self.hanging.open():  # no protocol fits: the first series alone
                await self.show_series(self.viewports[0], self.study, self.study.series[0])
        else:
            ui.label(t('This study has no images yet')).mark('viewer-empty')

    def viewport(self, n: int) -> Viewport:
        with self.grid:
            box = ui.element('div').classes('w-full h-full').style('min-height:0')
            box.on('dragover', js_handler='(e) => e.preventDefault()')
            box.on('drop', lambda: self.drop(n))
            with box:
                canvas = (
                    ViewerCanvas().classes('w-full h-full').mark(f'viewport-{n}').props(f'data-testid=viewport-{n}')
                )
        viewport = Viewport(canvas, box)
        canvas.on('index', lambda e: self.on_index(viewport, int(e.args)), throttle=0.08)
        canvas.on('window', lambda e: self.on_window(viewport, e.args))
        canvas.on('measure', lambda e: self.on_measure(viewport, e.args))
        canvas.on('activate', lambda: self.activate(viewport))
        canvas.on('viewChange', lambda e: self.links.viewed(viewport, e.args))
        canvas.on('progress', lambda e: self.comfort.progress(viewport, e.args))
        self.notes.watch(viewport)
        self.mpr.listen(viewport, n)
        return viewport

    # ------------------------------------------------------------ viewports

    def set_layout(self, count: int) -> None:
        self.layout = count
        columns, rows = {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2)}[count]
        self.grid.style(
            f'grid-template-columns:repeat({columns},minmax(0,1fr));grid-template-rows:repeat({rows},minmax(0,1fr))'
        )
        for n, viewport in enumerate(self.viewports):
            viewport.box.set_visibility(n < count)
        if self.active >= count:
            self.activate(self.viewports[0])

    async def show_series(
        self,
        viewport: Viewport,
        study: StudyView,
        series: SeriesView,
        index: int = 0,
        window: list[float] | None = None,
    ) -> None:
        viewport.study, viewport.series = study, series
        viewport.images = [
            (instance, frame) for instance in series.instances for frame in range(1, instance.number_of_frames + 1)
        ]
        viewport.index, viewport.window = min(index, max(0, len(viewport.images) - 1)), window  # a protocol's preset
        frames = [
            [frame_url(study, series, instance, frame), instance.columns or 0, instance.rows or 0]
            for instance, frame in viewport.images
        ]
        viewport.canvas.frames(frames, viewport.index, window)
        self.activate(viewport)
        await self.image_changed(viewport)
        self.send_marks(viewport)
        self.tools.status.text = tn('{count} image', '{count} images', len(viewport.images))
        self.tools.status.mark('viewer-ready')

    def activate(self, viewport: Viewport) -> None:
        self.active = self.viewports.index(viewport)
        for other in self.viewports:
            other.canvas.set(active=other is viewport)
        self.tools.refresh_presets()
        self.tools.refresh_key_button()

    async def image_changed(self, viewport: Viewport) -> None:
        if not viewport.images or viewport.series is None or viewport.study is None:
            return
        instance, _frame = viewport.images[viewport.index]
        facts = await self.describe(instance)
        if not viewport.images or viewport.images[viewport.index][0] is not instance:
            return  # scrolled on meanwhile: the call for the image now shown writes the corner text
        if 'problem' in facts:
            viewport.canvas.info(message=_problem_text(facts), overlay={}, orient=None, spacing=0)
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
        if instance.number_of_frames > 1:
            self.tools.speed.value = round(facts.get('FrameRate', 25))
        self.tools.refresh_key_button()

    async def describe(self, instance: InstanceView) -> dict[str, Any]:
        if instance.id not in self.facts:
            self.facts[instance.id] = await fetch(viewer_facts.describe, instance.file_path)
        return self.facts[instance.id]

    def current(self) -> Viewport:
        return self.viewports[self.active]

    def call(self, method: str) -> None:
        self.current().canvas.run_method(method)

    async def drop(self, n: int) -> None:
        if self.dragged is not None:
            study, series = self.dragged
            self.dragged = None
            await self.show_series(self.viewports[n], study, series)

    # ------------------------------------------------------------ what the canvas reports

    async def on_index(self, viewport: Viewport, index: int) -> None:
        if not viewport.images:
            return
        viewport.index = max(0, min(len(viewport.images) - 1, index))
        await self.image_changed(viewport)
        await self.links.scrolled(viewport)

    def on_window(self, viewport: Viewport, window: list[float]) -> None:
        viewport.window = [float(window[0]), float(window[1])]
        self.links.windowed(viewport)

    async def on_measure(self, viewport: Viewport, args: dict[str, Any]) -> None:
        if not self.may_measure or not viewport.images or viewport.study is None:
            return
        index = int(args.get('index', viewport.index))
        if not 0 <= index < len(viewport.images):
            return
        instance, frame = viewport.images[index]
        kind, points = str(args.get('kind')), [[float(x), float(y)] for x, y in args.get('points', [])]
        facts = await self.describe(instance)
        if 'problem' in facts:
            ui.notify(t('This image cannot be measured'), type='warning')
            return
        calibrated = calibration.from_attributes(facts, points[0] if points else None)
        stats = None
        if kind in ('ellipse', 'rectangle'):
            stats = await fetch(viewer_facts.roi_stats, instance.file_path, frame, kind, points)
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
            ui.notify(f'{t(KIND_NAMES.get(kind, kind))}: {measurement_text(saved)}', type='positive')

    # ------------------------------------------------------------ measurements, key images, priors, tags

    async def load_marks(self) -> None:
        found = await perform(viewing.measurements, self.study.id, by=self.actor)
        self.measurements = [] if found is FAILED else found
        keys = await perform(viewing.key_images, self.study.id, by=self.actor)
        self.key_frames = set() if keys is FAILED else {(k.instance_id, k.frame) for k in keys}
        await self.notes.load()

    async def on_marks_changed(self, event: events.MeasurementsChanged) -> None:
        if event.study_id not in {v.study.id for v in self.viewports if v.study} | {self.study.id}:
            return
        await self.load_marks()
        for viewport in self.viewports:
            self.send_marks(viewport)
        self.tools.refresh_key_button()
        await self.side.render()

    def send_marks(self, viewport: Viewport) -> None:
        places = {(instance.id, frame): n for n, (instance, frame) in enumerate(viewport.images)}
        marks = [
            {'kind': m.kind, 'points': m.points, 'text': measurement_text(m), 'index': places[(m.instance_id, m.frame)]}
            for m in self.measurements
            if (m.instance_id, m.frame) in places
        ]
        viewport.canvas.marks(marks + self.notes.marks(places))

    async def toggle_key(self) -> None:
        viewport = self.current()
        if not viewport.images or viewport.study is None:
            return
        instance, frame = viewport.images[viewport.index]
        marked = (instance.id, frame) in self.key_frames
        result = await perform(viewing.set_key_image, viewport.study.id, instance.id, frame, not marked, by=self.actor)
        if result is not FAILED:
            ui.notify(t('Key image') + (' ✓' if result else ' ✗'), type='positive')

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
        self.links.switched_on_by_itself()


# ---------------------------------------------------------------- plain helpers


def _problem_text(facts: dict[str, Any]) -> str:
    if facts['problem'] == viewer_facts.MISSING:
        return t('The file of this image is missing on the server')
    return f'{t("This image cannot be shown")}: {facts["detail"]}'
