"""The viewer's arrows and text labels: the two tools, the list beside the viewports and the GSPS download.

The canvas reports a new arrow (tail and head) or the place a label goes, and a handle dragged to a new place;
this module asks for a label's text, saves through domain.annotations and lets the live event redraw every tab.
The presentation state (dicom.gsps) is downloaded from ANNOTATIONS_PATH, behind the same role guard as images.
"""

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.responses import Response
from nicegui import app, ui

from dicom import gsps
from domain import annotations
from domain.access import Actor
from domain.annotations import ARROW, TEXT, AnnotationView
from domain.errors import N_, NotAllowed, NotFound

from .guard import route_guard
from .i18n import error_text, format_datetime, t
from .shell import FAILED, fetch, perform

if TYPE_CHECKING:
    from .viewer import Viewer, Viewport

ANNOTATIONS_PATH = '/viewer/{study_id}/annotations.dcm'
TOOLS = ((ARROW, 'north_east', N_('Arrow')), (TEXT, 'title', N_('Text label')))
KIND_NAMES = {ARROW: N_('Arrow'), TEXT: N_('Text label')}


def register_route() -> None:
    """The study's annotations as a Grayscale Softcopy Presentation State (a DICOM file other viewers open)."""
    guard = route_guard(ANNOTATIONS_PATH)

    @app.get(ANNOTATIONS_PATH, include_in_schema=False)
    async def annotations_gsps(study_id: int, actor: Annotated[Actor, Depends(guard)]) -> Response:
        try:
            found = await fetch(annotations.for_export, study_id, by=actor)
            data = await fetch(gsps.for_study, found, creator=actor.username)
        except NotFound as error:
            raise HTTPException(status_code=404, detail=error_text(error, actor.language or None)) from None
        except NotAllowed as error:
            raise HTTPException(status_code=403, detail=error_text(error, actor.language or None)) from None
        disposition = f'attachment; filename="annotations-{study_id}.dcm"'  # the id is a number: nothing to quote
        return Response(data, media_type='application/dicom', headers={'Content-Disposition': disposition})


class Annotations:
    """One viewer's annotations: loaded with the measurements, sent to the canvases, listed in the side panel."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.rows: list[AnnotationView] = []

    async def load(self) -> None:
        found = await perform(annotations.of_study, self.viewer.study.id, by=self.viewer.actor)
        self.rows = [] if found is FAILED else found

    def marks(self, places: dict[tuple[int, int], int]) -> list[dict[str, Any]]:
        """What the canvas draws: arrows and labels on the frames this viewport shows (with their ids to move)."""
        return [
            {
                'kind': row.kind,
                'points': row.points,
                'text': row.text,
                'index': places[(row.instance_id, row.frame)],
                'id': row.id,
                'editable': annotations.may_change(row, self.viewer.actor),
            }
            for row in self.rows
            if (row.instance_id, row.frame) in places
        ]

    def watch(self, viewport: 'Viewport') -> None:
        """Listen to a viewport's canvas for new and moved annotations."""
        viewport.canvas.on('annotate', lambda e: self.on_annotate(viewport, e.args))
        viewport.canvas.on('annotationMove', lambda e: self.on_move(e.args))

    async def on_annotate(self, viewport: 'Viewport', args: dict[str, Any]) -> None:
        index = int(args.get('index', viewport.index))
        if viewport.study is None or not 0 <= index < len(viewport.images):
            return
        instance, frame = viewport.images[index]
        kind, points = str(args.get('kind')), args.get('points', [])
        text = await self.ask_text('') if kind == TEXT else ''
        if text is None or (kind == TEXT and not text):
            return
        saved = await perform(
            annotations.add, viewport.study.id, instance.id, frame, kind, points, text=text, by=self.viewer.actor
        )
        if saved is not FAILED:
            ui.notify(t(KIND_NAMES.get(kind, kind)) + ' ✓', type='positive')

    async def on_move(self, args: dict[str, Any]) -> None:
        await perform(annotations.change, int(args.get('id', 0)), points=args.get('points'), by=self.viewer.actor)

    async def ask_text(self, value: str) -> str | None:
        """The label's text from a small dialog (None when the doctor cancels)."""
        # In the page's own content, not where the click came from: the side panel is rebuilt whenever annotations
        # change (another viewer's edit, this viewer's last move), which would delete a dialog opened inside it.
        with ui.context.client.content, ui.dialog() as dialog, ui.card().mark('annotation-dialog'):
            field = ui.input(t('Text'), value=value).props('autofocus').classes('w-64').mark('annotation-text')
            field.on('keydown.enter', lambda: dialog.submit(field.value))
            with ui.row():
                ui.button(t('Save'), on_click=lambda: dialog.submit(field.value)).mark('annotation-save')
                ui.button(t('Cancel'), on_click=lambda: dialog.submit(None)).props('flat')
        answer = await dialog
        dialog.delete()
        return None if answer is None else str(answer).strip()

    def panel(self) -> None:
        """The side panel's list: each annotation with who made it and when, its edit and delete buttons."""
        with ui.row().classes('w-full items-center no-wrap'):
            ui.label(t('Annotations')).classes('text-subtitle2 grow')
            if self.rows:
                ui.button(
                    icon='download',
                    on_click=lambda: ui.download.from_url(ANNOTATIONS_PATH.format(study_id=self.viewer.study.id)),
                ).props('flat dense size=sm').tooltip(t('Download as a DICOM presentation state')).mark(
                    'annotations-gsps'
                )
        if not self.rows:
            ui.label(t('None yet')).classes('text-caption text-grey-7')
        for row in self.rows:
            self.row(row)

    def row(self, row: AnnotationView) -> None:
        with (
            ui.row()
            .classes('w-full items-center no-wrap gap-1')
            .mark('annotation-row')
            .props('data-testid=annotation-row')
        ):
            shown = row.text or t(KIND_NAMES.get(row.kind, row.kind))
            ui.label(shown).classes('text-body2 grow').mark(f'annotation-{row.id}')
            if annotations.may_change(row, self.viewer.actor):
                ui.button(icon='edit', on_click=lambda: self.rewrite(row)).props('flat dense size=sm').mark(
                    f'annotation-edit-{row.id}'
                )
                ui.button(icon='delete', on_click=lambda: self.remove(row.id)).props(
                    'flat dense size=sm color=negative'
                ).mark(f'annotation-delete-{row.id}')
        made = f'{t(KIND_NAMES.get(row.kind, row.kind))} · {row.created_by} · {format_datetime(row.created_at)}'
        if row.changed_at is not None:
            made += ' · ' + t('changed by {user} {when}', user=row.changed_by, when=format_datetime(row.changed_at))
        ui.label(made).classes('text-caption text-grey-7')

    async def rewrite(self, row: AnnotationView) -> None:
        text = await self.ask_text(row.text)
        if text is not None and (text or row.kind == ARROW):  # a label keeps some text; an arrow's may go
            await perform(annotations.change, row.id, text=text, by=self.viewer.actor)

    async def remove(self, annotation_id: int) -> None:
        await perform(annotations.delete, annotation_id, by=self.viewer.actor)
