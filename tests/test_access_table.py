"""Every registered page and HTTP route, for every role and for nobody, against domain.access."""

import re

import pytest
from fastapi.routing import APIRoute
from nicegui import app
from nicegui.testing import User
from starlette.routing import Route

from domain import access
from domain.models import Role
from tests.conftest import Clinic, sign_in
from ui import health, live, register_pages

INTERNAL = ('/_nicegui', '/docs', '/openapi', '/redoc', '/favicon.ico')


def _register_all(clinic: Clinic) -> None:
    register_pages()
    health.register(clinic.data_dir, {})


def _registered() -> tuple[list[str], list[str]]:
    pages, routes = [], []
    for route in app.routes:
        if not isinstance(route, Route) or route.path.startswith(INTERNAL):
            continue
        if isinstance(route, APIRoute) and route.path not in access.SCREENS:
            routes.append(route.path)
        else:
            pages.append(route.path)
    return sorted(set(pages)), sorted(set(routes))


def _concrete(path: str) -> str:
    return re.sub(r'\{[^}]+\}', '1', path)


async def test_every_page_and_route_has_a_row_in_the_table(user: User, clinic: Clinic) -> None:
    _register_all(clinic)
    pages, routes = _registered()
    assert pages, 'no pages registered'
    assert routes, 'no HTTP routes registered'
    missing = [p for p in pages if p not in access.SCREENS] + [r for r in routes if r not in access.ROUTES]
    assert not missing, f'declare these in domain.access: {missing}'


async def test_nobody_signed_in_is_sent_to_login_from_every_page(user: User, clinic: Clinic) -> None:
    _register_all(clinic)
    for path in _registered()[0]:
        if access.SCREENS[path] == access.PUBLIC:
            continue
        await user.open(_concrete(path))
        await user.should_see(marker='sign-in')


async def test_nobody_signed_in_is_refused_by_every_route(user: User, clinic: Clinic) -> None:
    _register_all(clinic)
    for path in _registered()[1]:
        if access.ROUTES[path] == access.PUBLIC:
            continue
        response = await user.http_client.get(_concrete(path))
        assert response.status_code in (401, 403, 307), f'{path} answered {response.status_code}'


@pytest.mark.parametrize('role', [role.value for role in Role])
async def test_each_role_opens_exactly_the_pages_the_table_allows(user: User, clinic: Clinic, role: str) -> None:
    _register_all(clinic)
    live.start_bridge()
    await sign_in(user, clinic.account(role))
    for path in _registered()[0]:
        allowed = access.SCREENS[path]
        if allowed == access.PUBLIC:
            continue
        await user.open(_concrete(path))
        if role in allowed:
            await user.should_not_see(marker='not-allowed')
            await user.should_see(marker='screen-title')
        else:
            await user.should_see(marker='not-allowed')


@pytest.mark.parametrize('role', [role.value for role in Role])
async def test_each_role_gets_exactly_the_routes_the_table_allows(user: User, clinic: Clinic, role: str) -> None:
    _register_all(clinic)
    account = clinic.account(role)
    for path in _registered()[1]:
        allowed = access.ROUTES[path]
        response = await user.http_client.get(_concrete(path), auth=(account.username, account.password))
        if allowed == access.PUBLIC or role in allowed:
            assert response.status_code not in (401, 403), f'{role} refused at {path}'
        else:
            assert response.status_code == 403, f'{role} got {response.status_code} at {path}'


def test_technicians_mark_urgent_assign_readers_and_correct_studies_but_only_administrators_manage_jobs() -> None:
    technician, admin = Role.TECHNICIAN.value, Role.ADMIN.value
    for permission in (access.Permission.READ_IMAGES, access.Permission.ASSIGN_READERS):  # set_urgent; assign
        assert technician in access.PERMISSIONS[permission], permission
    assert access.PERMISSIONS[access.Permission.RECONCILE_STUDIES] == {technician, admin}  # accession, patient
    assert access.PERMISSIONS[access.Permission.ASSIGN_READERS] == {technician, admin}
    # releasing a colleague's claim and reassigning a draft stay the administrators', as do retry and discard
    assert access.PERMISSIONS[access.Permission.ASSIGN_STUDIES] == {admin}
    assert access.PERMISSIONS[access.Permission.MANAGE_JOBS] == {admin}
