"""Who writes a draft, on the report page: the colleague's banner with Take over, an admin's Reassign, the handovers.

A colleague sees someone else's draft read-only with a banner naming its author; a radiologist may take it
over (after a confirmation), an administrator may give it to another radiologist. Both are audited by the
domain and tell the author's open editor, which turns read-only with `taken_over_banner`.
"""

from nicegui import ui

from domain import access, reading, report_ownership, reporting
from domain.access import Actor, Permission
from domain.models import ReportDraft
from domain.report_ownership import Handover
from domain.reporting import ReportView

from .i18n import format_datetime, t
from .shell import FAILED, perform


class OwnershipPanel:
    """Above a draft: past handovers, and for anyone but its author whose draft it is and what they may do."""

    def __init__(self, shown: ReportView, actor: Actor) -> None:
        self.shown, self.actor = shown, actor
        self.report_id = shown.report.id or 0
        self.author = shown.name(shown.report.author_id)

    async def build(self) -> None:
        with ui.column().classes('w-full gap-1'):
            handovers(self.shown)
            if self.shown.report.author_id != self.actor.user_id:
                self.banner()
            if access.may(self.actor, Permission.ASSIGN_STUDIES):
                await self.reassign_control()

    def banner(self) -> None:
        with ui.card().classes('w-full bg-orange-1').mark('ownership-banner'), ui.row().classes('items-center gap-4'):
            ui.icon('lock', color='orange-9')
            ui.label(t('This draft is being written by {name}. You can read it here.', name=self.author)).classes(
                'text-weight-medium'
            )
            if access.may(self.actor, Permission.FINALISE_REPORTS):
                ui.space()
                ui.button(t('Take over'), icon='edit', on_click=self.confirm_take_over).props('outline').mark(
                    'take-over'
                )

    def confirm_take_over(self) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-[32rem]'):
            ui.label(
                t('Take over this draft from {name}? They will be told, and can no longer change it.', name=self.author)
            )

            async def take_over() -> None:
                if await perform(report_ownership.take_over, self.report_id, by=self.actor) is not FAILED:
                    dialog.close()
                    ui.notify(t('You are now writing this report'), type='positive')
                    ui.navigate.reload()

            with ui.row():
                ui.button(t('Take over'), on_click=take_over).mark('confirm-take-over')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()

    async def reassign_control(self) -> None:
        doctors = await perform(reading.radiologists, by=self.actor)
        if doctors is FAILED or doctors is None:
            return
        choice = {'user_id': None}

        async def reassign() -> None:
            if choice['user_id'] is None:
                ui.notify(t('Choose a radiologist first'), type='warning')
                return
            moved = await perform(report_ownership.reassign, self.report_id, choice['user_id'], by=self.actor)
            if moved is not FAILED:
                ui.notify(t('Draft reassigned'), type='positive')
                ui.navigate.reload()

        others = {user_id: name for user_id, name in doctors if user_id != self.shown.report.author_id}
        with ui.row().classes('items-center gap-2'):
            ui.select(others, label=t('Reassign to')).bind_value(choice, 'user_id').props('dense').classes('w-64').mark(
                'reassign-to'
            )
            ui.button(t('Reassign'), icon='swap_horiz', on_click=reassign).props('flat dense').mark('reassign')


def handovers(shown: ReportView) -> None:
    """One line per take-over or reassignment of this report, oldest first."""
    for handover in shown.handovers:
        ui.label(_handover_text(shown, handover)).classes('text-caption text-grey-8').mark('handover')


def taken_over_banner(name: str) -> None:
    """What the author's editor shows once a colleague took the draft: it is read-only, the unsaved text stays."""
    with ui.card().classes('w-full bg-orange-1').mark('taken-over'), ui.row().classes('items-center gap-4'):
        ui.icon('lock', color='orange-9')
        ui.label(
            t('This draft was taken over by {name}. It is read-only here; copy anything you still need.', name=name)
        ).classes('text-weight-medium')


def save_unless_taken(report_id: int, draft: ReportDraft, by: Actor) -> ReportView | None:
    """Save the draft (off the event loop); None when it is no longer the writer's (taken over or reassigned)."""
    try:
        return reporting.save_draft(report_id, draft, by=by)
    except report_ownership.NotTheAuthor:
        return None


def _handover_text(shown: ReportView, handover: Handover) -> str:
    when = format_datetime(handover.at, 'medium')
    previous, current = shown.name(handover.from_id), shown.name(handover.to_id)
    if handover.action == report_ownership.TAKE_OVER:
        return t('{time}: taken over from {previous} by {name}', time=when, previous=previous, name=current)
    return t(
        '{time}: reassigned from {previous} to {name} by {admin}',
        time=when,
        previous=previous,
        name=current,
        admin=shown.name(handover.by_id),
    )
