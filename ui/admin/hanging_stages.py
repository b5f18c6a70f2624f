"""The stages of a hanging protocol as a small form: per stage a layout, per viewport which series (by description,
plane, series number or place), the window preset, which study (this one or a prior) and cine.

The form edits plain dictionaries; `stages()` gives them in the stored shape for domain.hanging_protocols to check.
"""

from typing import Any

from nicegui import ui

from domain.errors import N_
from domain.hanging_layout import LAYOUTS, MAX_PRIORS, MAX_STAGES, PRESET_NAMES, Stage

from ..i18n import t

SERIES_BY = {
    'index': N_('Place (0 the first)'),
    'description': N_('Description words'),
    'plane': N_('Plane'),
    'number': N_('Series number'),
}


class StagesEditor:
    """Stages being edited: a card per stage, a row per viewport."""

    def __init__(self, stages: list[Stage]) -> None:
        self.rows: list[dict[str, Any]] = [_flat(stage) for stage in stages]

    @ui.refreshable_method
    def show(self) -> None:
        for n, stage in enumerate(self.rows, start=1):
            with ui.card().classes('w-full').props('flat bordered').mark(f'stage-{n}'):
                with ui.row().classes('items-center gap-4'):
                    ui.label(t('Stage {n}', n=n)).classes('text-subtitle2')
                    ui.select(
                        list(LAYOUTS),
                        value=stage['layout'],
                        label=t('Layout'),
                        on_change=lambda e, s=stage: self.relayout(s, e.value),
                    ).classes('w-24').mark(f'stage-{n}-layout')
                    if len(self.rows) > 1:
                        ui.button(icon='delete', on_click=lambda s=stage: self.remove(s)).props('flat dense').tooltip(
                            t('Remove this stage')
                        ).mark(f'stage-{n}-remove')
                for k, viewport in enumerate(stage['viewports'], start=1):
                    self.viewport_row(viewport, f'stage-{n}-viewport-{k}', k)
        if len(self.rows) < MAX_STAGES:
            ui.button(t('Add a stage'), icon='add', on_click=self.add).props('flat').mark('stage-add')

    def viewport_row(self, viewport: dict[str, Any], mark: str, k: int) -> None:
        with ui.row().classes('items-center gap-3 no-wrap'):
            ui.label(t('Viewport {n}', n=k)).classes('w-20 text-caption')
            ui.select({key: t(name) for key, name in SERIES_BY.items()}, label=t('Series by')).bind_value(
                viewport, 'by'
            ).classes('w-44').mark(f'{mark}-by')
            ui.input(t('Value')).bind_value(viewport, 'value').classes('w-40').tooltip(
                t('Words (alternatives separated by |), axial / coronal / sagittal, or a number')
            ).mark(f'{mark}-value')
            presets = {'': t("The file's own window"), **{name: t(name) for name in sorted(PRESET_NAMES)}}
            ui.select(presets, label=t('Window')).bind_value(viewport, 'preset').classes('w-40').mark(f'{mark}-preset')
            ui.number(t('Prior'), min=0, max=MAX_PRIORS, format='%d').bind_value(viewport, 'prior').classes(
                'w-20'
            ).tooltip(t('0 this study, 1 the newest matching prior, …')).mark(f'{mark}-prior')
            ui.checkbox(t('Cine')).bind_value(viewport, 'cine').mark(f'{mark}-cine')

    def relayout(self, stage: dict[str, Any], layout: str) -> None:
        """As many viewport rows as the layout has viewports."""
        stage['layout'] = layout
        wanted = LAYOUTS.get(layout, 1)
        viewports = stage['viewports']
        while len(viewports) < wanted:
            viewports.append(_flat_viewport({}))
        del viewports[wanted:]
        self.show.refresh()

    def add(self) -> None:
        self.rows.append(_flat(Stage()))
        self.show.refresh()

    def remove(self, stage: dict[str, Any]) -> None:
        self.rows = [row for row in self.rows if row is not stage]
        self.show.refresh()

    def stages(self) -> list[dict[str, Any]]:
        """The stages in the stored shape (domain.hanging_protocols.Stage), not yet checked."""
        return [
            {
                'layout': row['layout'],
                'viewports': [
                    {
                        'series': {'by': v['by'], 'value': str(v['value'] or '').strip()},
                        'preset': v['preset'] or '',
                        'prior': int(v['prior'] or 0),
                        'cine': bool(v['cine']),
                    }
                    for v in row['viewports']
                ],
            }
            for row in self.rows
        ]


def _flat(stage: Stage) -> dict[str, Any]:
    viewports = [_flat_viewport(v.model_dump()) for v in stage.viewports]
    while len(viewports) < LAYOUTS[stage.layout]:
        viewports.append(_flat_viewport({}))
    return {'layout': stage.layout, 'viewports': viewports}


def _flat_viewport(data: dict[str, Any]) -> dict[str, Any]:
    series = data.get('series') or {}
    return {
        'by': series.get('by', 'index'),
        'value': str(series.get('value', 0)),
        'preset': data.get('preset', ''),
        'prior': data.get('prior', 0),
        'cine': data.get('cine', False),
    }
