"""Users: add staff, change roles, reset passwords, disable and unlock accounts."""

from nicegui import run, ui

from domain import auth, events, users
from domain.models import Role, UserCreate

from .. import live
from ..i18n import LANGUAGE_NAMES, t
from ..shell import FAILED, current_actor, nav, perform, screen

ROLE_OPTIONS = {role.value: role.value for role in Role}


def register() -> None:
    nav('/admin/users', 'Users', 'group', order=80)

    @screen('/admin/users', title='Users')
    async def users_page() -> None:
        actor = current_actor()
        form = UserCreate()  # kept while the dialog is open, so a refused form loses nothing

        @ui.refreshable
        async def rows() -> None:
            accounts = await perform(users.list_all, by=actor)
            if accounts is FAILED:
                return
            with ui.grid(columns='1fr 1.5fr 10rem 7rem auto').classes('w-full items-center gap-x-4 gap-y-1'):
                for heading in ('Username', 'Name', 'Role', 'State', ''):
                    ui.label(t(heading)).classes('text-caption text-grey-7')
                for account in accounts:
                    ui.label(account.username).mark(f'user-{account.username}')
                    ui.label(account.full_name)
                    ui.select(
                        {k: t(k) for k in ROLE_OPTIONS},
                        value=account.role,
                        on_change=lambda e, u=account.username: change_role(u, e.value),
                    ).props('dense').mark(f'role-{account.username}')
                    ui.label(t('active') if account.active else t('disabled')).classes(
                        'text-positive' if account.active else 'text-grey'
                    )
                    with ui.row().classes('gap-1'):
                        ui.button(icon='key', on_click=lambda u=account.username: reset_dialog(u)).props(
                            'flat dense'
                        ).tooltip(t('Reset password')).mark(f'reset-{account.username}')
                        ui.button(icon='lock_open', on_click=lambda u=account.username: unlock(u)).props(
                            'flat dense'
                        ).tooltip(t('Unlock')).mark(f'unlock-{account.username}')
                        ui.button(
                            icon='person_off' if account.active else 'person',
                            on_click=lambda u=account.username, a=account.active: set_active(u, not a),
                        ).props('flat dense').tooltip(t('Disable') if account.active else t('Enable')).mark(
                            f'toggle-{account.username}'
                        )

        async def change_role(username: str, role: str) -> None:
            await perform(users.update, username, by=actor, role=role, success=t('Role changed'))
            await rows.refresh()

        async def set_active(username: str, active: bool) -> None:
            await perform(
                users.update,
                username,
                by=actor,
                active=active,
                success=t('Account enabled') if active else t('Account disabled'),
            )
            await rows.refresh()

        async def unlock(username: str) -> None:
            await run.io_bound(auth.unlock, username)
            ui.notify(t('Account unlocked'), type='positive')

        async def add() -> None:
            if await perform(users.create, form, by=actor, success=t('User added')) is FAILED:
                return  # the dialog stays open with what was typed
            form.username = form.full_name = form.password = ''
            add_dialog.close()
            await rows.refresh()

        def reset_dialog(username: str) -> None:
            with ui.dialog() as dialog, ui.card():
                ui.label(t('New password for {name}', name=username)).classes('text-subtitle1')
                password = ui.input(t('New password'), password=True).mark('reset-password')

                async def save() -> None:
                    if (
                        await perform(
                            users.set_password, username, password.value, by=actor, success=t('Password changed')
                        )
                        is not FAILED
                    ):
                        dialog.close()

                with ui.row():
                    ui.button(t('Save'), on_click=save).mark('reset-save')
                    ui.button(t('Cancel'), on_click=dialog.close).props('flat')
            dialog.open()

        with ui.dialog() as add_dialog, ui.card().classes('w-96'):
            ui.label(t('Add a user')).classes('text-h6')
            ui.input(t('Username')).bind_value(form, 'username').classes('w-full').mark('new-username')
            ui.input(t('Full name')).bind_value(form, 'full_name').classes('w-full').mark('new-full-name')
            ui.select({k: t(k) for k in ROLE_OPTIONS}, label=t('Role')).bind_value(form, 'role').classes('w-full').mark(
                'new-role'
            )
            ui.select(LANGUAGE_NAMES, label=t('Language')).bind_value(form, 'language').classes('w-full')
            ui.input(t('Password'), password=True).bind_value(form, 'password').classes('w-full').mark('new-password')
            with ui.row():
                ui.button(t('Add'), on_click=add).mark('add-save')
                ui.button(t('Cancel'), on_click=add_dialog.close).props('flat')

        ui.button(t('Add a user'), icon='person_add', on_click=add_dialog.open).mark('add-user')
        with ui.card().classes('w-full'):
            await rows()
        live.on(events.UserChanged).subscribe(rows.refresh)
