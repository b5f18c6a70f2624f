"""Settings: the clinic's name, address and logo, as printed on every report PDF (the name heads the kiosk too)."""

from typing import Any

from nicegui import events as ui_events
from nicegui import ui

from domain import options, reporting
from domain.access import Actor
from domain.errors import N_

from ..i18n import t
from ..shell import FAILED, perform
from .settings_form import SettingsCard


class ClinicCard(SettingsCard):
    """The clinic's name and address."""

    name, title, keys = 'clinic', N_('Clinic on report PDFs'), ('clinic_name', 'clinic_address')

    def fields(self) -> None:
        self.bound('clinic_name', ui.input(t('Clinic name'))).classes('w-full')
        self.bound('clinic_address', ui.textarea(t('Clinic address'))).props('autogrow').classes('w-full')


class LogoCard:
    """The logo in the report header: a PNG or JPEG of at most 512 KB, shown once stored; it can be removed."""

    def __init__(self, actor: Actor, values: dict[str, Any]) -> None:
        self.actor = actor
        self.logo = str(values['clinic_logo'] or '')

    def build(self) -> None:
        with ui.card().classes('w-full max-w-xl').mark('settings-logo'):
            ui.label(t('Logo on report PDFs')).classes('text-h6')
            self.preview()
            self.upload = (
                ui.upload(
                    on_upload=self.uploaded,
                    on_rejected=self.rejected,
                    auto_upload=True,
                    max_file_size=reporting.LOGO_MAX_BYTES,
                )
                .props('accept="image/png,image/jpeg" flat bordered')
                .classes('w-full')
                .mark('logo-upload')
            )
            ui.label(t('A PNG or JPEG image of at most 512 KB')).classes('text-caption text-grey-7')

    @ui.refreshable_method
    def preview(self) -> None:
        if self.logo and (shown := reporting.logo_preview(self.logo)):
            with ui.row().classes('items-center gap-4'):
                ui.image(shown).classes('w-48').mark('logo-preview')
                ui.button(t('Remove the logo'), icon='delete', on_click=self.remove).props('flat').mark('remove-logo')
        else:
            ui.label(t('No logo: the report header shows the clinic name only')).classes('text-grey-7').mark('no-logo')

    def rejected(self) -> None:
        ui.notify(t('The logo must be a PNG or JPEG image of at most 512 KB'), type='warning')

    async def uploaded(self, event: ui_events.UploadEventArguments) -> None:
        self.upload.reset()  # the next file starts afresh, whatever becomes of this one
        if event.file.size() > reporting.LOGO_MAX_BYTES:  # the browser checks too, but any client may post
            ui.notify(t('The logo must be at most 512 KB'), type='warning')
            return
        await self.store(await event.file.read(), t('Logo saved'))

    async def remove(self) -> None:
        await self.store(b'', t('Logo removed'))

    async def store(self, data: bytes, success: str) -> None:
        if await perform(reporting.set_logo, data, by=self.actor, success=success) is FAILED:
            return
        stored = await perform(options.get, 'clinic_logo')
        self.logo = '' if stored is FAILED else str(stored or '')
        self.preview.refresh()
