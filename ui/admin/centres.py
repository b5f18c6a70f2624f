"""Centres: the diagnostic centres the reading group reports for (name, address, contact, currency, logo).

A centre owns its patients, bookings, studies and reports (domain.centres); its staff are given it on the Users
screen and its scanners on the Modalities screen. The first centre is the clinic itself.
"""

from typing import Any

from nicegui import events as ui_events
from nicegui import ui

from domain import centre_admin, reporting
from domain.access import Actor
from domain.centre_admin import CentreData
from domain.models import Centre

from ..i18n import t
from ..patients import submit_form
from ..shell import FAILED, current_actor, nav, perform, screen

BLANK = {'name': '', 'address': '', 'contact': '', 'currency': 'USD'}


def register() -> None:
    nav('/admin/centres', 'Centres', 'domain', order=83)

    @screen('/admin/centres', title='Centres')
    async def centres_page() -> None:
        await CentresPage(current_actor()).build()


def centre_fields(form: dict[str, Any], mark: str) -> dict[str, Any]:
    """The inputs of a centre's details, bound to `form` (so a refused save keeps what was typed)."""
    return {
        'name': ui.input(t('Name')).bind_value(form, 'name').classes('w-64').mark(f'{mark}-name'),
        'address': ui.textarea(t('Address')).bind_value(form, 'address').props('autogrow').classes('w-72'),
        'contact': ui.input(t('Contact')).bind_value(form, 'contact').classes('w-56').mark(f'{mark}-contact'),
        'currency': ui.input(t('Currency'))
        .bind_value(form, 'currency')
        .props('maxlength=3')
        .classes('w-24')
        .mark(f'{mark}-currency'),
    }


class CentresPage:
    """The form that adds a centre, and every centre with its details, its logo and whether it is served."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.form: dict[str, Any] = dict(BLANK)
        self.inputs: dict[str, Any] = {}

    async def build(self) -> None:
        with ui.card().classes('w-full'):
            ui.label(t('Add a centre')).classes('text-h6')
            ui.label(
                t(
                    'A centre sees only its own patients, bookings, studies and reports; its staff and scanners are '
                    'given their centre on the Users and Modalities screens.'
                )
            ).classes('text-caption text-grey-7')
            with ui.row().classes('items-end gap-4'):
                self.inputs = centre_fields(self.form, 'centre-new')
                ui.button(t('Add'), on_click=self.add).mark('centre-add')
        await self.cards()

    @ui.refreshable_method
    async def cards(self) -> None:
        found = await perform(centre_admin.list_all, by=self.actor)
        if found is FAILED:
            return
        for centre in found:
            CentreCard(self.actor, centre).build()

    async def add(self) -> None:
        form, actor = self.form, self.actor
        made = await submit_form(lambda: centre_admin.create(CentreData(**form), by=actor), self.inputs)
        if made is FAILED:
            return
        ui.notify(t('Centre added'), type='positive')
        form.update(BLANK)
        await self.cards.refresh()


class CentreCard:
    """One centre: its details saved together, served or not, and its logo for its reports and statements."""

    def __init__(self, actor: Actor, centre: Centre) -> None:
        self.actor = actor
        self.centre_id = centre.id or 0
        self.form: dict[str, Any] = {
            'name': centre.name,
            'address': centre.address,
            'contact': centre.contact,
            'currency': centre.currency,
        }
        self.active = centre.active
        self.logo = centre.logo

    def build(self) -> None:
        with ui.card().classes('w-full').mark(f'centre-{self.centre_id}'):
            with ui.row().classes('items-end gap-4'):
                self.inputs = centre_fields(self.form, f'centre-{self.centre_id}')
                ui.switch(t('Served'), value=self.active, on_change=self.set_active).mark(
                    f'centre-{self.centre_id}-active'
                )
                ui.button(t('Save'), on_click=self.save).mark(f'centre-{self.centre_id}-save')
            with ui.row().classes('items-center gap-4'):
                self.preview()
                self.upload = (
                    ui.upload(
                        label=t('Logo'),
                        on_upload=self.uploaded,
                        on_rejected=lambda: ui.notify(
                            t('The logo must be a PNG or JPEG image of at most 512 KB'), type='warning'
                        ),
                        auto_upload=True,
                        max_file_size=centre_admin.MAX_LOGO_BYTES,
                    )
                    .props('accept="image/png,image/jpeg" flat bordered dense')
                    .classes('w-64')
                    .mark(f'centre-{self.centre_id}-logo')
                )

    @ui.refreshable_method
    def preview(self) -> None:
        if self.logo and (shown := reporting.logo_preview(self.logo)):
            ui.image(shown).classes('w-32').mark(f'centre-{self.centre_id}-logo-preview')
            ui.button(t('Remove the logo'), icon='delete', on_click=self.remove_logo).props('flat dense')
        else:
            ui.label(t('No logo')).classes('text-grey-7')

    async def save(self) -> None:
        form, actor, centre_id = self.form, self.actor, self.centre_id
        saved = await submit_form(lambda: centre_admin.update(centre_id, CentreData(**form), by=actor), self.inputs)
        if saved is not FAILED:
            ui.notify(t('Saved'), type='positive')

    async def set_active(self, event: ui_events.ValueChangeEventArguments) -> None:
        saved = await perform(
            centre_admin.update, self.centre_id, CentreData(**self.form), by=self.actor, active=bool(event.value)
        )
        if saved is FAILED:
            event.sender.set_value(not event.value)  # type: ignore[attr-defined]
        else:
            ui.notify(t('Saved'), type='positive')

    async def uploaded(self, event: ui_events.UploadEventArguments) -> None:
        self.upload.reset()
        if event.file.size() > centre_admin.MAX_LOGO_BYTES:
            ui.notify(t('The logo must be at most 512 KB'), type='warning')
            return
        await self.store(await event.file.read(), t('Logo saved'))

    async def remove_logo(self) -> None:
        await self.store(None, t('Logo removed'))

    async def store(self, data: bytes | None, success: str) -> None:
        if await perform(centre_admin.set_logo, self.centre_id, data, by=self.actor, success=success) is FAILED:
            return
        stored = await perform(centre_admin.get, self.centre_id, by=self.actor)
        self.logo = '' if stored is FAILED else stored.logo
        self.preview.refresh()
