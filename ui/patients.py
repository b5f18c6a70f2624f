"""Reception: one search box (names in any order, IDs, phone, accession) with filters, and registration
with likely duplicates shown while typing."""

from datetime import date
from html import escape
from typing import Any

from nicegui import ui

from domain import access, centre_admin, events, patient_search, patients
from domain.access import Permission
from domain.errors import DomainError, DuplicatePatient, InvalidInput, SessionExpired
from domain.models import Patient, PatientCreate

from . import live
from .i18n import error_text, format_date, t
from .live_lists import Debounce, SharedRead
from .shell import FAILED, current_actor, fetch, item_link, nav, perform, screen

SEX_OPTIONS = {'F': 'female', 'M': 'male', 'O': 'other', 'U': 'unknown'}
MODALITIES = ['', 'CT', 'MR', 'US', 'CR', 'DX', 'MG', 'XA', 'NM', 'PT', 'OT']


def register() -> None:
    nav('/patients', 'Patients', 'person_search', order=10)

    @screen('/patients', title='Patients')
    async def patients_page() -> None:
        await PatientSearch(current_actor()).build()


class PatientSearch:
    """The reception desk's search box with filters, the results page by page, and the way to register."""

    def __init__(self, actor: access.Actor) -> None:
        self.actor, self.offset = actor, 0
        self.asked = 0  # the newest search asked
        self.drawn: tuple | None = None  # what the list shows
        self.refresh_soon = Debounce(lambda: self.results(shared=True))  # a burst of changes: one read

    async def build(self) -> None:
        with ui.row().classes('w-full items-end gap-4'):
            self.search = (
                ui.input(t('Search: name, Patient ID, phone or accession number'), on_change=self.new_search)
                .props('clearable debounce=250 autofocus')
                .classes('min-w-[22rem] grow')
                .mark('patient-search')
            )
            self.date_from = (
                ui.input(t('Studies from'), on_change=self.new_search).props('type=date').mark('study-from')
            )
            self.date_to = ui.input(t('to'), on_change=self.new_search).props('type=date').mark('study-to')
            self.modality = (
                ui.select(MODALITIES, label=t('Modality'), value='', on_change=self.new_search)
                .classes('w-28')
                .mark('modality-filter')
            )
            if access.may(self.actor, Permission.EDIT_PATIENTS):
                ui.button(
                    t('Register a patient'), icon='person_add', on_click=lambda: registration_dialog(self.actor)
                ).mark('register-patient')
        self.area = ui.column().classes('w-full gap-2')
        await self.results()
        live.on(events.PatientChanged).subscribe(self.on_change)

    async def results(self, *, shared: bool = False) -> None:
        """Read the page of results; redraw the list only when it differs from what is shown (newest search wins)."""
        self.asked += 1
        asked = self.asked
        query = (self.search.value or '', self.filters())
        if shared:
            try:
                page = await SHARED_SEARCH.read(*query, by=self.actor, offset=self.offset)
            except DomainError:
                return
        else:
            page = await perform(patient_search.search, *query, by=self.actor, offset=self.offset)
        if page is FAILED or asked != self.asked:
            return
        drawn = _drawn(page)
        if drawn == self.drawn:
            return
        self.drawn = drawn
        self.area.clear()
        with self.area:
            self.draw(page)

    def draw(self, page: patient_search.SearchPage) -> None:
        if page.fuzzy and page.rows:
            ui.label(t('No exact match; the closest names:')).classes('text-caption text-grey-7')
        if not page.rows:
            ui.label(t('No patient found')).classes('text-grey-7').mark('no-patients')
        # The page of results is one element, each row a plain link: it is built on every search and every view of
        # the list, and stays in the server's memory as long as the page is open.
        rows = ''.join(_row_html(row) for row in page.rows)
        ui.html(f'<div class="q-list q-list--bordered q-list--separator">{rows}</div>', sanitize=False).classes(
            'w-full'
        ).mark('patient-rows')
        self.pager(page)

    def filters(self) -> patient_search.SearchFilters:
        return patient_search.SearchFilters(
            study_from=parse_date(self.date_from.value),
            study_to=parse_date(self.date_to.value),
            modality=self.modality.value or '',
        )

    def pager(self, page: patient_search.SearchPage) -> None:
        with ui.row().classes('items-center gap-2'):
            ui.button(icon='chevron_left', on_click=lambda: self.turn(-1)).props('flat dense').set_enabled(
                page.offset > 0
            )
            last = min(page.offset + page.limit, page.total)
            first = page.offset + 1 if page.total else 0
            ui.label(t('{first}-{last} of {total}', first=first, last=last, total=page.total)).mark('patient-count')
            ui.button(icon='chevron_right', on_click=lambda: self.turn(1)).props('flat dense').mark(
                'next-page'
            ).set_enabled(last < page.total)

    async def turn(self, step: int) -> None:
        self.offset = max(0, self.offset + step * patient_search.PAGE_SIZE)
        await self.results()

    async def new_search(self) -> None:
        self.offset = 0
        await self.results()

    async def on_change(self, event: events.PatientChanged) -> None:
        SHARED_SEARCH.changed(event)
        await self.refresh_soon()


