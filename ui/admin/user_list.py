"""Users: add staff, change roles, reset passwords and two-step sign-in, disable and unlock accounts."""

from nicegui import ui

from domain import auth, events, mfa, users
from domain.access import Actor
from domain.errors import N_
from domain.models import Role, User, UserCreate

from .. import live
from ..i18n import language_choices, t
from ..shell import FAILED, current_actor, nav, perform, screen
from .user_centres import StaffCentres

ROLE_OPTIONS = {role.value: role.value for role in Role}
HEADINGS = (N_('Username'), N_('Name'), N_('Role'), N_('State'), N_('Two-step'), '')


def register() -> None:
    nav('/admin/users', 'Users', 'group', order=80)

    @screen('/admin/users', title='Users')
    async def users_page() -> None:
        await UsersPage(current_actor()).build()


class UsersPage:
    """The staff accounts with their role, state and actions, and the dialog that adds one."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.form = UserCreate()  # kept while the dialog is open, so a refused form loses nothing
        self.centres = StaffCentres(actor)

    async def build(self) -> None:
        await self.centres.load()
        self.add_dialog = self.new_user_dialog()
        ui.button(t('Add a user'), icon='person_add', on_click=self.add_dialog.open).mark('add-user')
        with ui.card().classes('w-full'):
            await self.rows()
        live.on(events.UserChanged).subscribe(self.rows.refresh)

    @ui.refreshable_method
    async def rows(self) -> None:
        accounts = await perform(users.list_all, by=self.actor)
        if accounts is FAILED:
            return
        if self.centres.shown:
            await self.centres.load()  # a radiologist's centres may have changed
        centre = ['14rem'] if self.centres.shown else []
        columns = ' '.join(['1fr', '1.5fr', '10rem', *centre, '7rem', '6rem', 'auto'])
        headings = [*HEADINGS[:3], *([N_('Centre')] if centre else []), *HEADINGS[3:]]
        with ui.grid(columns=columns).classes('w-full items-center gap-x-4 gap-y-1'):
            for heading in headings:
                ui.label(t(heading)).classes('text-caption text-grey-7')
            for account in accounts:
                self.row(account)

    def row(self, account: User) -> None:
        name = account.username
        ui.label(name).mark(f'user-{name}')
        ui.label(account.full_name)
        ui.select(
            {k: t(k) for k in ROLE_OPTIONS}, value=account.role, on_change=lambda e: self.change_role(name, e.value)
        ).props('dense').mark(f'role-{name}')
        if self.centres.shown:
            self.centres.cell(account)
        ui.label(t('active') if account.active else t('disabled')).classes(
            'text-positive' if account.active else 'text-grey'
        )
        two_step = account.mfa_enabled_at is not None
        ui.label(t('on') if two_step else t('off')).classes('text-positive' if two_step else 'text-grey').mark(
            f'mfa-{name}'
        )
        with ui.row().classes('gap-1'):
            ui.button(icon='key', on_click=lambda: self.reset_dialog(name)).props('flat dense').tooltip(
                t('Reset password')
            ).mark(f'reset-{name}')
            ui.button(icon='lock_open', on_click=lambda: self.unlock(name)).props('flat dense').tooltip(
                t('Unlock')
            ).mark(f'unlock-{name}')
            ui.button(
                icon='person_off' if account.active else 'person',
                on_click=lambda: self.set_active(name, not account.active),
            ).props('flat dense').tooltip(t('Disable') if account.active else t('Enable')).mark(f'toggle-{name}')
            if two_step and account.id is not None and account.id != self.actor.user_id:  # one's own: the account page
                user_id = account.id
                ui.button(icon='phonelink_erase', on_click=lambda: self.mfa_reset_dialog(user_id, name)).props(
                    'flat dense'
                ).tooltip(t('Reset two-step sign-in')).mark(f'mfa-reset-{name}')

    async def change_role(self, username: str, role: str) -> None:
        await perform(users.update, username, by=self.actor, role=role, success=t('Role changed'))
        await self.rows.refresh()

    async def set_active(self, username: str, active: bool) -> None:
        success = t('Account enabled') if active else t('Account disabled')
        await perform(users.update, username, by=self.actor, active=active, success=success)
        await self.rows.refresh()

    async def unlock(self, username: str) -> None:
        await perform(auth.unlock, username, by=self.actor, success=t('Account unlocked'))

    def new_user_dialog(self) -> ui.dialog:
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(t('Add a user')).classes('text-h6')
            ui.input(t('Username')).bind_value(self.form, 'username').classes('w-full').mark('new-username')
            ui.input(t('Full name')).bind_value(self.form, 'full_name').classes('w-full').mark('new-full-name')
            ui.select({k: t(k) for k in ROLE_OPTIONS}, label=t('Role')).bind_value(self.form, 'role').classes(
                'w-full'
            ).mark('new-role')
            if self.centres.shown:
                self.centres.new_user_select(self.form)
            ui.select(language_choices(), label=t('Language')).bind_value(self.form, 'language').classes('w-full')
            ui.input(t('Password'), password=True).bind_value(self.form, 'password').classes('w-full').mark(
                'new-password'
            )
            with ui.row():
                ui.button(t('Add'), on_click=self.add).mark('add-save')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        return dialog

    async def add(self) -> None:
        if await perform(users.create, self.form, by=self.actor, success=t('User added')) is FAILED:
            return  # the dialog stays open with what was typed
        self.form.username = self.form.full_name = self.form.password = ''
        self.add_dialog.close()
        await self.rows.refresh()

    def mfa_reset_dialog(self, user_id: int, username: str) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(t('Reset two-step sign-in for {name}?', name=username)).classes('text-subtitle1')
            ui.label(
                t('Their authenticator app and recovery codes stop working until they set up two-step sign-in again.')
            ).classes('text-body2')

            async def reset() -> None:
                done = await perform(mfa.disable, user_id, by=self.actor, success=t('Two-step sign-in reset'))
                if done is not FAILED:
                    dialog.close()
                    await self.rows.refresh()

            with ui.row():
                ui.button(t('Reset'), on_click=reset).props('color=negative').mark('mfa-reset-confirm')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()

    def reset_dialog(self, username: str) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(t('New password for {name}', name=username)).classes('text-subtitle1')
            password = ui.input(t('New password'), password=True).mark('reset-password')

            async def save() -> None:
                changed = await perform(
                    users.set_password, username, password.value, by=self.actor, success=t('Password changed')
                )
                if changed is not FAILED:
                    dialog.close()

            with ui.row():
                ui.button(t('Save'), on_click=save).mark('reset-save')
                ui.button(t('Cancel'), on_click=dialog.close).props('flat')
        dialog.open()
