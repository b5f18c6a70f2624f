"""Who saw this record: on a patient's page, for administrators, who opened, viewed or exported the patient's record,
studies and reports. Collapsed, it costs the page one element; the list is read when it is opened."""

from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from domain import access, audit
from domain.access import Actor, Permission
from domain.errors import N_

from .i18n import format_datetime, t
from .shell import FAILED, perform

# how the list names each kind of access (domain.audit_vocabulary.ACCESS_ACTIONS)
ACCESSES = {
    'patient.view': N_('Opened the record'),
    'study.view': N_('Viewed a study'),
    'report.view': N_('Read a report'),
    'report.download': N_('Downloaded a report PDF'),
    'study.export': N_('Exported a study'),
}
COLUMNS = (('at', N_('Time')), ('username', N_('User')), ('role', N_('Role')), ('access', N_('Access')))


def patient_access_log(patient_id: int, actor: Actor) -> None:
    """The "Who saw this record" expansion, for those who may read the audit trail (nothing for anyone else)."""
    if access.may(actor, Permission.VIEW_AUDIT):
        PatientAccessLog(patient_id, actor).build()


class PatientAccessLog:
    """A collapsed expansion that reads the list each time it is opened."""

    def __init__(self, patient_id: int, actor: Actor) -> None:
        self.patient_id, self.actor = patient_id, actor

    def build(self) -> None:
        self.expansion = ui.expansion(t('Who saw this record'), icon='visibility', on_value_change=self.toggled)
        self.expansion.classes('w-full').mark('patient-access-log')

    async def toggled(self) -> None:
        if self.expansion.value:
            await self.load()

    async def load(self) -> None:
        found = await perform(audit.patient_accesses, self.patient_id, by=self.actor)
        self.expansion.clear()
        if found is FAILED:
            return
        with self.expansion:
            if found.events:
                columns = [{'name': n, 'label': t(label), 'field': n, 'align': 'left'} for n, label in COLUMNS]
                rows = [_row(event) for event in found.events]
                ui.table(columns=columns, rows=rows, row_key='id').props('dense flat').classes('w-full').mark(
                    'patient-access-table'
                )
            else:
                ui.label(t('Nobody has opened this record yet')).classes('text-grey-7').mark('patient-access-none')
            ui.link(
                t('Every audit event about this record'), f'/admin/audit?{urlencode({"patient": found.patient_id})}'
            )


def _row(event: Any) -> dict[str, Any]:
    shown = ACCESSES.get(event.action)
    return {
        'id': event.id,
        'at': format_datetime(event.at, 'medium'),
        'username': event.username,
        'role': t(event.role) if event.role else '',
        'access': f'{t(shown)} ({event.object_type} {event.object_id})' if shown else event.action,
    }