SHARED_SEARCH: SharedRead[patient_search.SearchPage] = SharedRead(patient_search.search)


def _drawn(page: patient_search.SearchPage) -> tuple:
    """What a page of results shows, to compare with what is on screen."""
    rows = tuple((r.id, r.name, r.patient_id, r.birth_date, r.sex, r.phone) for r in page.rows)
    return rows, page.total, page.offset, page.fuzzy


def _row_html(row: Patient) -> str:
    """A result: name, Patient ID, birth date and sex, phone; a link to the patient's page (as a Quasar item looks)."""
    sex = t(SEX_OPTIONS.get(row.sex, ''))
    birth = format_date(row.birth_date) if row.birth_date else ''
    return item_link(
        f'/patients/{row.id}',
        '<div class="q-item__section column q-item__section--main justify-center">'
        f'<div class="q-item__label text-weight-medium">{escape(row.name)}</div>'
        f'<div class="q-item__label q-item__label--caption text-caption">'
        f'{escape(row.patient_id)} · {escape(birth)} · {escape(sex)}</div></div>'
        '<div class="q-item__section column q-item__section--side justify-center">'
        f'<div class="q-item__label q-item__label--caption text-caption">{escape(row.phone)}</div></div>',
    )


async def registration_dialog(actor: access.Actor) -> None:
    """The registration form in a dialog; likely duplicates appear beside it while typing."""
    await RegistrationDialog(actor).open()


class RegistrationDialog:
    """A new patient's form, the likely duplicates beside it, and Register / Register anyway."""

    def __init__(self, actor: access.Actor) -> None:
        self.actor, self.form = actor, PatientCreate(sex='U')

    async def open(self) -> None:
        found = await perform(centre_admin.list_all, by=self.actor, active_only=True)
        choices = {c.id or 0: c.name for c in found} if found is not FAILED else {}
        with ui.dialog() as self.dialog, ui.card().classes('w-[52rem] max-w-full'):
            ui.label(t('Register a patient')).classes('text-h6')
            with ui.row().classes('w-full no-wrap gap-6'):
                with ui.column().classes('grow'):
                    self.inputs = patient_inputs(self.form, on_change=self.twins.refresh)
                    if len(choices) > 1:  # the reading group registers for one of several centres (issue 18)
                        self.inputs['centre'] = (
                            ui.select(choices, label=t('Centre'))
                            .bind_value(self.form, 'centre_id')
                            .classes('w-64')
                            .mark('centre')
                        )
                with ui.column().classes('w-72'):
                    await self.twins()
            with ui.row():
                ui.button(t('Register'), on_click=lambda: self.submit(False)).mark('register-save')
                self.confirm = (
                    ui.button(t('This is a new patient: register anyway'), on_click=lambda: self.submit(True))
                    .props('outline color=warning')
                    .mark('register-anyway')
                )
                self.confirm.set_visibility(False)
                ui.button(t('Cancel'), on_click=self.dialog.close).props('flat')
        self.dialog.open()

    @ui.refreshable_method
    async def twins(self) -> None:
        if len(self.form.family_name.strip()) < 2 and len(self.form.phone.strip()) < 6:
            return
        found = await perform(patient_search.duplicates, self.form, by=self.actor)
        if found is FAILED or not found:
            return
        ui.label(t('Already registered?')).classes('text-subtitle2 text-warning')
        for twin in found:
            with ui.row().classes('items-center gap-2').mark('duplicate'):
                ui.icon('warning', color='warning')
                birth = format_date(twin.birth_date) if twin.birth_date else ''
                ui.label(f'{twin.name} · {twin.patient_id} · {birth} · {twin.phone}')
                ui.label(', '.join(t(r) for r in twin.reasons)).classes('text-caption text-grey-7')
                ui.button(t('Open'), on_click=lambda d=twin: ui.navigate.to(f'/patients/{d.id}')).props(
                    'flat dense'
                ).mark('open-duplicate')

    async def submit(self, confirmed: bool) -> None:
        created = await submit_form(
            lambda: patients.register(self.form, by=self.actor, confirmed_new=confirmed), self.inputs
        )
        if created is FAILED:
            self.confirm.set_visibility(True)
            await self.twins.refresh()
            return
        ui.notify(t('Registered {name} as {pid}', name=created.name, pid=created.patient_id), type='positive')
        self.dialog.close()
        ui.navigate.to(f'/patients/{created.id}')


