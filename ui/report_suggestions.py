"""The report editor's suggested drafts (domain/drafting.py): asked for with a button, each shown marked as a
suggestion with the text it would add, and taken into the draft only when the doctor accepts it."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from domain import drafting, templates
from domain.access import Actor

from .i18n import t
from .shell import FAILED, perform


class Suggestions:
    """A card under the report's texts: 'Suggest a draft', then one marked suggestion per plug-in."""

    def __init__(self, report_id: int, actor: Actor, language: str, save: Callable[[], Awaitable[bool]]) -> None:
        self.report_id, self.actor, self.language, self.save = report_id, actor, language, save
        self.holder: ui.column | None = None

    def build(self) -> None:
        with ui.card().classes('w-full'):
            with ui.row().classes('items-center gap-3'):
                ui.label(t('Suggested draft')).classes('text-subtitle1 text-weight-medium')
                ui.button(t('Suggest a draft'), icon='auto_awesome', on_click=self.ask).props(
                    'outline dense no-caps'
                ).mark('suggest-draft')
            self.holder = ui.column().classes('w-full gap-2')

    async def ask(self) -> None:
        found = await perform(drafting.suggestions, self.report_id, by=self.actor)
        if found is FAILED or self.holder is None:
            return
        self.holder.clear()
        with self.holder:
            if not found:
                ui.label(t('Nothing to suggest from what the report holds so far')).classes('text-grey-7').mark(
                    'no-suggestion'
                )
            for suggestion in found:
                self.show(suggestion)

    def show(self, suggestion: drafting.Suggestion) -> None:
        plugin = next((p for p in drafting.plugins() if p.name == suggestion.plugin), None)
        title = templates.label(plugin.title, self.language) if plugin is not None else suggestion.plugin
        card = ui.card().classes('w-full q-pa-sm bg-amber-1').style('border-left: 5px solid var(--q-warning)')
        with card.mark(f'suggestion-{suggestion.plugin}'):
            ui.label(t('Suggestion ({title}): not part of the report until you accept it', title=title)).classes(
                'text-caption text-weight-bold'
            )
            for sentence in suggestion.findings:
                ui.label(sentence)
            if suggestion.impression:
                ui.label(f'{t("Impression")}: {" ".join(suggestion.impression)}').classes('text-italic')
            with ui.row().classes('gap-2'):
                ui.button(t('Accept'), icon='done', on_click=lambda: self.accept(suggestion)).props('dense').mark(
                    f'accept-{suggestion.plugin}'
                )
                ui.button(t('Discard'), icon='close', on_click=lambda: self.discard(suggestion, card)).props(
                    'flat dense'
                ).mark(f'discard-{suggestion.plugin}')

    async def accept(self, suggestion: drafting.Suggestion) -> None:
        if not await self.save():  # what was typed is stored first; the suggestion is added after it
            return
        done = await perform(drafting.accept, self.report_id, suggestion.plugin, by=self.actor)
        if done is not FAILED:
            ui.navigate.reload()  # the editor shows the draft as stored now

    async def discard(self, suggestion: drafting.Suggestion, card: ui.card) -> None:
        if await perform(drafting.discard, self.report_id, suggestion.plugin, by=self.actor) is not FAILED:
            card.delete()
