"""The frame every screen shares: the role check, the redirect to /login, the header and the menu.

`screen()` is `ui.page` plus the role check from domain.access.SCREENS (no auth middleware): a path
without a row there cannot be registered at all. Nothing here is built at import time.
"""

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from html import escape
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Client, app, ui

from domain import access, audit, auth, centres, users
from domain.access import Actor
from domain.errors import DomainError, SessionExpired

from . import centre_notices, session_cookie, threads
from .i18n import choose_language, error_text, language_choices, t

log = logging.getLogger(__name__)

SESSION_CHECK_S = 30.0
# How long a page may take to build before NiceGUI gives up with an error page (its default is 3 s): on an
# overloaded server a page that arrives late is better than a "500" (bench/uiload.py at 100 sessions).
PAGE_BUILD_TIMEOUT_S = 30.0
P = ParamSpec('P')
R = TypeVar('R')
FAILED: Any = object()  # what perform() returns when it showed the problem to the user
ITEM_LINK_CLASSES = 'q-item q-item-type row no-wrap q-item--clickable q-link cursor-pointer q-hoverable'


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    icon: str
    order: int


_nav: dict[str, NavItem] = {}


def nav(path: str, label: str, icon: str, order: int = 50) -> None:
    """Put a screen in the menu of every role that may open it (called from a screen's register())."""
    _nav[path] = NavItem(path, label, icon, order)


def menu_for(role: str) -> list[NavItem]:
    """The menu entries a role may use, in order."""
    return sorted((item for item in _nav.values() if access.may_open(role, item.path)), key=lambda i: i.order)


def current_actor() -> Actor:
    """The signed-in actor of the browser being served (set by screen() when the page was built)."""
    return app.storage.client['actor']


def client_address(request: Request | None) -> str:
    """The caller's address, for the audit trail and login throttling."""
    return request.client.host if request is not None and request.client else ''


def screen(path: str, *, title: str, frame: bool = True) -> Callable[[Callable[..., Awaitable[None]]], Callable]:
    """Register a page at `path` for the roles domain.access.SCREENS allows there."""
    if path not in access.SCREENS:
        raise KeyError(f'screen {path} has no row in domain.access.SCREENS')
    allowed = access.SCREENS[path]

    def decorate(build: Callable[..., Awaitable[None]]) -> Callable:
        params = [p for p in inspect.signature(build).parameters.values() if p.name != 'request']

        @wraps(build)
        async def page(request: Request, **kwargs: Any) -> Any:
            address = client_address(request)
            actor = await threads.io(auth.resume, session_cookie.token_of(request), address=address)
            if actor is None:
                target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
                return RedirectResponse(f'/login?next={quote(target, safe="")}')
            if actor.kiosk and path != '/kiosk':  # a waiting-room tablet's session opens nothing else
                return RedirectResponse('/kiosk')
            app.storage.client['actor'] = actor
            centres.set_scope(actor.centres)
            if app.storage.user.get('language') != actor.language:  # stored to disk: written only when it changes
                app.storage.user['language'] = actor.language
            ui.page_title(f'{t(title)} · ClinicPACS')
            if actor.role not in allowed:
                await threads.io(audit.record_refusal, actor, 'screen.denied', object_type='screen', object_id=path)
                log.warning('screen %s refused for user %s (%s)', path, actor.user_id, actor.role)
                _frame(actor, t('Not allowed'))
                with ui.column().classes('w-full items-center q-pa-xl'):
                    ui.icon('block', size='xl', color='negative')
                    ui.label(t('Your role may not open this screen')).classes('text-h6').mark('not-allowed')
                    ui.link(t('Back to your home screen'), access.HOME.get(actor.role, '/'))
                return None
            if frame:
                _frame(actor, t(title))
            with ui.column().classes('w-full q-pa-md gap-4 max-w-screen-2xl mx-auto'):
                await build(**{k: v for k, v in kwargs.items() if k in {p.name for p in params}})
            return None

        page.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter('request', inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request), *params]
        )
        # registered outside any page: the clinic's language; each page then titles itself in its reader's
        ui.page(
            path,
            title=f'{t(title, language=choose_language(None, None))} · ClinicPACS',
            response_timeout=PAGE_BUILD_TIMEOUT_S,
        )(page)
        return page

    return decorate


async def perform(function: Callable[..., Any], *args: Any, success: str | None = None, **kwargs: Any) -> Any:
    """Call a service off the event loop; show a refusal as a notice (or go to /login) and return FAILED.

    A call cancelled because the browser left or the server is stopping is "nothing happened": FAILED, no notice.
    """
    try:
        result = await fetch(function, *args, **kwargs)
    except asyncio.CancelledError:
        log.debug('%s was cancelled before it answered', getattr(function, '__qualname__', function))
        return FAILED
    except SessionExpired:
        ui.notify(t('Your session has ended; please sign in again'), type='warning')
        ui.navigate.to('/login')
        return FAILED
    except DomainError as error:
        ui.notify(error_text(error), type='warning')
        return FAILED
    if success:
        ui.notify(success, type='positive')
    return result


