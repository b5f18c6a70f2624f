"""Modalities: the scanners that may send images (AE title, host, port), from where and whether over TLS only, when
each last called, and "accept any modality". A modality's AE title opens its page (ui/admin/modality_page.py); a
modality just added opens there too."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from domain import associations, centre_admin, modalities, options
from domain.access import Actor
from domain.associations import LastSeen
from domain.errors import N_
from domain.modalities import MODALITY_CODES, ModalityCreate
from domain.models import Modality

from ..i18n import format_datetime, t
from ..shell import FAILED, current_actor, nav, perform, screen

HEADINGS = (
    N_('AE title'),
    N_('Host'),
    N_('Port'),
    N_('Modality'),
    N_('Room'),
    N_('Description'),
    N_('State'),
    N_('Last seen'),
    '',
)


def register() -> None:
    nav('/admin/modalities', 'Modalities', 'settings_input_antenna', order=84)

    @screen('/admin/modalities', title='Modalities')
    async def modalities_page() -> None:
        await ModalitiesPage(current_actor()).build()


class ModalitiesPage:
    """The entered modalities with their state, the dialog that adds or edits one, and "accept any modality"."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.centres: dict[int, str] = {}  # shown as a column once there are several (issue 18)

    async def build(self) -> None:
        found = await perform(centre_admin.list_all, by=self.actor)
        self.centres = {c.id or 0: c.name for c in found} if found is not FAILED and len(found) > 1 else {}
        with ui.row().classes('items-center w-full'):
            ui.button(t('Add a modality'), icon='add', on_click=self.add).mark('add-modality')
            ui.space()
            await self.accept_any()
        with ui.card().classes('w-full'):
            await self.rows()

    async def accept_any(self) -> None:
        fixed = options.is_overridden('accept_any_ae')
        accept_any = await perform(options.get, 'accept_any_ae')
        switch = ui.switch(
            t('Accept any modality'),
            value=accept_any is True,  # FAILED (a refused read) shows the switch off
            on_change=lambda e: perform(options.put, 'accept_any_ae', e.value, by=self.actor, success=t('Saved')),
        ).mark('accept-any')
        switch.set_enabled(not fixed)
        if fixed:
            switch.tooltip(t('Fixed by PACS_ACCEPT_ANY_AE in the environment'))
        else:
            switch.tooltip(t('Lets unknown AE titles in; an entered modality is still accepted only from its host'))

    @ui.refreshable_method
    async def rows(self) -> None:
        entered = await perform(modalities.list_all, by=self.actor)
        if entered is FAILED:
            return
        if not entered:
            ui.label(t('No modality entered yet: only "accept any modality" lets scanners send images')).classes(
                'text-grey-7'
            ).mark('no-modalities')
            return
        seen = await perform(associations.last_seen, [modality.ae_title for modality in entered], by=self.actor)
        if seen is FAILED:
            return
        centre = ' 12rem' if self.centres else ''
        with ui.grid(columns=f'9rem 1fr 5rem 5rem 8rem 1fr{centre} 6rem 10rem auto').classes(
            'w-full items-center gap-x-4 gap-y-1'
        ):
            headings = [*HEADINGS[:6], *([N_('Centre')] if centre else []), *HEADINGS[6:]]
            for heading in headings:
                ui.label(t(heading)).classes('text-caption text-grey-7')
            for modality in entered:
                self.row(modality, seen.get(modality.ae_title))

    def row(self, modality: Modality, seen: LastSeen | None) -> None:
        code, active = modality.ae_title, modality.active
        ui.link(code, f'/admin/modalities/{modality.id}').classes('font-mono').mark(f'modality-{code}')
        with ui.row().classes('items-center gap-1 no-wrap'):
            ui.label(modality.host)
            if modality.any_host:
                ui.badge(t('any host'), color='warning').props('outline').mark(f'any-host-{code}')
            if modality.tls_required:
                ui.icon('lock', size='xs').tooltip(t('TLS required')).mark(f'tls-{code}')
        for text in (str(modality.port), modality.modality, modality.room, modality.description):
            ui.label(text)
        if self.centres:
            modality_id = modality.id or 0
            ui.select(
                {0: t('The patient’s centre'), **self.centres},
                value=modality.centre_id or 0,
                on_change=lambda e: perform(
                    centre_admin.set_modality_centre, modality_id, e.value or None, by=self.actor, success=t('Saved')
                ),
            ).props('dense').tooltip(t('The centre its images land in')).mark(f'centre-{code}')
        ui.label(t('active') if active else t('disabled')).classes('text-positive' if active else 'text-grey')
        _last_seen(seen).mark(f'last-seen-{code}')
        with ui.row().classes('gap-1'):
            ui.button(icon='edit', on_click=lambda: self.edit(modality)).props('flat dense').tooltip(t('Edit')).mark(
                f'edit-{code}'
            )
            ui.button(
                icon='block' if active else 'check_circle', on_click=lambda: self.toggle(modality.id or 0, not active)
            ).props('flat dense').tooltip(t('Disable') if active else t('Enable')).mark(f'toggle-{code}')

    async def toggle(self, modality_id: int, active: bool) -> None:
        success = t('Enabled') if active else t('Disabled')
        await perform(modalities.set_active, modality_id, active, by=self.actor, success=success)
        await self.rows.refresh()

    def add(self) -> None:
        async def open_it(added: Modality) -> None:
            ui.navigate.to(f'/admin/modalities/{added.id}')

        edit_dialog(self.actor, None, open_it)

    def edit(self, existing: Modality) -> None:
        async def saved(_modality: Modality) -> None:
            await self.rows.refresh()

        edit_dialog(self.actor, existing, saved)


