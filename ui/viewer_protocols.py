"""Hanging protocols in the viewer: the study opens as its protocol says, and the toolbar switches them.

When a study opens, domain.hanging_protocols chooses the protocol (the radiologist's own first), the patient's
matching priors are opened, and the first stage that can be shown sets the layout, the series in each viewport,
its window preset and cine. The toolbar shows the protocol's name with a menu (the other protocols that fit, "Save
layout as my protocol", the radiologist's own list to rename or delete) and the previous/next stage buttons;
`[` and `]` do the same from the keyboard.
"""

import logging
from typing import TYPE_CHECKING, Any

from nicegui import ui

from domain import access, hanging_layout, hanging_protocols, viewing
from domain.access import Permission
from domain.hanging_layout import LAYOUTS, Protocol, ProtocolInput, SeriesRule, Stage, ViewportRule
from domain.viewing import SeriesView, StudyView

from .i18n import t
from .patients import submit_form
from .shell import FAILED, perform
from .viewer_tools import PRESETS

if TYPE_CHECKING:
    from .viewer import Viewer

log = logging.getLogger(__name__)


class HangingProtocols:
    """The protocol one viewer shows: which one, its stages, the priors it opened and the stage on screen."""

    def __init__(self, viewer: 'Viewer') -> None:
        self.viewer = viewer
        self.protocol: Protocol | None = None
        self.options: list[Protocol] = []
        self.priors: list[StudyView] = []
        self.stages: list[int] = []  # the stages that can be shown (a stage needing a missing prior is left out)
        self.position = 0  # in self.stages
        self.may_save = access.may(viewer.actor, Permission.OWN_HANGING_PROTOCOLS)

    # ------------------------------------------------------------ toolbar

    def controls(self) -> None:
        """The protocol button with its menu, and the previous/next stage buttons."""
        with ui.row().classes('items-center gap-0 no-wrap'):
            self.button = (
                ui.button(t('No protocol'), icon='view_quilt')
                .props('flat dense no-caps data-testid=protocol')
                .tooltip(t('Hanging protocol'))
                .mark('protocol')
            )
            with self.button, ui.menu() as self.menu:
                pass
            self.previous = (
                ui.button(icon='navigate_before', on_click=lambda: self.step(-1))
                .props('flat dense data-testid=stage-previous')
                .tooltip(t('Previous stage ([)'))
                .mark('stage-previous')
            )
            self.stage_label = ui.label('').classes('text-caption').mark('protocol-stage')
            self.next = (
                ui.button(icon='navigate_next', on_click=lambda: self.step(1))
                .props('flat dense data-testid=stage-next')
                .tooltip(t('Next stage (])'))
                .mark('stage-next')
            )
        self.dialogs = ui.element('div')  # the dialogs live here, not in the menu that refresh_controls clears
        self.refresh_controls()

    def refresh_controls(self) -> None:
        self.button.text = t(self.protocol.name) if self.protocol else t('No protocol')
        many = len(self.stages) > 1
        self.previous.set_visibility(many)
        self.next.set_visibility(many)
        self.stage_label.text = f'{self.position + 1}/{len(self.stages)}' if many else ''
        self.menu.clear()
        with self.menu:
            for protocol in self.options:
                ui.menu_item(
                    ('✓ ' if self.protocol and protocol.id == self.protocol.id else '') + t(protocol.name),
                    on_click=lambda p=protocol: self.use(p),
                ).mark(f'protocol-option-{protocol.id}')
            if self.may_save:
                ui.separator()
                ui.menu_item(t('Save layout as my protocol'), on_click=self.save_dialog).mark('protocol-save')
                ui.menu_item(t('My protocols'), on_click=self.own_dialog).mark('protocol-own')

    # ------------------------------------------------------------ applying

    async def open(self) -> bool:
        """Hang the study as its best protocol says; False when none fits (the viewer shows the first series)."""
        found = await perform(hanging_protocols.matching, self.viewer.study, by=self.viewer.actor)
        self.options = [] if found is FAILED else found
        if not self.options:
            self.refresh_controls()
            return False
        await self.use(self.options[0])
        return True

    async def use(self, protocol: Protocol) -> None:
        """Show a protocol from its first stage, opening the priors it wants."""
        self.protocol, self.priors = protocol, []
        if protocol.priors:
            candidates = await perform(viewing.priors, self.viewer.study.id, by=self.viewer.actor)
            chosen = [] if candidates is FAILED else hanging_layout.matching_priors(
                protocol, self.viewer.study, candidates
            )  # fmt: skip
            for prior in chosen:
                opened = await perform(viewing.open_study, prior.id, by=self.viewer.actor)
                if opened is not FAILED and opened.series:
                    self.priors.append(opened)
        self.stages = hanging_layout.usable_stages(protocol, len(self.priors))
        self.position = 0
        log.info('viewer hangs study %s with protocol %s', self.viewer.study.id, protocol.id)
        await self.show_stage()

    async def step(self, by: int) -> None:
        """The next (1) or previous (-1) stage, wrapping round."""
        if self.protocol is None or len(self.stages) < 2:
            return
        self.position = (self.position + by) % len(self.stages)
        await self.show_stage()

    async def show_stage(self) -> None:
        viewer, protocol = self.viewer, self.protocol
        if protocol is None:
            return
        stage = self.stages[self.position]
        placements = hanging_layout.resolve(protocol, stage, viewer.study, self.priors)
        count = LAYOUTS[protocol.stages[stage].layout]
        while count > 1 and (count > len(placements) or placements[count - 1] is None):
            count -= 1  # a radiograph with one view: no empty viewport beside it
        viewer.set_layout(count)
        for viewport, placement in zip(viewer.viewports, placements, strict=False):
            if placement is None:
                continue
            window = preset_window(placement.series.modality, placement.preset)
            await viewer.show_series(viewport, placement.study, placement.series, window=window)
            if placement.cine and len(viewport.images) > 1 and not viewer.tools.playing:
                viewer.tools.toggle_cine()
        viewer.activate(viewer.viewports[0])
        if any(p is not None and p.study.id != viewer.study.id for p in placements[:count]):
            viewer.links.switched_on_by_itself()  # a prior beside: scroll with it, as "Compare with…" does
        self.refresh_controls()

    # ------------------------------------------------------------ saving one's own

    def current_stage(self) -> tuple[Stage, int]:
        """The layout on screen as a stage, and how many priors it shows."""
        viewer, rules, priors = self.viewer, [], 0
        for viewport in viewer.viewports[: viewer.layout]:
            if viewport.series is None or viewport.study is None:
                rules.append(ViewportRule())
                continue
            prior = 0
            if viewport.study.id != viewer.study.id:
                prior = next((n + 1 for n, p in enumerate(self.priors) if p.id == viewport.study.id), 1)
                priors = max(priors, prior)
            rules.append(
                ViewportRule(
                    series=series_rule(viewport.study, viewport.series),
                    preset=preset_name(viewport.series.modality, viewport.window),
                    prior=prior,
                    cine=bool(viewport.canvas.prop('playing')),
                )
            )
        return Stage(layout=hanging_layout.layout_name(viewer.layout), viewports=rules), priors

    async def save_dialog(self) -> None:
        """Name the layout on screen and keep it as the radiologist's own protocol (kept open on refusal)."""
        study = self.viewer.study
        stage, priors = self.current_stage()
        parts = sorted({s.body_part.lower() for s in study.series if s.body_part})
        form: dict[str, Any] = {
            'name': '',
            'modality': study.modalities.split('\\')[0] if study.modalities else '',
            'pattern': '|'.join(parts) or (study.description.split()[-1].lower() if study.description else ''),
        }
        self.dialogs.clear()
        with self.dialogs, ui.dialog() as dialog, ui.card().classes('w-96').mark('protocol-save-dialog'):
            ui.label(t('Save layout as my protocol')).classes('text-h6')
            inputs = {
                'name': ui.input(t('Name')).bind_value(form, 'name').classes('w-full').mark('protocol-name'),
                'modality': ui.input(t('Modality')).bind_value(form, 'modality').mark('protocol-modality'),
                'pattern': ui.input(t('Body part or description words'))
                .bind_value(form, 'pattern')
                .classes('w-full')
                .tooltip(t('Words that must all occur; alternatives separated by |'))
                .mark('protocol-pattern'),
            }

            async def save() -> None:
                data = ProtocolInput(
                    name=form['name'], modality=form['modality'], pattern=form['pattern'], priors=priors, stages=[stage]
                )
                made = await submit_form(lambda: hanging_protocols.create(data, by=self.viewer.actor), inputs)
                if made is FAILED:
                    return
                dialog.close()
                ui.notify(t('Protocol saved'), type='positive')
                await self.reload_options(select=made)

            with ui.row():
                ui.button(t('Save'), on_click=save).mark('protocol-save-submit')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()

    async def reload_options(self, select: Protocol | None = None) -> None:
        found = await perform(hanging_protocols.matching, self.viewer.study, by=self.viewer.actor)
        self.options = [] if found is FAILED else found
        if select is not None and any(p.id == select.id for p in self.options):
            self.protocol = next(p for p in self.options if p.id == select.id)
            self.stages, self.position = hanging_layout.usable_stages(self.protocol, len(self.priors)), 0
        self.refresh_controls()

    async def own_dialog(self) -> None:
        """The radiologist's own protocols: rename or delete."""
        self.dialogs.clear()
        with self.dialogs, ui.dialog() as dialog, ui.card().classes('w-[32rem]').mark('protocol-own-dialog'):
            ui.label(t('My protocols')).classes('text-h6')
            await OwnProtocols(self).rows()
            ui.button(t('Close'), on_click=dialog.close).props('flat')
        dialog.open()


