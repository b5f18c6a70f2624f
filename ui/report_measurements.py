"""The report editor's list of this study's measurements, each with a field to put it in and an Insert button."""

from collections.abc import Callable
from typing import Any

from nicegui import ui

from domain import report_measurements, templates
from domain.reporting import ReportView
from domain.templates import FieldDef

from .i18n import t
from .viewer_tools import KIND_NAMES


def measurements(shown: ReportView, fields: list[FieldDef], language: str, insert: Callable[[str, str], None]) -> None:
    """One row per measured value; Insert calls insert(field key, value in that field's unit)."""
    numbers = [f for f in fields if f.type == 'number']
    if not shown.measurements or not numbers:
        return
    with ui.card().classes('w-full'):
        ui.label(t('Measurements of this study')).classes('text-subtitle1 text-weight-medium')
        for measurement in shown.measurements:
            if measurement.value is not None:
                _row(measurement, numbers, language, insert)


def _row(measurement: Any, numbers: list[FieldDef], language: str, insert: Callable[[str, str], None]) -> None:
    target = {'key': report_measurements.matching_field(measurement.label, numbers)}

    def chosen() -> None:
        spec = next((f for f in numbers if f.key == target['key']), None)
        if spec is None:
            ui.notify(t('Choose the field first'), type='warning')
            return
        insert(spec.key, report_measurements.as_field_value(measurement.value, measurement.unit, spec.unit))

    with ui.row().classes('items-center gap-3').mark('measurement-row'):
        ui.label(f'{measurement.label or _kind(measurement.kind)}: {measurement.value:.1f} {measurement.unit}').classes(
            'w-64'
        )
        ui.select({f.key: templates.label(f.label, language) for f in numbers}, label=t('Field')).bind_value(
            target, 'key'
        ).classes('w-64').props('dense')
        ui.button(t('Insert'), icon='input', on_click=chosen).props('outline dense').mark(f'insert-{measurement.id}')


def _kind(kind: str) -> str:
    """An unlabelled measurement named by its tool, as the viewer names it."""
    return t(KIND_NAMES[kind]) if kind in KIND_NAMES else kind