async def sign_out() -> None:
    """End the session on the server and forget it in this browser."""
    actor = app.storage.client.get('actor')
    if actor is not None:
        await threads.io(auth.logout, actor)
    ui.navigate.to(session_cookie.SIGNED_OUT_PATH)


async def fetch(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call a service off the event loop (ui/threads.py); a call cancelled (browser gone, server stopping) raises
    CancelledError in the caller too."""
    return await threads.io(function, *args, **kwargs)


# The framed pages' background, once for every page (a body query was one more element on every page view).
SHELL_CSS = 'body:has(.q-header) { background: #fafafa; }'


def add_shell_css() -> None:
    """The clinic's colours for the whole app (NiceGUI's app.colors: ui.colors was an element on every page view;
    a stylesheet loses to the colours NiceGUI sets on the page's body) and SHELL_CSS in every page's head (once,
    however often the pages are registered)."""
    app.colors(primary='#1f5f8b', secondary='#4a8db7', accent='#e39b2d', positive='#2e7d32')
    if SHELL_CSS not in Client.shared_head_html:
        ui.add_css(SHELL_CSS, shared=True)


def _frame(actor: Actor, title: str) -> None:
    items = menu_for(actor.role)
    # Open beside the page on a wide screen, closed over it on a tablet: Quasar decides from the width it has,
    # without the round trip NiceGUI's value=None makes (which fails when the browser leaves first).
    drawer = ui.left_drawer(value=False).props('show-if-above bordered width=220 breakpoint=900')
    with drawer.classes('bg-white q-pa-none'):
        # One element for the whole menu (plain links with a Quasar item's look): a menu is built on every page
        # view. It carries each entry's marker, so tests still ask whether an entry is there.
        ui.html(''.join(_nav_entry(item) for item in items), sanitize=False, tag='nav').classes(
            'q-list q-list--padding w-full'
        ).mark(' '.join(f'nav-{item.path.strip("/").replace("/", "-") or "home"}' for item in items))
    with ui.header(elevated=True).classes('items-center q-px-md q-py-xs bg-primary'):
        ui.button(icon='menu', on_click=drawer.toggle).props('flat round color=white').mark('menu-toggle')
        ui.html(
            '<span class="text-h6 text-weight-medium">ClinicPACS</span><span class="opacity-60 q-mx-sm">·</span>'
            f'<span class="text-subtitle1">{escape(title)}</span>',
            sanitize=False,
        ).classes('row items-center no-wrap col').mark('screen-title')  # `col`: it fills the room between the buttons
        UserMenu(actor)
    ui.timer(SESSION_CHECK_S, _check_session_alive, immediate=False)  # the page was built for a live session
    centre_notices.watch(actor)


class UserMenu:
    """The signed-in user's button; its menu (account, language, sign out) is built when first opened: most page
    views never open it, and its five elements were a fifth of what the frame cost the server."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.menu: ui.menu | None = None
        self.button = ui.button(icon='account_circle', on_click=self.open).props('flat no-caps color=white')
        self.button.mark('user-menu').text = f'{actor.username} ({t(actor.role)})'

    def open(self) -> None:
        if self.menu is not None:  # Quasar opens a built menu by itself on its button's click
            return
        with self.button, ui.menu() as self.menu:
            ui.menu_item(t('Account'), on_click=lambda: ui.navigate.to('/account'))
            with ui.menu_item(auto_close=False):
                ui.select(
                    language_choices(),
                    value=self.actor.language,
                    label=t('Language'),
                    on_change=lambda e: _switch_language(e.value),
                ).classes('w-40').mark('language')
            ui.separator()
            ui.menu_item(t('Sign out'), on_click=sign_out).mark('sign-out')
        self.menu.open()


def item_link(href: str, sections: str) -> str:
    """A plain link that looks like a clickable Quasar item (the menu's entries, a list's rows): `sections` is its
    inner HTML, already escaped."""
    return (
        f'<a class="{ITEM_LINK_CLASSES}" href="{escape(href)}"><div class="q-focus-helper" tabindex="-1"></div>'
        f'{sections}</a>'
    )


def _nav_entry(item: NavItem) -> str:
    icon = f'<i class="q-icon notranslate material-icons text-primary" aria-hidden="true">{escape(item.icon)}</i>'
    return item_link(
        item.path,
        f'<div class="q-item__section column q-item__section--avatar q-item__section--side justify-center">{icon}</div>'
        f'<div class="q-item__section column q-item__section--main justify-center">{escape(t(item.label))}</div>',
    )


async def _switch_language(language: str) -> None:
    actor = current_actor()
    if await perform(users.set_language, language, by=actor) is FAILED:
        return
    app.storage.user['language'] = language
    app.storage.client['actor'] = Actor(**{**actor.__dict__, 'language': language})
    ui.navigate.reload()


async def _check_session_alive() -> None:
    if not await fetch(auth.is_alive, current_actor()):  # a cancelled check stops here: it says nothing
        ui.notify(t('Your session has ended; please sign in again'), type='warning')
        ui.navigate.to(session_cookie.SIGNED_OUT_PATH)
