"""Templates: the report templates as data; an edit is saved as a new version, old reports keep theirs.

The clinic logo printed in every report's header is set on the Settings screen (ui/admin/settings_clinic.py).
"""

import json

from nicegui import ui

from domain import templates
from domain.access import Actor
from domain.errors import DomainError

from ..i18n import error_text, format_datetime, t
from ..shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/admin/templates', 'Templates', 'article', order=86)

    @screen('/admin/templates', title='Templates')
    async def templates_page() -> None:
        await TemplatesPage(current_actor()).build()


class TemplatesPage:
    """The template list with its offered switches, the JSON editor of the chosen one, and where the logo is set."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.code: str | None = None  # None: nothing chosen; '': a new template

    async def build(self) -> None:
        with ui.row().classes('w-full items-start gap-6 no-wrap'):
            with ui.card().classes('w-1/3 min-w-80'):
                ui.label(t('Templates')).classes('text-h6')
                await self.listing()
                ui.button(t('New template'), icon='add', on_click=lambda: self.edit('')).props('outline').mark(
                    'new-template'
                )
            with ui.card().classes('grow'):
                await self.editor()
        ui.link(t('The clinic logo in the report header is set under Settings'), '/admin/settings').mark(
            'logo-settings-link'
        )

    @ui.refreshable_method
    async def listing(self) -> None:
        rows = await perform(templates.current, by=self.actor, include_inactive=True)
        if rows is FAILED:
            return
        for row in rows:
            with ui.row().classes('items-center gap-3 w-full').mark(f'template-{row.code}'):
                ui.button(row.name, on_click=lambda r=row: self.edit(r.code)).props('flat no-caps').mark(
                    f'edit-{row.code}'
                )
                ui.label(f'{row.code} · {t("version {n}", n=row.version)} · {row.modality or "—"}').classes(
                    'text-grey-7'
                )
                ui.space()
                ui.switch(
                    t('offered'), value=row.active, on_change=lambda e, c=row.code: self.set_active(c, e.value)
                ).mark(f'active-{row.code}')

    async def set_active(self, code: str, active: bool) -> None:
        await perform(templates.set_active, code, active, by=self.actor, success=t('Saved'))

    async def edit(self, code: str | None) -> None:
        self.code = code
        await self.editor.refresh()

    @ui.refreshable_method
    async def editor(self) -> None:
        if self.code is None:
            ui.label(t('Choose a template to edit, or start a new one')).classes('text-grey-7')
            return
        history = await perform(templates.versions, self.code, by=self.actor) if self.code else []
        if history is FAILED:
            return
        latest = history[0] if history else None
        data = templates.definition(latest).model_dump() if latest else templates.blank()
        code = ui.input(t('Code'), value=self.code).classes('w-64').mark('template-code')
        code.set_enabled(latest is None)
        modality = (
            ui.input(t('Modality'), value=latest.modality if latest else '').classes('w-32').mark('template-modality')
        )
        text = (
            ui.textarea(t('Definition (JSON)'), value=json.dumps(data, ensure_ascii=False, indent=2))
            .classes('w-full font-mono')
            .props('rows=24')
            .mark('template-definition')
        )
        if latest:
            ui.label(
                t(
                    'Version {n} by {who} on {when}',
                    n=latest.version,
                    who=latest.created_by,
                    when=format_datetime(latest.created_at),
                )
            ).classes('text-caption text-grey-7')
        ui.button(
            t('Save as new version'), icon='save', on_click=lambda: self.save(code.value, modality.value, text.value)
        ).mark('save-template')

    async def save(self, code: str, modality: str, text: str) -> None:
        try:
            parsed = templates.from_json(text)
        except DomainError as error:
            ui.notify(error_text(error), type='warning')
            return
        saved = await perform(templates.save_version, code, parsed, modality=modality, by=self.actor)
        if saved is FAILED:
            return  # what was typed stays in the editor
        ui.notify(t('Saved as version {n}', n=saved.version), type='positive')
        self.code = saved.code
        await self.listing.refresh()
        await self.editor.refresh()
