"""One modality, set up on one page: the settings to type into the scanner, an echo from ClinicPACS to it, the
worklist it would receive for today, and its last associations with the listener."""

from nicegui import ui

from dicom import echo
from domain import associations, modalities, modality_checks
from domain.access import Actor
from domain.errors import N_, DomainError
from domain.modality_checks import BY_MODALITY, BY_STATION, EchoResult, ScannerSettings, WorklistTest
from domain.models import DicomAssociation, Modality, display_person_name

from ..i18n import format_datetime, t, tn
from ..shell import FAILED, current_actor, fetch, perform, screen
from .modalities import edit_dialog

SHOWN_ASSOCIATIONS = 20
WATCH_S = 5.0  # how often an open page looks for a new association (the admin watching a scanner's first push)
# Why an association was refused or how it ended (domain.modalities, domain.associations): shown translated.
REASONS = (
    N_('unknown AE title'),
    N_('not from the entered host'),
    N_('TLS required'),
    N_('the peer could not be checked'),
    N_('aborted'),
)
RESULTS = {associations.ACCEPTED: N_('accepted'), associations.REJECTED: N_('refused')}
WORKLIST_COLUMNS = (
    ('time', N_('Time')),
    ('patient', N_('Patient')),
    ('patient_id', N_('Patient ID')),
    ('accession', N_('Accession')),
    ('procedure', N_('Procedure')),
    ('modality', N_('Modality')),
    ('station', N_('Station AE title')),
    ('status', N_('State')),
)
ASSOCIATION_COLUMNS = (
    ('at', N_('Time')),
    ('result', N_('Outcome')),
    ('reason', N_('Reason')),
    ('address', N_('Address')),
    ('images', N_('Images')),
    ('failed', N_('Images refused')),
    ('queries', N_('Queries')),
    ('echoes', N_('Echoes')),
)


def register() -> None:
    @screen('/admin/modalities/{modality_id}', title='Modality')
    async def modality_page(modality_id: int) -> None:
        await ModalityPage(modality_id, current_actor()).build()