class OwnProtocols:
    """The list in the "My protocols" dialog."""

    def __init__(self, hanging: HangingProtocols) -> None:
        self.hanging, self.actor = hanging, hanging.viewer.actor

    @ui.refreshable_method
    async def rows(self) -> None:
        found = await perform(hanging_protocols.own_and_shared, by=self.actor)
        mine = [] if found is FAILED else [p for p in found if not p.shared]
        if not mine:
            ui.label(t('You have no protocols of your own yet')).classes('text-grey-7').mark('protocol-own-empty')
        for protocol in mine:
            with ui.row().classes('w-full items-center no-wrap'):
                ui.input(value=protocol.name, on_change=lambda e, p=protocol: self.rename(p.id, e.value or '')).props(
                    'dense debounce=800'
                ).classes('grow').mark(f'own-protocol-{protocol.id}')
                ui.label(protocol.modality or t('any')).classes('text-caption w-16')
                ui.button(icon='delete', on_click=lambda p=protocol: self.delete(p.id)).props('flat dense').mark(
                    f'own-protocol-delete-{protocol.id}'
                )

    async def rename(self, protocol_id: int, name: str) -> None:
        done = await perform(hanging_protocols.rename, protocol_id, name, by=self.actor, success=t('Saved'))
        if done is not FAILED:
            await self.hanging.reload_options()

    async def delete(self, protocol_id: int) -> None:
        done = await perform(hanging_protocols.delete, protocol_id, by=self.actor, success=t('Protocol deleted'))
        if done is not FAILED:
            if self.hanging.protocol and self.hanging.protocol.id == protocol_id:
                self.hanging.protocol = None
            await self.hanging.reload_options()
            self.rows.refresh()


