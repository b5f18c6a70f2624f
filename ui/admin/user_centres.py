"""The Users screen's centre column, shown once the reading group serves several centres: the centre a member of
staff works for (none: the reading group's own) and, for a reading-group radiologist, the centres they read for."""

from typing import Any

from nicegui import ui

from domain import centre_admin
from domain.access import Actor
from domain.models import Role, User

from ..i18n import t
from ..shell import FAILED, perform

GROUP = 0  # the select's value for "no centre" (a select cannot hold None as a key NiceGUI sends back)


class StaffCentres:
    """The centre options, loaded once per screen; `shown` is False with one centre (nothing changes then)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.names: dict[int, str] = {}
        self.served: dict[int, frozenset[int]] = {}

    async def load(self) -> None:
        found = await perform(centre_admin.list_all, by=self.actor)
        self.names = {} if found is FAILED else {c.id or 0: c.name for c in found}
        served = await perform(centre_admin.served_by_user, by=self.actor) if self.shown else {}
        self.served = {} if served is FAILED else served

    @property
    def shown(self) -> bool:
        return len(self.names) > 1

    def options(self) -> dict[int, str]:
        return {GROUP: t('Reading group'), **self.names}

    def new_user_select(self, form: Any) -> None:
        """The add dialog's choice (form.centre_id; None: the reading group)."""
        ui.select(
            self.options(),
            label=t('Centre'),
            value=form.centre_id or GROUP,
            on_change=lambda e: setattr(form, 'centre_id', e.value or None),
        ).classes('w-full').mark('new-centre')

    def cell(self, account: User) -> None:
        name, user_id = account.username, account.id or 0
        with ui.column().classes('gap-0'):
            ui.select(
                self.options(),
                value=account.centre_id or GROUP,
                on_change=lambda e: self.set_centre(user_id, e.value or None),
            ).props('dense').mark(f'centre-{name}')
            if account.role == Role.RADIOLOGIST.value and account.centre_id is None:
                ui.select(
                    self.names,
                    multiple=True,
                    label=t('Reads for (all when empty)'),
                    value=sorted(self.served.get(user_id, frozenset())),
                    on_change=lambda e: self.set_served(user_id, set(e.value or [])),
                ).props('dense use-chips').classes('w-60').mark(f'served-{name}')

    async def set_centre(self, user_id: int, centre_id: int | None) -> None:
        await perform(centre_admin.set_staff_centre, user_id, centre_id, by=self.actor, success=t('Saved'))

    async def set_served(self, user_id: int, centre_ids: set[int]) -> None:
        await perform(centre_admin.set_served, user_id, centre_ids, by=self.actor, success=t('Saved'))