def patient_inputs(form: PatientCreate, on_change: Any = None) -> dict[str, Any]:
    """The inputs of a patient form bound to `form`; returns them by field name (to show errors beside them)."""
    inputs: dict[str, Any] = {}
    with ui.grid(columns=2).classes('w-full gap-x-4 gap-y-1'):
        for name, label in (
            ('family_name', 'Family name'),
            ('given_name', 'Given name'),
            ('middle_name', 'Middle name'),
        ):
            inputs[name] = (
                ui.input(t(label), on_change=on_change)
                .bind_value(form, name)
                .props('debounce=300')
                .mark(name.replace('_', '-'))
            )
        inputs['birth_date'] = (
            ui.input(t('Birth date'), on_change=on_change, placeholder='YYYY-MM-DD')
            .bind_value(form, 'birth_date')
            .props('type=date')
            .mark('birth-date')
        )
        inputs['sex'] = (
            ui.select({k: t(v) for k, v in SEX_OPTIONS.items()}, label=t('Sex')).bind_value(form, 'sex').mark('sex')
        )
        inputs['phone'] = (
            ui.input(t('Phone'), on_change=on_change).bind_value(form, 'phone').props('debounce=300').mark('phone')
        )
        inputs['email'] = ui.input(t('Email')).bind_value(form, 'email').mark('email')
        inputs['national_id'] = (
            ui.input(t('National ID (optional)')).bind_value(form, 'national_id').mark('national-id')
        )
    inputs['address'] = ui.input(t('Address')).bind_value(form, 'address').classes('w-full').mark('address')
    inputs['notes'] = ui.textarea(t('Notes')).bind_value(form, 'notes').classes('w-full').props('rows=2')
    return inputs


async def submit_form(call: Any, inputs: dict[str, Any]) -> Any:
    """Run a save; a refusal shows beside each field it names (and as a notice); returns FAILED if refused."""
    for element in inputs.values():
        element.props(remove='error error-message')
    try:
        return await fetch(call)
    except SessionExpired:
        ui.navigate.to('/login')
        return FAILED
    except InvalidInput as error:
        for name, message in error.fields.items():
            if name in inputs:
                inputs[name].props(f'error error-message="{t(message)}"')
        ui.notify(error_text(error), type='warning')
        return FAILED
    except DuplicatePatient as error:
        ui.notify(error_text(error), type='warning')
        if isinstance(error, patients.NationalIdTaken) and error.field in inputs:
            inputs[error.field].props(f'error error-message="{error_text(error)}"')
        return FAILED
    except DomainError as error:
        ui.notify(error_text(error), type='warning')
        return FAILED


def parse_date(value: str | None) -> date | None:
    """The date typed into a date input, or None while it is empty or incomplete."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
