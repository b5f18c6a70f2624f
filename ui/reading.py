"""The radiologists' reading worklist: ready studies, urgent first then oldest, with the turnaround turning
amber and red past the admin's thresholds; claim, assign, mark urgent, open in the viewer or report."""

from nicegui import ui

from domain import access, events, reading
from domain.access import Permission

from . import live
from .i18n import t
from .shell import FAILED, current_actor, nav, perform, screen

LEVEL_COLOURS = {'': 'text-grey-8', 'amber': 'text-amber-9 text-weight-bold', 'red': 'text-negative text-weight-bold'}
MODALITIES = ['', 'CT', 'MR', 'US', 'CR', 'DX', 'MG', 'XA', 'NM', 'PT', 'OT']


def register() -> None:
    nav('/reading', 'Reading worklist', 'assignment', order=30)

    @screen('/reading', title='Reading worklist')
    async def reading_page() -> None:
        actor = current_actor()
        may_claim = access.may(actor, Permission.CLAIM_STUDIES)
        may_assign = access.may(actor, Permission.ASSIGN_STUDIES)
        doctors = await perform(reading.radiologists, by=actor) if may_assign else []
        doctors = {} if doctors is FAILED else dict(doctors)

        @ui.refreshable
        async def rows() -> None:
            from .patients import _date

            found = await perform(
                reading.worklist, by=actor, modality=modality.value or '', on=_date(on.value), who=who.value or ''
            )
            if found is FAILED:
                return
            if not found:
                ui.label(t('Nothing waits to be read')).classes('text-grey-7').mark('nothing-to-read')
                return
            with ui.grid(columns='2rem 1.6fr 5rem 1.4fr 6rem 7rem 1.2fr auto').classes(
                'w-full items-center gap-x-3 gap-y-1'
            ):
                for heading in ('', 'Patient', 'Modality', 'Study', 'Arrived', 'Waiting', 'Reader', ''):
                    ui.label(t(heading)).classes('text-caption text-grey-7')
                for row in found:
                    ui.icon(
                        'priority_high' if row.urgent else 'remove', color='negative' if row.urgent else 'grey-4'
                    ).mark(f'urgent-{row.study_id}')
                    with ui.column().classes('gap-0').mark('reading-row'):
                        ui.label(row.patient_name).classes('text-weight-medium')
                        ui.label(f'{row.patient_id} · {row.accession_number}').classes('text-caption')
                    ui.label(row.modalities)
                    ui.label(row.description or '—')
                    ui.label(row.arrived_at.astimezone().strftime('%d.%m %H:%M'))
                    ui.label(_waited(row.waited_minutes)).classes(LEVEL_COLOURS[row.level]).mark(
                        f'waited-{row.level or "ok"}'
                    )
                    if may_assign:
                        ui.select(
                            doctors, value=row.assigned_to_id, on_change=lambda e, r=row: assign(r.study_id, e.value)
                        ).props('dense clearable').classes('w-40').mark(f'assign-{row.study_id}')
                    else:
                        ui.label(row.assigned_to or t('unassigned'))
                    with ui.row().classes('gap-1 no-wrap'):
                        if may_claim and row.assigned_to_id is None:
                            ui.button(t('Claim'), on_click=lambda r=row: claim(r.study_id)).props('dense no-caps').mark(
                                f'claim-{row.study_id}'
                            )
                        ui.button(
                            icon='visibility', on_click=lambda r=row: ui.navigate.to(f'/viewer/{r.study_id}')
                        ).props('flat dense').tooltip(t('Open in viewer'))
                        ui.button(
                            icon='edit_note', on_click=lambda r=row: ui.navigate.to(f'/studies/{r.study_id}/report')
                        ).props('flat dense').tooltip(t('Report'))
                        ui.button(icon='flag', on_click=lambda r=row: urgent(r.study_id, not r.urgent)).props(
                            'flat dense'
                        ).tooltip(t('Urgent')).mark(f'flag-{row.study_id}')

        async def claim(study_id: int) -> None:
            await perform(reading.claim, study_id, by=actor, success=t('Claimed'))
            await rows.refresh()

        async def assign(study_id: int, user_id: int | None) -> None:
            if user_id is None:
                await perform(reading.release, study_id, by=actor)
            else:
                await perform(reading.assign, study_id, user_id, by=actor, success=t('Assigned'))
            await rows.refresh()

        async def urgent(study_id: int, value: bool) -> None:
            await perform(reading.set_urgent, study_id, value, by=actor)
            await rows.refresh()

        with ui.row().classes('items-end gap-4'):
            modality = (
                ui.select(MODALITIES, label=t('Modality'), value='', on_change=rows.refresh)
                .classes('w-28')
                .mark('reading-modality')
            )
            on = ui.input(t('Study date'), on_change=rows.refresh).props('type=date clearable').mark('reading-date')
            who = ui.toggle(
                {'': t('All'), reading.MINE: t('Mine'), reading.UNASSIGNED: t('Unassigned')},
                value='',
                on_change=rows.refresh,
            ).mark('reading-who')
        with ui.card().classes('w-full'):
            await rows()
        for kind in (events.StudyReady, events.StudyUpdated, events.ReportFinalised, events.ReportChanged):
            live.on(kind).subscribe(rows.refresh)
        ui.timer(60.0, rows.refresh)


def _waited(minutes: int) -> str:
    if minutes < 60:
        return t('{n} min', n=minutes)
    if minutes < 48 * 60:
        return t('{h} h {m} min', h=minutes // 60, m=minutes % 60)
    return t('{d} days', d=minutes // (24 * 60))
