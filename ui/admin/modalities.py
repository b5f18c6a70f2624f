"""Modalities: the scanners that may send images (AE title, host, port), and "accept any modality"."""

from nicegui import ui

from domain import modalities, options
from domain.modalities import MODALITY_CODES, ModalityCreate

from ..i18n import t
from ..shell import FAILED, current_actor, nav, perform, screen


def register() -> None:
    nav('/admin/modalities', 'Modalities', 'settings_input_antenna', order=84)

    @screen('/admin/modalities', title='Modalities')
    async def modalities_page() -> None:
        actor = current_actor()

        @ui.refreshable
        async def rows() -> None:
            entered = await perform(modalities.list_all, by=actor)
            if entered is FAILED:
                return
            if not entered:
                ui.label(t('No modality entered yet: only "accept any modality" lets scanners send images')).classes(
                    'text-grey-7'
                ).mark('no-modalities')
                return
            with ui.grid(columns='9rem 1fr 5rem 5rem 8rem 1fr 6rem auto').classes(
                'w-full items-center gap-x-4 gap-y-1'
            ):
                for heading in ('AE title', 'Host', 'Port', 'Modality', 'Room', 'Description', 'State', ''):
                    ui.label(t(heading)).classes('text-caption text-grey-7')
                for modality in entered:
                    ui.label(modality.ae_title).classes('font-mono').mark(f'modality-{modality.ae_title}')
                    ui.label(modality.host)
                    ui.label(str(modality.port))
                    ui.label(modality.modality)
                    ui.label(modality.room)
                    ui.label(modality.description)
                    ui.label(t('active') if modality.active else t('disabled')).classes(
                        'text-positive' if modality.active else 'text-grey'
                    )
                    with ui.row().classes('gap-1'):
                        ui.button(icon='edit', on_click=lambda m=modality: edit(m)).props('flat dense').tooltip(
                            t('Edit')
                        ).mark(f'edit-{modality.ae_title}')
                        ui.button(
                            icon='block' if modality.active else 'check_circle',
                            on_click=lambda m=modality: toggle(m.id, not m.active),
                        ).props('flat dense').tooltip(t('Disable') if modality.active else t('Enable')).mark(
                            f'toggle-{modality.ae_title}'
                        )

        async def toggle(modality_id: int, active: bool) -> None:
            await perform(
                modalities.set_active, modality_id, active, by=actor, success=t('Enabled') if active else t('Disabled')
            )
            await rows.refresh()

        def edit(existing: object | None = None) -> None:
            form = ModalityCreate.model_validate(existing, from_attributes=True) if existing else ModalityCreate()
            modality_id = getattr(existing, 'id', None)
            with ui.dialog() as dialog, ui.card().classes('w-96'):
                ui.label(t('Edit modality') if existing else t('Add a modality')).classes('text-h6')
                ui.input(t('AE title')).bind_value(form, 'ae_title').props('maxlength=16').classes('w-full').mark(
                    'ae-title'
                )
                ui.input(t('Host')).bind_value(form, 'host').classes('w-full').mark('host')
                ui.number(t('Port'), min=1, max=65535, precision=0).bind_value(form, 'port', forward=_integer).classes(
                    'w-full'
                ).mark('port')
                ui.select({code: code for code in MODALITY_CODES}, label=t('Modality')).bind_value(
                    form, 'modality'
                ).classes('w-full').mark('modality-code')
                ui.input(t('Room')).bind_value(form, 'room').classes('w-full').mark('room')
                ui.input(t('Description')).bind_value(form, 'description').classes('w-full').mark('description')

                async def save() -> None:
                    if modality_id is None:
                        done = await perform(modalities.add, form, by=actor, success=t('Modality added'))
                    else:
                        done = await perform(modalities.update, modality_id, form, by=actor, success=t('Saved'))
                    if done is not FAILED:
                        dialog.close()
                        await rows.refresh()

                with ui.row().classes('w-full justify-end'):
                    ui.button(t('Cancel'), on_click=dialog.close).props('flat')
                    ui.button(t('Save'), on_click=save).mark('save-modality')
            dialog.open()

        with ui.row().classes('items-center w-full'):
            ui.button(t('Add a modality'), icon='add', on_click=lambda: edit(None)).mark('add-modality')
            ui.space()
            fixed = options.is_overridden('accept_any_ae')
            accept_any = await perform(options.get, 'accept_any_ae')
            switch = ui.switch(
                t('Accept any modality'),
                value=bool(accept_any),
                on_change=lambda e: perform(options.put, 'accept_any_ae', e.value, by=actor, success=t('Saved')),
            ).mark('accept-any')
            switch.set_enabled(not fixed)
            if fixed:
                switch.tooltip(t('Fixed by PACS_ACCEPT_ANY_AE in the environment'))
        with ui.card().classes('w-full'):
            await rows()


def _integer(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
