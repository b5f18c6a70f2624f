"""MPR in the viewer: the active series as axial, coronal and sagittal planes in three viewports, linked by a crosshair.

The planes are server-rendered images (dicom/wado_mpr.py) that the existing canvas scrolls, windows and zooms like
any series. A click with the crosshair tool, or a scroll in one plane, moves the shared point: the other planes go
to the slice through it and draw the crosshair there. Each plane's canvas carries the point as `data-voxel="x,y,z"`
(voxel indices in patient axes, dicom/volume.py) beside `data-crosshair` for the tests that check it.
"""

import logging
from typing import TYPE_CHECKING, Any

from nicegui import ui

from dicom import mpr, wado_mpr
from dicom.render import RenderError
from dicom.volume import Volume
from domain.errors import N_
from domain.viewing import SeriesView, StudyView

from .i18n import t
from .shell import FAILED, perform

if TYPE_CHECKING:
    from .viewer import Viewer, Viewport

log = logging.getLogger(__name__)

SIDES = {
    'axial': {'top': 'A', 'bottom': 'P', 'left': 'R', 'right': 'L'},
    'coronal': {'top': 'H', 'bottom': 'F', 'left': 'R', 'right': 'L'},
    'sagittal': {'top': 'H', 'bottom': 'F', 'left': 'A', 'right': 'P'},
}
PLANE_NAMES = {'axial': N_('Axial'), 'coronal': N_('Coronal'), 'sagittal': N_('Sagittal')}
SLAB_NAMES = {'thin': N_('Thin'), 'mip': N_('MIP'), 'minip': N_('MinIP'), 'avg': N_('Average')}