# ---------------------------------------------------------------- plain helpers


def preset_window(modality: str, name: str) -> list[float] | None:
    """The (centre, width) of a named preset for this modality; None for '' or a name it does not offer."""
    found = next(((c, w) for preset, c, w in PRESETS.get(modality, []) if preset == name), None)
    return [float(found[0]), float(found[1])] if found else None


def preset_name(modality: str, window: list[float] | None) -> str:
    """The preset whose window this is ('' for the file's own or a hand-set window)."""
    if not window:
        return ''
    return next((name for name, c, w in PRESETS.get(modality, []) if [float(c), float(w)] == list(window)), '')


def series_rule(study: StudyView, series: SeriesView) -> SeriesRule:
    """How a saved protocol finds this series again in another study: its description when it tells the series
    apart, else its plane, else its number."""
    if series.description and sum(s.description == series.description for s in study.series) == 1:
        return SeriesRule(by='description', value=series.description)
    if series.plane and sum(s.plane == series.plane for s in study.series) == 1:
        return SeriesRule(by='plane', value=series.plane)
    if series.series_number is not None:
        return SeriesRule(by='number', value=str(series.series_number))
    shown = [s.id for s in study.series if s.instances]
    return SeriesRule(by='index', value=str(shown.index(series.id) if series.id in shown else 0))
