"""Audit: search the trail and check that its hash chain is unbroken."""

from nicegui import run, ui

from domain import audit

from ..i18n import t
from ..shell import FAILED, current_actor, nav, perform, screen

PAGE_SIZE = 50


def register() -> None:
    nav('/admin/audit', 'Audit', 'fact_check', order=85)

    @screen('/admin/audit', title='Audit')
    async def audit_page() -> None:
        actor = current_actor()
        state = {'offset': 0}

        @ui.refreshable
        async def results() -> None:
            page = await perform(
                audit.search,
                by=actor,
                username=username.value or '',
                action=action.value or '',
                object_id=object_id.value or '',
                offset=state['offset'],
                limit=PAGE_SIZE,
            )
            if page is FAILED:
                return
            columns = [
                {'name': n, 'label': t(label), 'field': n, 'align': 'left'}
                for n, label in (
                    ('id', '#'),
                    ('at', 'Time (UTC)'),
                    ('username', 'User'),
                    ('role', 'Role'),
                    ('action', 'Action'),
                    ('object', 'Object'),
                    ('outcome', 'Outcome'),
                    ('address', 'Address'),
                )
            ]
            rows = [
                {
                    'id': e.id,
                    'at': e.at.strftime('%Y-%m-%d %H:%M:%S'),
                    'username': e.username,
                    'role': e.role,
                    'action': e.action,
                    'object': f'{e.object_type} {e.object_id}'.strip(),
                    'outcome': e.outcome,
                    'address': e.address,
                }
                for e in page.rows
            ]
            ui.table(columns=columns, rows=rows, row_key='id').props('dense flat').classes('w-full').mark('audit-table')
            with ui.row().classes('items-center'):
                ui.button(icon='chevron_left', on_click=lambda: move(-PAGE_SIZE)).props('flat').set_enabled(
                    state['offset'] > 0
                )
                last = min(state['offset'] + PAGE_SIZE, page.total)
                ui.label(
                    t(
                        '{first}–{last} of {total}',
                        first=state['offset'] + 1 if page.total else 0,
                        last=last,
                        total=page.total,
                    )
                )
                ui.button(icon='chevron_right', on_click=lambda: move(PAGE_SIZE)).props('flat').set_enabled(
                    last < page.total
                )

        async def move(delta: int) -> None:
            state['offset'] = max(0, state['offset'] + delta)
            await results.refresh()

        async def search() -> None:
            state['offset'] = 0
            await results.refresh()

        async def verify() -> None:
            report = await run.io_bound(audit.verify)
            if report.intact:
                verdict.set_text(t('Chain intact: {n} events checked', n=report.checked))
                verdict.classes(replace='text-positive')
            else:
                verdict.set_text(t('Chain broken at event {id}', id=report.first_broken_id))
                verdict.classes(replace='text-negative text-weight-bold')

        with ui.row().classes('items-end gap-2 w-full'):
            username = ui.input(t('User')).props('dense clearable').mark('audit-user')
            action = ui.input(t('Action')).props('dense clearable').mark('audit-action')
            object_id = ui.input(t('Object id')).props('dense clearable')
            ui.button(t('Search'), icon='search', on_click=search).mark('audit-search')
            ui.space()
            ui.button(t('Verify chain'), icon='verified', on_click=verify).props('outline').mark('audit-verify')
        verdict = ui.label('').mark('audit-verdict')
        await results()
