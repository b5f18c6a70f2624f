"""Audit: search the trail and check that its hash chain is unbroken."""

from typing import Any

from nicegui import ui

from domain import audit
from domain.access import Actor
from domain.errors import N_

from ..i18n import format_datetime, t
from ..shell import FAILED, current_actor, nav, perform, screen

PAGE_SIZE = 50
COLUMNS = (
    ('id', '#'),
    ('at', N_('Time')),  # the clinic's time zone
    ('username', N_('User')),
    ('role', N_('Role')),
    ('action', N_('Action')),
    ('object', N_('Object')),
    ('outcome', N_('Outcome')),
    ('address', N_('Address')),
)
# what an event's role and outcome columns may hold besides the staff roles (ui/i18n/known.py ROLES)
WORDS = (N_('system'), N_('modality'), N_('success'), N_('failure'), N_('denied'), N_('refused'), N_('locked'))


def register() -> None:
    nav('/admin/audit', 'Audit', 'fact_check', order=85)

    @screen('/admin/audit', title='Audit')
    async def audit_page() -> None:
        await AuditPage(current_actor()).build()


class AuditPage:
    """The search form, a page of audit events with paging, and the chain check."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.offset = 0

    async def build(self) -> None:
        with ui.row().classes('items-end gap-2 w-full'):
            self.username = ui.input(t('User')).props('dense clearable').mark('audit-user')
            self.action = ui.input(t('Action')).props('dense clearable').mark('audit-action')
            self.object_id = ui.input(t('Object id')).props('dense clearable')
            ui.button(t('Search'), icon='search', on_click=self.search).mark('audit-search')
            ui.space()
            ui.button(t('Verify chain'), icon='verified', on_click=self.verify).props('outline').mark('audit-verify')
        self.verdict = ui.label('').mark('audit-verdict')
        await self.results()

    @ui.refreshable_method
    async def results(self) -> None:
        page = await perform(
            audit.search,
            by=self.actor,
            username=self.username.value or '',
            action=self.action.value or '',
            object_id=self.object_id.value or '',
            offset=self.offset,
            limit=PAGE_SIZE,
        )
        if page is FAILED:
            return
        columns = [{'name': n, 'label': t(label), 'field': n, 'align': 'left'} for n, label in COLUMNS]
        rows = [_row(event) for event in page.rows]
        ui.table(columns=columns, rows=rows, row_key='id').props('dense flat').classes('w-full').mark('audit-table')
        self.pager(page.total)

    def pager(self, total: int) -> None:
        with ui.row().classes('items-center'):
            ui.button(icon='chevron_left', on_click=lambda: self.move(-PAGE_SIZE)).props('flat').set_enabled(
                self.offset > 0
            )
            last = min(self.offset + PAGE_SIZE, total)
            first = self.offset + 1 if total else 0
            ui.label(t('{first}–{last} of {total}', first=first, last=last, total=total))
            ui.button(icon='chevron_right', on_click=lambda: self.move(PAGE_SIZE)).props('flat').set_enabled(
                last < total
            )

    async def move(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        await self.results.refresh()

    async def search(self) -> None:
        self.offset = 0
        await self.results.refresh()

    async def verify(self) -> None:
        report = await perform(audit.verify, by=self.actor)
        if report is FAILED:
            return
        if report.intact:
            self.verdict.set_text(t('Chain intact: {n} events checked', n=report.checked))
            self.verdict.classes(replace='text-positive')
        else:
            problem = report.problem  # a broken link, a missing or altered checkpoint, a truncated trail
            self.verdict.set_text(t(problem.msgid, **problem.params) if problem else t('The audit trail is not intact'))
            self.verdict.classes(replace='text-negative text-weight-bold')


def _row(event: Any) -> dict[str, Any]:
    return {
        'id': event.id,
        'at': format_datetime(event.at, 'medium'),
        'username': event.username,
        'role': t(event.role) if event.role else '',
        'action': event.action,  # the code the Action search matches
        'object': f'{event.object_type} {event.object_id}'.strip(),
        'outcome': t(event.outcome) if event.outcome else '',
        'address': event.address,
    }
