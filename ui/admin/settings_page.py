"""Settings: the clinic's name and address, and whether any modality may connect.

The language a reader gets when neither their account nor their browser names one is PACS_LANGUAGE.
"""

from nicegui import ui

from domain import options

from ..i18n import t
from ..shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/admin/settings', 'Settings', 'settings', order=95)

    @screen('/admin/settings', title='Settings')
    async def settings_page() -> None:
        actor = current_actor()
        values = await perform(options.all_values)
        if values is FAILED:
            return

        async def save(key: str, value: object) -> None:
            await perform(options.put, key, value, by=actor, success=t('Saved'))

        with ui.card().classes('w-full max-w-xl'):
            name = ui.input(t('Clinic name'), value=values['clinic_name']).classes('w-full').mark('clinic-name')
            address = ui.textarea(t('Clinic address'), value=values['clinic_address']).classes('w-full')

            async def save_clinic() -> None:
                for key, field in (('clinic_name', name), ('clinic_address', address)):
                    if field.value != values[key]:
                        if await perform(options.put, key, field.value, by=actor) is FAILED:
                            return
                        values[key] = field.value
                ui.notify(t('Saved'), type='positive')

            ui.button(t('Save'), on_click=save_clinic).mark('save-clinic')
        with ui.card().classes('w-full max-w-xl'):
            ui.label(t('DICOM')).classes('text-h6')
            fixed = options.is_overridden('accept_any_ae')
            ui.switch(
                t('Accept images and queries from any modality, not only the configured ones'),
                value=values['accept_any_ae'],
                on_change=lambda e: save('accept_any_ae', e.value),
            ).set_enabled(not fixed)
            if fixed:
                ui.label(t('Fixed by PACS_ACCEPT_ANY_AE in the environment')).classes('text-caption text-grey-7')
