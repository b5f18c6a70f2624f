"""Linked comparison: what one viewport does (scroll, zoom/pan, window) the others follow, each link switchable.

The "Link" checkbox switches linking on and off as a whole; its menu holds a toggle per link type (scroll,
zoom/pan, window/level), all on at first. Scroll follows by slice position when both series share a frame of
reference (domain/slice_positions.py), otherwise by the offset in images from where the doctor switched the link
on, or (a prior opened beside, which switches the link on by itself) the same fraction of the stack.

The slice positions come from the index (Instance.attributes, filled by the metadata job). A series indexed
before FrameOfReferenceUID was kept, or whose metadata job has not run yet, is located once from the headers the
viewer reads anyway (dicom.viewer_facts.describe, cached per image), up to MAX_HEADERS images.

"Compare with…" lists the patient's prior studies (date, modality, description) and opens one beside.
"""

import asyncio
from typing import TYPE_CHECKING, Any

from nicegui import ui

from dicom import viewer_facts
from domain import slice_positions, viewing
from domain.slice_positions import SliceGeometry, Stack

from .i18n import format_date, t
from .shell import FAILED, fetch, perform

if TYPE_CHECKING:
    from .viewer import Viewer, Viewport

SCROLL, ZOOM, WINDOW = 'scroll', 'zoom', 'wl'
MAX_HEADERS = (
    600  # a series longer than this without indexed positions is linked by fraction, not read header by header
)


class Links:
    """Which links are on, the stacks' geometry per series, and the anchor the offset link counts from."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.kinds = {SCROLL: True, ZOOM: True, WINDOW: True}
        self.stacks: dict[int, Stack] = {}  # series id -> geometry of its images in scroll order
        self.anchor: dict[int, tuple[int, int]] = {}  # id(viewport) -> (series id, index) when the link came on
        self.following = asyncio.Lock()

    # ------------------------------------------------------------ controls

    def controls(self) -> None:
        """The Link checkbox, its menu of link types and the "Compare with…" menu of priors."""
        self.checkbox = ui.checkbox(t('Link'), on_change=lambda e: self.switch(bool(e.value))).mark('link')
        with ui.button(icon='arrow_drop_down').props('flat dense').tooltip(t('What is linked')).mark('link-kinds'):
            with ui.menu(), ui.column().classes('q-pa-sm gap-0'):
                for kind, label in ((SCROLL, t('Scroll')), (ZOOM, t('Zoom and pan')), (WINDOW, t('Window / level'))):
                    ui.checkbox(
                        label, value=True, on_change=lambda e, k=kind: self.kinds.update({k: bool(e.value)})
                    ).mark(f'link-{kind}').props(f'data-testid=link-{kind}')
        self.compare_button = (
            ui.button(t('Compare with…'), icon='compare').props('flat dense no-caps').mark('compare-with')
        )
        with self.compare_button:
            self.compare_menu = ui.menu()

    async def fill_priors(self) -> None:
        """The priors menu (the side panel lists the same studies)."""
        priors = await perform(viewing.priors, self.viewer.study.id, by=self.viewer.actor)
        self.compare_menu.clear()
        with self.compare_menu:
            if priors is FAILED or not priors:
                ui.menu_item(t('No prior studies of this patient')).props('disable')
                return
            for prior in priors:
                when = format_date(prior.study_date) if prior.study_date else '—'
                ui.menu_item(
                    f'{when} · {prior.modalities} · {prior.description}',
                    on_click=lambda p=prior.id: self.viewer.compare(p),
                ).mark(f'compare-{prior.id}')

    def switch(self, on: bool) -> None:
        """The doctor switched the link: remember where every viewport stands (the offset link counts from here)."""
        self.viewer.linked = on
        self.anchor = {}
        if on:
            for viewport in self.shown():
                if viewport.series is not None:
                    self.anchor[id(viewport)] = (viewport.series.id, viewport.index)

    def switched_on_by_itself(self) -> None:
        """A prior opened beside: link, without an anchor (different frames follow by fraction)."""
        self.checkbox.value = True  # calls switch(); the anchor it takes is dropped below
        self.viewer.linked = True
        self.anchor = {}

    def on(self, kind: str) -> bool:
        # A followed viewport does not report back: goTo, setWindow and applyView emit nothing.
        return self.viewer.linked and self.kinds[kind]

    def shown(self) -> list['Viewport']:
        return [v for v in self.viewer.viewports[: self.viewer.layout] if v.images]

    # ------------------------------------------------------------ following

    async def scrolled(self, viewport: 'Viewport') -> None:
        """The viewport shows another image: the linked ones go to theirs."""
        if not self.on(SCROLL) or viewport.series is None or self.viewer.tools.playing:
            return
        # One follow at a time, each from where the viewport stands once the stacks are read: index reports arrive
        # faster than a first header read, and a late follow from an old index would move the others back.
        async with self.following:
            source = await self.stack(viewport)
            for other in self.shown():
                if other is viewport or other.series is None:
                    continue
                target = await self.stack(other)
                found = slice_positions.follow(source, viewport.index, target, anchor=self.anchor_of(viewport, other))
                if found is None or found.index == other.index:
                    continue
                other.index = found.index
                other.canvas.go_to(other.index)
                await self.viewer.image_changed(other)

    def windowed(self, viewport: 'Viewport') -> None:
        if not self.on(WINDOW):
            return
        for other in self.shown():
            if other is not viewport:
                other.window = viewport.window
                other.canvas.window(viewport.window)

    def viewed(self, viewport: 'Viewport', view: dict[str, Any]) -> None:
        """The viewport was zoomed or panned (relative to its fitted image): the linked ones do the same."""
        if not self.on(ZOOM):
            return
        relative = {key: float(view.get(key) or 0) for key in ('zoom', 'panX', 'panY')}
        for other in self.shown():
            if other is not viewport:
                other.canvas.apply_view(relative)

    def anchor_of(self, source: 'Viewport', target: 'Viewport') -> tuple[int, int] | None:
        """Both viewports' indexes when the link came on, if they still show the series they showed then."""
        a, b = self.anchor.get(id(source)), self.anchor.get(id(target))
        if a is None or b is None or source.series is None or target.series is None:
            return None
        if (a[0], b[0]) != (source.series.id, target.series.id):
            return None
        return a[1], b[1]

    async def stack(self, viewport: 'Viewport') -> Stack:
        """The geometry of the viewport's images: from the index, else once from the headers (cached per series)."""
        assert viewport.series is not None
        found = self.stacks.get(viewport.series.id)
        if found is not None:
            return found
        geometry = [
            instance.geometry if instance.number_of_frames == 1 else SliceGeometry() for instance, _ in viewport.images
        ]
        stack = Stack(tuple(geometry))
        if not (stack.located and stack.frame_of_reference) and len(viewport.images) <= MAX_HEADERS:
            stack = Stack(tuple(await self.from_headers(viewport)))
        self.stacks[viewport.series.id] = stack
        return stack

    async def from_headers(self, viewport: 'Viewport') -> list[SliceGeometry]:
        missing = [instance for instance, _ in viewport.images if instance.id not in self.viewer.facts]
        if missing:
            paths = [instance.file_path for instance in missing]
            read = await fetch(lambda: [viewer_facts.describe(path) for path in paths])
            self.viewer.facts.update({instance.id: facts for instance, facts in zip(missing, read, strict=True)})
        return [
            slice_positions.from_facts(self.viewer.facts[instance.id])
            if instance.number_of_frames == 1
            else SliceGeometry()
            for instance, _ in viewport.images
        ]