def edit_dialog(actor: Actor, existing: Modality | None, saved: Callable[[Modality], Awaitable[None]]) -> None:
    """The dialog that adds a modality (existing None) or edits one; `saved` gets the modality once it is saved."""
    form = ModalityCreate.model_validate(existing, from_attributes=True) if existing else ModalityCreate()
    modality_id = existing.id if existing else None
    with ui.dialog() as dialog, ui.card().classes('w-96'):
        ui.label(t('Edit modality') if existing else t('Add a modality')).classes('text-h6')
        _form_fields(form)

        async def save() -> None:
            if modality_id is None:
                done = await perform(modalities.add, form, by=actor, success=t('Modality added'))
            else:
                done = await perform(modalities.update, modality_id, form, by=actor, success=t('Saved'))
            if done is not FAILED:
                dialog.close()
                await saved(done)

        with ui.row().classes('w-full justify-end'):
            ui.button(t('Cancel'), on_click=dialog.close).props('flat')
            ui.button(t('Save'), on_click=save).mark('save-modality')
    dialog.open()


def _last_seen(seen: LastSeen | None) -> ui.label:
    """When the modality last called, and a warning colour when that association was refused."""
    if seen is None:
        return ui.label(t('never')).classes('text-grey-7')
    when = format_datetime(seen.at)
    if seen.result == associations.REJECTED:
        return ui.label(f'{when} · {t("refused")}').classes('text-negative')
    return ui.label(when)


def _form_fields(form: ModalityCreate) -> None:
    ui.input(t('AE title')).bind_value(form, 'ae_title').props('maxlength=16').classes('w-full').mark('ae-title')
    ui.input(t('Host')).bind_value(form, 'host').classes('w-full').mark('host')
    ui.label(t('This AE title is accepted only from this address (an IP address or a host name)')).classes(
        'text-caption text-grey-7'
    )
    ui.checkbox(t('Accept from any host')).bind_value(form, 'any_host').mark('any-host')
    ui.label(t('Only for a modality whose address changes: anyone on the network may then use this AE title')).classes(
        'text-caption text-grey-7'
    )
    ui.checkbox(t('TLS required')).bind_value(form, 'tls_required').mark('tls-required')
    ui.label(t('Accepted only on the DICOM TLS port, never on the plain one')).classes('text-caption text-grey-7')
    ui.number(t('Port'), min=1, max=65535, precision=0).bind_value(form, 'port', forward=_integer).classes(
        'w-full'
    ).mark('port')
    ui.select({code: code for code in MODALITY_CODES}, label=t('Modality')).bind_value(form, 'modality').classes(
        'w-full'
    ).mark('modality-code')
    ui.input(t('Room')).bind_value(form, 'room').classes('w-full').mark('room')
    ui.input(t('Description')).bind_value(form, 'description').classes('w-full').mark('description')


def _integer(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