class ModalityPage:
    """Heading, settings to copy, echo, test worklist and last associations of one modality."""

    def __init__(self, modality_id: int, actor: Actor) -> None:
        self.modality_id, self.actor = modality_id, actor
        self.asks_by = BY_MODALITY
        self.tested: WorklistTest | None = None
        self.newest_association: int | None = None

    async def build(self) -> None:
        modality = await perform(modalities.get, self.modality_id, by=self.actor)
        if modality is FAILED:
            ui.link(t('Back to the modalities'), '/admin/modalities').mark('back-to-modalities')
            return
        self.modality: Modality = modality
        request = ui.context.client.request
        browser_host = (request.url.hostname or '') if request is not None else ''
        copied = await perform(
            modality_checks.settings_to_copy, self.modality_id, by=self.actor, browser_host=browser_host
        )
        if copied is FAILED:
            return
        self.heading()
        with ui.row().classes('w-full gap-4 items-stretch'):
            self.settings_card(copied)
            self.echo_card(copied)
        self.worklist_card()
        with ui.card().classes('w-full'):
            await self.association_list()
        ui.timer(WATCH_S, self.watch_associations)

    def heading(self) -> None:
        modality = self.modality
        with ui.row().classes('items-center gap-2 w-full'):
            ui.link(t('Modalities'), '/admin/modalities')
            ui.icon('chevron_right', color='grey')
            ui.label(modality.ae_title).classes('text-h6 font-mono').mark('modality-ae-title')
            ui.label(' · '.join(filter(None, (modality.modality, modality.room, modality.description))))
            if not modality.active:
                ui.badge(t('disabled'), color='grey').mark('modality-disabled')
            ui.space()
            ui.button(t('Edit'), icon='edit', on_click=self.edit).props('outline').mark('edit-modality')

    def settings_card(self, copied: ScannerSettings) -> None:
        with ui.card().classes('min-w-[22rem] flex-1'):
            ui.label(t('Settings to enter on the scanner')).classes('text-subtitle1')
            ui.label(
                t('The same AE title and port take images, worklist queries, MPPS and storage commitment')
            ).classes('text-caption text-grey-7')
            rows = [
                (t('AE title of ClinicPACS (called AE title)'), copied.ae_title, 'ae-title'),
                (t('Host'), copied.host, 'host'),
                (t('DICOM port'), str(copied.port), 'port'),
            ]
            if copied.tls_port is not None:
                rows.append((t('DICOM TLS port'), str(copied.tls_port), 'tls-port'))
            rows.append((t('AE title of the scanner (calling AE title)'), copied.scanner_ae_title, 'scanner-ae-title'))
            with ui.grid(columns='auto 1fr').classes('items-center gap-x-4 gap-y-1'):
                for label, value, key in rows:
                    ui.label(label).classes('text-grey-8')
                    ui.label(value).classes('font-mono select-all').mark(f'copy-{key}')
            if copied.tls_required:
                ui.label(t('This modality is accepted only over the DICOM TLS port')).classes('text-warning')

    def echo_card(self, copied: ScannerSettings) -> None:
        modality = self.modality
        with ui.card().classes('min-w-[22rem] flex-1'):
            ui.label(t('Echo')).classes('text-subtitle1')
            ui.label(
                t(
                    'A C-ECHO from {ours} to {ae_title} at {host} port {port}',
                    ours=copied.ae_title,
                    ae_title=modality.ae_title,
                    host=modality.host or '—',
                    port=modality.port,
                )
            ).classes('text-caption text-grey-7')
            self.echo_button = ui.button(t('Echo'), icon='sensors', on_click=self.run_echo).mark('echo')
            self.echo_outcome = ui.row().classes('items-center gap-2 no-wrap')

    async def run_echo(self) -> None:
        self.echo_button.props('loading')
        try:
            result = await perform(modality_checks.echo, self.modality_id, by=self.actor, verify=echo.verify)
        finally:
            self.echo_button.props(remove='loading')
        if result is not FAILED:
            self.show_echo(result)

    def show_echo(self, result: EchoResult) -> None:
        self.echo_outcome.clear()
        with self.echo_outcome:
            ui.icon('check_circle' if result.ok else 'error', color='positive' if result.ok else 'negative')
            ui.label(t(result.message)).classes('text-positive' if result.ok else 'text-negative').mark(
                'echo-ok' if result.ok else 'echo-failed'
            )

    def worklist_card(self) -> None:
        modality = self.modality
        with ui.card().classes('w-full'):
            ui.label(t('Test worklist')).classes('text-subtitle1')
            ui.label(t("Today's scheduled steps exactly as the worklist answers this scanner")).classes(
                'text-caption text-grey-7'
            )
            with ui.row().classes('items-center gap-4'):
                choices = {
                    BY_MODALITY: t('The scanner asks for its modality ({code})', code=modality.modality),
                    BY_STATION: t('The scanner asks for its AE title ({ae_title})', ae_title=modality.ae_title),
                }
                ui.radio(choices, value=self.asks_by).props('inline').bind_value(self, 'asks_by').mark('asks-by')
                ui.button(t('Test worklist'), icon='playlist_play', on_click=self.run_worklist).mark('test-worklist')
            self.worklist()

    async def run_worklist(self) -> None:
        tested = await perform(modality_checks.try_worklist, self.modality_id, by=self.actor, asks_by=self.asks_by)
        if tested is not FAILED:
            self.tested = tested
            self.worklist.refresh()

    @ui.refreshable_method
    def worklist(self) -> None:
        tested = self.tested
        if tested is None:
            return
        if not tested.active:
            ui.label(
                t('This modality is disabled: the listener refuses its associations, so it receives nothing')
            ).classes('text-warning').mark('worklist-disabled')
        count = len(tested.items)
        ui.label(tn('{count} scheduled step for today', '{count} scheduled steps for today', count)).mark(
            'worklist-count'
        )
        if not count:
            return
        columns = [{'name': key, 'label': t(label), 'field': key, 'align': 'left'} for key, label in WORKLIST_COLUMNS]
        rows = [
            {
                'id': item.step_id,
                'time': f'{item.start_time[:2]}:{item.start_time[2:4]}',
                'patient': display_person_name(item.patient_name),
                'patient_id': item.patient_id,
                'accession': item.accession_number,
                'procedure': item.requested_procedure_description,
                'modality': item.modality,
                'station': item.station_ae,
                'status': item.step_status,
            }
            for item in tested.items
        ]
        ui.table(columns=columns, rows=rows, row_key='id').props('dense flat').classes('w-full').mark('worklist-table')

    @ui.refreshable_method
    async def association_list(self) -> None:
        with ui.row().classes('items-center w-full'):
            ui.label(t('Last associations')).classes('text-subtitle1')
            ui.space()
            ui.button(icon='refresh', on_click=self.association_list.refresh).props('flat dense').tooltip(
                t('Refresh')
            ).mark('refresh-associations')
        recent = await perform(associations.recent, self.modality.ae_title, by=self.actor, limit=SHOWN_ASSOCIATIONS)
        if recent is FAILED:
            return
        self.newest_association = recent[0].id if recent else None
        if not recent:
            ui.label(t('{ae_title} has not called ClinicPACS yet', ae_title=self.modality.ae_title)).classes(
                'text-grey-7'
            ).mark('no-associations')
            return
        columns = [
            {'name': key, 'label': t(label), 'field': key, 'align': 'left'} for key, label in ASSOCIATION_COLUMNS
        ]
        rows = [_association_row(row) for row in recent]
        ui.table(columns=columns, rows=rows, row_key='id').props('dense flat').classes('w-full').mark(
            'associations-table'
        )

    async def watch_associations(self) -> None:
        """Redraw the last associations once a new one is logged; a refusal here is shown by the next action."""
        try:
            newest = await fetch(associations.recent, self.modality.ae_title, by=self.actor, limit=1)
        except DomainError:
            return
        if (newest[0].id if newest else None) != self.newest_association:
            self.association_list.refresh()

    def edit(self) -> None:
        async def saved(_modality: Modality) -> None:
            ui.navigate.reload()  # the settings and the echo follow the change

        edit_dialog(self.actor, self.modality, saved)


def _association_row(row: DicomAssociation) -> dict[str, object]:
    return {
        'id': row.id,
        'at': format_datetime(row.at, 'medium'),
        'result': t(RESULTS.get(row.result, row.result)),
        'reason': t(row.reason) if row.reason else '',
        'address': row.address + (' (TLS)' if row.tls else ''),
        'images': row.images,
        'failed': row.failed,
        'queries': row.queries,
        'echoes': row.echoes,
    }