class MprMode:
    """The MPR layout of one viewer: which series, the volume's planes and the shared point."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.on = False
        self.series_id = 0
        self.volume: Volume | None = None
        self.opened: tuple[StudyView, SeriesView] | None = None  # the study and series shown as MPR
        self.voxel = (0, 0, 0)
        self.slab, self.thickness = 'thin', 10.0

    def controls(self) -> None:
        """The toolbar's MPR button and slab settings (shown while MPR is on)."""
        self.button = (
            ui.button(t('MPR'), icon='view_in_ar', on_click=self.toggle)
            .props('flat dense no-caps data-testid=mpr')
            .tooltip(t('Axial, coronal and sagittal planes of this series'))
            .mark('mpr')
        )
        with ui.row().classes('items-center gap-1') as self.slab_row:
            ui.select(
                {key: t(name) for key, name in SLAB_NAMES.items()}, value=self.slab, on_change=self.set_slab
            ).props('dense options-dense').classes('w-24').mark('mpr-slab')
            ui.number(t('mm'), value=self.thickness, min=1, max=mpr.MAX_THICKNESS, step=1, on_change=self.set_thickness)
            # the toolbar colours it with the other tools (ViewerToolbar.set_tool)
            self.viewer.tools.tool_buttons['crosshair'] = (
                ui.button(icon='add', on_click=self.crosshair_tool)
                .props('flat dense data-testid=tool-crosshair')
                .tooltip(t('Crosshair: click a point to show it in all three planes'))
                .mark('tool-crosshair')
            )
        self.slab_row.set_visibility(False)

    async def toggle(self) -> None:
        if self.on:
            await self.leave()
        else:
            await self.enter()

    async def enter(self) -> None:
        """Turn the first three viewports into the planes of the active viewport's series."""
        viewport = self.viewer.current()
        if viewport.series is None or viewport.study is None:
            ui.notify(t('Open a series first'), type='warning')
            return
        series, study = viewport.series, viewport.study
        try:
            volume = await perform(wado_mpr.volume_for, series.id, by=self.viewer.actor)
        except (RenderError, OSError) as error:
            log.warning('MPR of series %s not built: %s', series.id, error)
            ui.notify(t('This series cannot be shown as MPR'), type='warning')
            return
        if volume is FAILED:
            return
        self.on, self.series_id, self.volume, self.opened = True, series.id, volume, (study, series)
        nz, ny, nx = volume.shape
        self.voxel = (nx // 2, ny // 2, nz // 2)
        self.viewer.layout = 3
        self.viewer.grid.style('grid-template-columns:repeat(3,minmax(0,1fr));grid-template-rows:minmax(0,1fr)')
        for n, plane_viewport in enumerate(self.viewer.viewports):
            plane_viewport.box.set_visibility(n < 3)
        for plane_viewport in self.viewer.viewports[:3]:
            plane_viewport.study, plane_viewport.series, plane_viewport.images = study, series, []
        self.show_planes()
        self.crosshair_tool()
        self.slab_row.set_visibility(True)
        self.button.props('color=accent')
        self.viewer.activate(self.viewer.viewports[0])
        self.viewer.tools.status.text = t('MPR')

    async def leave(self) -> None:
        """Back to one viewport with the series as acquired."""
        self.on, self.volume = False, None
        self.slab_row.set_visibility(False)
        self.button.props('color=primary')
        for viewport in self.viewer.viewports[:3]:
            viewport.canvas.info(crosshair=None, voxel=None, message='')
        self.viewer.tools.set_tool('scroll')
        self.viewer.set_layout(1)
        if self.opened is not None:
            await self.viewer.show_series(self.viewer.viewports[0], *self.opened)

    # ------------------------------------------------------------ planes

    def show_planes(self) -> None:
        volume = self.volume
        if volume is None:
            return
        for plane, viewport in zip(mpr.PLANES, self.viewer.viewports, strict=False):
            mode, thickness = ('avg', 1) if self.slab == 'thin' else (self.slab, self.slab_planes(plane))
            shape = mpr.geometry(volume, plane)
            index = mpr.point_of(volume, plane, self.voxel)[0]
            base = wado_mpr.PATH.format(
                series_id=self.series_id, plane=plane, mode=mode, thickness=thickness, index='{index}'
            )
            frames = [[base.replace('{index}', str(n)), shape.columns, shape.rows] for n in range(shape.count)]
            viewport.canvas.frames(frames, index, None)
            viewport.canvas.info(
                message='',
                overlay=self.overlay(plane),
                orient=SIDES[plane],
                spacing=shape.pixel_mm,
                window=[volume.window.center, volume.window.width],
            )
        self.place_crosshair()

    def overlay(self, plane: str) -> dict[str, list[str]]:
        slab = '' if self.slab == 'thin' else f'{t(SLAB_NAMES[self.slab])} {self.thickness:g} mm'
        return {'tl': [t(PLANE_NAMES[plane]), slab], 'tr': [], 'bl': [], 'br': self.point_text()}

    def point_text(self) -> list[str]:
        if self.volume is None:
            return []
        x, y, z = self.voxel
        value = float(self.volume.voxels[z, y, x])
        return [f'{t("Voxel")} {x}, {y}, {z}', f'{t("Value")} {value:g}']

    def place_crosshair(self) -> None:
        """Draw the crosshair at the shared point in every plane, whose viewport carries the point as data-voxel."""
        if self.volume is None:
            return
        x, y, z = self.voxel
        for plane, viewport in zip(mpr.PLANES, self.viewer.viewports, strict=False):
            _index, column, row = mpr.point_of(self.volume, plane, self.voxel)
            viewport.canvas.info(
                crosshair=[round(column, 2), round(row, 2)], voxel=[x, y, z], overlay=self.overlay(plane)
            )

    def slab_planes(self, plane: str) -> int:
        """The slab's thickness in this plane's slices (at least one): mm over the spacing across the plane."""
        if self.volume is None:
            return 1
        across = self.volume.spacing[mpr.PLANES.index(plane)]  # z for axial, y for coronal, x for sagittal
        return max(1, min(mpr.MAX_THICKNESS, round(self.thickness / across)))

    # ------------------------------------------------------------ what the canvases report

    def listen(self, viewport: 'Viewport', n: int) -> None:
        """Hear the canvas' crosshair clicks and scrolls (Viewer.viewport calls this as it makes each canvas: a
        listener added after the page is sent makes NiceGUI render the element anew)."""
        viewport.canvas.on('point', lambda e: self.on_point(n, e.args))
        viewport.canvas.on('index', lambda e: self.on_scroll(n, int(e.args)), throttle=0.08)

    def on_point(self, n: int, args: dict[str, Any]) -> None:
        if not self.planes_shown(n) or self.volume is None:
            return
        plane = mpr.PLANES[n]
        self.voxel = mpr.voxel_at(self.volume, plane, int(args['index']), float(args['x']), float(args['y']))
        for other_plane, viewport in zip(mpr.PLANES, self.viewer.viewports, strict=False):
            if other_plane != plane:
                viewport.canvas.go_to(mpr.point_of(self.volume, other_plane, self.voxel)[0])
        self.place_crosshair()

    def on_scroll(self, n: int, index: int) -> None:
        if not self.planes_shown(n) or self.volume is None:
            return
        x, y, z = self.voxel
        plane = mpr.PLANES[n]
        count = mpr.geometry(self.volume, plane).count
        index = max(0, min(count - 1, index))
        self.voxel = {'axial': (x, y, index), 'coronal': (x, index, z), 'sagittal': (index, y, z)}[plane]
        self.place_crosshair()

    def planes_shown(self, n: int) -> bool:
        """Viewport n shows an MPR plane (not a series dropped on it since)."""
        return self.on and n < 3 and not self.viewer.viewports[n].images

    # ------------------------------------------------------------ settings

    def crosshair_tool(self) -> None:
        self.viewer.tools.set_tool('crosshair')

    def set_slab(self, event: Any) -> None:
        self.slab = str(event.value)
        self.show_planes()

    def set_thickness(self, event: Any) -> None:
        self.thickness = float(event.value or 1)
        if self.slab != 'thin':
            self.show_planes()
