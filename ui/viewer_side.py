"""The viewer's side panel (priors, measurements, key images), its series strip and the DICOM tags dialog."""

from typing import TYPE_CHECKING

from nicegui import ui

from dicom import viewer_facts
from domain import viewing
from domain.viewing import MeasurementView, StudyView

from .i18n import format_date, format_datetime, t
from .shell import FAILED, fetch, perform
from .viewer_tools import calibration_text, frame_url, measurement_text

if TYPE_CHECKING:
    from .viewer import Viewer


class SidePanel:
    """Beside the viewports: the patient's prior studies, this study's measurements and the key image count."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.column = ui.column().classes('w-full gap-2')

    async def render(self) -> None:
        priors = await perform(viewing.priors, self.viewer.study.id, by=self.viewer.actor)
        self.column.clear()
        with self.column:
            ui.label(t('Priors')).classes('text-subtitle2')
            if priors is FAILED or not priors:
                ui.label(t('No prior studies of this patient')).classes('text-caption text-grey-7').mark('no-priors')
            else:
                for prior in priors:
                    when = format_date(prior.study_date) if prior.study_date else ''
                    ui.button(
                        f'{when} {prior.modalities} {prior.description}',
                        on_click=lambda p=prior.id: self.viewer.compare(p),
                    ).props('flat dense no-caps align=left').classes('w-full').mark(f'prior-{prior.id}')
            ui.separator()
            ui.label(t('Measurements')).classes('text-subtitle2')
            if not self.viewer.measurements:
                ui.label(t('None yet')).classes('text-caption text-grey-7')
            for row in self.viewer.measurements:
                self.measurement(row)
            ui.separator()
            ui.label(t('Key images: {n}', n=len(self.viewer.key_frames))).classes('text-subtitle2').mark('key-count')
            ui.separator()
            self.viewer.notes.panel()

    def measurement(self, row: MeasurementView) -> None:
        with (
            ui.row()
            .classes('w-full items-center no-wrap gap-1')
            .mark('measurement-row')
            .props('data-testid=measurement-row')
        ):
            ui.label(measurement_text(row)).classes('text-body2 grow').mark(f'measurement-{row.id}')
            if self.viewer.may_measure:
                with ui.button(icon='edit').props('flat dense size=sm').mark(f'label-{row.id}'):
                    with ui.menu(), ui.column().classes('q-pa-sm'):
                        label = ui.input(t('Label'), value=row.label).mark('measurement-label')
                        ui.button(t('Save'), on_click=lambda: self.relabel(row.id, label.value)).mark('save-label')
                ui.button(icon='delete', on_click=lambda: self.remove(row.id)).props(
                    'flat dense size=sm color=negative'
                ).mark(f'delete-{row.id}')
        ui.label(f'{calibration_text(row.calibration)} · {row.created_by} · {format_datetime(row.created_at)}').classes(
            'text-caption text-grey-7'
        )

    async def relabel(self, measurement_id: int, label: str) -> None:
        await perform(viewing.label_measurement, measurement_id, label, by=self.viewer.actor)

    async def remove(self, measurement_id: int) -> None:
        await perform(viewing.delete_measurement, measurement_id, by=self.viewer.actor)


def series_strip(viewer: 'Viewer', study: StudyView) -> None:
    """A card per series (its middle image); a click shows it in the active viewport, or drag it onto one."""
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
                    frame_url(study, series, middle, middle.number_of_frames // 2 + 1) + '?viewport=128,128&quality=80'
                ).classes('w-full').props('fit=contain height=96px')
            ui.label(f'{series.series_number or ""} {series.modality} · {series.frames}').classes('text-caption')
            ui.label(series.description).classes('text-caption text-grey-7 ellipsis')
            viewer.comfort.bar(series.id)  # loading progress (ui/viewer_comfort.py)
        card.on('click', lambda s=series, st=study: viewer.show_series(viewer.viewports[viewer.active], st, s))
        card.on('dragstart', lambda s=series, st=study: setattr(viewer, 'dragged', (st, s)))


async def show_tags(viewer: 'Viewer') -> None:
    """The whole header of the image in the active viewport, filterable."""
    viewport = viewer.current()
    if not viewport.images:
        return
    source = await perform(viewing.tag_source, viewport.images[viewport.index][0].id, by=viewer.actor)
    if source is FAILED:
        return
    rows = await fetch(viewer_facts.tag_rows, source.file_path)
    if isinstance(rows, str):
        rows = [{'tag': '', 'name': t('This file cannot be read'), 'vr': '', 'value': rows, 'depth': 0}]
    with ui.dialog() as dialog, ui.card().classes('w-[56rem] max-w-full'):
        ui.label(t('DICOM tags')).classes('text-h6')
        search = ui.input(t('Filter')).classes('w-full').mark('tag-filter')
        columns = [
            {'name': name, 'label': label, 'field': name, 'align': 'left'}
            for name, label in (('tag', t('Tag')), ('name', t('Name')), ('vr', t('Vr')), ('value', t('Value')))
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
