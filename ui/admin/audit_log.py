"""Audit: ask the trail a question (days, user, patient, action, result), see what changed, export it as CSV, and
check that its hash chain is unbroken."""

from typing import Any

from nicegui import ui

from domain import audit, audit_changes, audit_vocabulary
from domain.access import Actor
from domain.audit_changes import Change
from domain.audit_filters import AuditFilter
from domain.errors import N_

from ..i18n import format_datetime, t
from ..shell import FAILED, current_actor, nav, perform, screen
from . import audit_export
from .audit_filters import AuditFilterForm

PAGE_SIZE = 50
COLUMNS = (
    ('id', '#'),
    ('at', N_('Time')),  # the clinic's time zone
    ('username', N_('User')),
    ('role', N_('Role')),
    ('action', N_('Action')),
    ('object', N_('Object')),
    ('outcome', N_('Outcome')),
    ('changes', N_('Changes')),  # old → new
    ('address', N_('Address')),
)
# what an event's role and outcome columns may hold besides the staff roles (ui/i18n/known.py ROLES)
WORDS = (N_('system'), N_('modality'), N_('success'), N_('failure'), N_('denied'), N_('refused'), N_('locked'))
YES_NO = (N_('yes'), N_('no'))


def register() -> None:
    nav('/admin/audit', 'Audit', 'fact_check', order=85)
    audit_export.register()

    @screen('/admin/audit', title='Audit')
    async def audit_page(patient: str = '') -> None:
        await AuditPage(current_actor(), AuditFilter(patient=patient.strip()[:64])).build()


class AuditPage:
    """The question, a page of matching events with paging, the CSV export of all of them, and the chain check."""

    def __init__(self, actor: Actor, asked: AuditFilter) -> None:
        self.actor = actor
        self.offset = 0
        self.applied = asked  # what the list shows (and Export CSV writes): the last search that ran
        self.answered = False  # the last search ran (a Patient ID not on file does not)

    async def build(self) -> None:
        self.form = AuditFilterForm(self.search, audit_vocabulary.known_actions())
        self.form.patient.value = self.applied.patient  # a link from a patient's page asks about that record
        with ui.row().classes('items-center gap-2 w-full'):
            ui.button(t('Export CSV'), icon='download', on_click=self.export).props(
                'outline data-testid=audit-export'
            ).mark('audit-export')
            ui.space()
            ui.button(t('Verify chain'), icon='verified', on_click=self.verify).props('outline').mark('audit-verify')
        self.verdict = ui.label('').mark('audit-verdict')
        await self.results()

    @ui.refreshable_method
    async def results(self) -> None:
        page = await perform(audit.search, by=self.actor, filters=self.applied, offset=self.offset, limit=PAGE_SIZE)
        self.answered = page is not FAILED
        if page is FAILED:
            return
        columns = [{'name': n, 'label': t(label), 'field': n, 'align': 'left'} for n, label in COLUMNS]
        rows = [_row(event) for event in page.rows]
        ui.table(columns=columns, rows=rows, row_key='id').props('dense flat wrap-cells').classes('w-full').mark(
            'audit-table'
        )
        self.pager(page.total)

    def pager(self, total: int) -> None:
        with ui.row().classes('items-center'):
            ui.button(icon='chevron_left', on_click=lambda: self.move(-PAGE_SIZE)).props('flat').set_enabled(
                self.offset > 0
            )
            last = min(self.offset + PAGE_SIZE, total)
            first = self.offset + 1 if total else 0
            ui.label(t('{first}–{last} of {total}', first=first, last=last, total=total)).mark('audit-count')
            ui.button(icon='chevron_right', on_click=lambda: self.move(PAGE_SIZE)).props('flat').set_enabled(
                last < total
            )

    async def move(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        await self.results.refresh()

    async def search(self) -> None:
        asked = self.form.asked()
        if asked is None:
            return
        self.applied, self.offset = asked, 0
        await self.results.refresh()

    async def export(self) -> None:
        """The events the inputs ask for (all pages, newest first), as the route writes them; the list shows them."""
        asked = self.form.asked()
        if asked is None:
            return
        if asked != self.applied:
            self.applied, self.offset = asked, 0
            await self.results.refresh()
        if self.answered:  # else the list's notice says why (a Patient ID not on file)
            ui.download.from_url(audit_export.url(self.applied))

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
        'changes': '; '.join(_change(c) for c in audit_changes.changes_of(event.action, event.object_id, event.detail)),
        'address': event.address,
    }


def _change(change: Change) -> str:
    return f'{change.field}: {_value(change.old)} → {_value(change.new)}'


def _value(value: object) -> str:
    if value is None or value == '':
        return '—'
    if isinstance(value, bool):
        return t('yes') if value else t('no')
    return str(value)
