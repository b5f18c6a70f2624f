"""The frame every screen shares: the role check, the redirect to /login, the header and the menu.

`screen()` is `ui.page` plus the role check from domain.access.SCREENS (no auth middleware): a path
without a row there cannot be registered at all. Nothing here is built at import time.

A framed page holds every framed screen as a sub page (NiceGUI's `ui.sub_pages`): a click on a link to another
screen, or `ui.navigate.to`, builds that screen in the open page (a "move") instead of loading a new one; the
frame stays, and each move checks the session and the role again. Screens subscribe to live events through
ui/live.py (which drops a screen's subscriptions once it is left) and ask `on_leave` for what must happen then.
"""

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from html import escape
from typing import Any, ParamSpec, TypeVar, get_args
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Client, PageArguments, app, background_tasks, ui

from domain import access, audit, auth, centres, users
from domain.access import Actor
from domain.errors import DomainError, SessionExpired

from . import centre_notices, live, session_cookie, threads
from .i18n import choose_language, error_text, language_choices, t

log = logging.getLogger(__name__)

SESSION_CHECK_S = 30.0
# How long a page may take to build before NiceGUI gives up with an error page (its default is 3 s): on an
# overloaded server a page that arrives late is better than a "500" (bench/uiload.py at 100 sessions).
PAGE_BUILD_TIMEOUT_S = 30.0
P = ParamSpec('P')
R = TypeVar('R')
FAILED: Any = object()  # what perform() returns when it showed the problem to the user
# A menu entry is a move within the page (ui.sub_pages), not a page load: a drawer open over the screen (a tablet)
# closes by itself, in the browser; one open beside it stays.
CLOSE_OVER_SCREEN = (
    "(e) => { if (e.target.closest('a') && e.target.closest('.q-drawer--mobile')) runMethod(%d, 'hide', []); }"
)
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


@dataclass(frozen=True)
class _Screen:
    """A registered screen: what screen() was told, and the build's parameters (path and query)."""

    path: str
    title: str
    allowed: frozenset[str]
    build: Callable[..., Awaitable[None]]
    params: tuple[inspect.Parameter, ...]


# The framed screens, in registration order: every framed page holds them all as sub pages, so a move between
# screens (a menu entry, a row, a button) builds the next screen in place instead of loading a whole new page.
_framed: dict[str, _Screen] = {}


def screen(path: str, *, title: str, frame: bool = True) -> Callable[[Callable[..., Awaitable[None]]], Callable]:
    """Register a page at `path` for the roles domain.access.SCREENS allows there.

    A framed screen is also a sub page of every framed page (NiceGUI's ui.sub_pages): the browser moves between
    them over its open connection, and the frame (header, menu, session check) is built once per tab. Each move
    checks the session and the role again, as a page load does.
    """
    if path not in access.SCREENS:
        raise KeyError(f'screen {path} has no row in domain.access.SCREENS')

    def decorate(build: Callable[..., Awaitable[None]]) -> Callable:
        params = tuple(p for p in inspect.signature(build).parameters.values() if p.name != 'request')
        spec = _Screen(path, title, frozenset(access.SCREENS[path]), build, params)
        if frame:
            _framed[path] = spec

        @wraps(build)
        async def page(request: Request, **kwargs: Any) -> Any:
            address = client_address(request)
            actor = await threads.io(auth.resume, session_cookie.token_of(request), address=address)
            if actor is None:
                target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
                return RedirectResponse(f'/login?next={quote(target, safe="")}')
            if actor.kiosk and path != '/kiosk':  # a waiting-room tablet's session opens nothing else
                return RedirectResponse('/kiosk')
            auth.vouch(actor)  # just checked: the screen's build need not check it again
            app.storage.client['actor'] = actor
            centres.set_scope(actor.centres)  # the frame's centre notices too
            if app.storage.user.get('language') != actor.language:  # stored to disk: written only when it changes
                app.storage.user['language'] = actor.language
            _watch_leaving(ui.context.client)
            if not frame:
                await _show(spec, actor, kwargs)
                return None
            _frame(actor)
            # The sub pages' own first build is skipped (_route): this screen is built here, awaited, so that the
            # page's first answer already holds it.
            moves = ui.sub_pages({known: _route(screen) for known, screen in _framed.items()}, show_404=False)
            with moves.classes('w-full'):
                await _show(spec, actor, kwargs)
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


def framed_titles() -> dict[str, str]:
    """The framed screens' paths and titles (in the clinic's language), in registration order."""
    return {path: t(spec.title) for path, spec in _framed.items()}


def on_leave(callback: Callable[[], Awaitable[None]], *, disconnected: bool = False) -> None:
    """Call `callback` when the browser moves from this screen to another; with `disconnected`, also as its tab
    closes or loses its connection (again at each loss, as long as the screen is open)."""
    app.storage.client.setdefault('leaving', []).append((callback, disconnected))


def once_per_page(key: str) -> bool:
    """True the first time a screen asks with this key in this page (its stylesheet, a page-wide listener), False
    after: the page stays while the browser moves between screens, and a screen may be moved to again."""
    done = app.storage.client.setdefault('once', set())
    if key in done:
        return False
    done.add(key)
    return True


def add_css_once(css: str) -> None:
    """A screen's stylesheet, added to the page once however often the screen is moved to in it."""
    if once_per_page(css):
        ui.add_css(css)


def _watch_leaving(client: Client) -> None:
    storage = app.storage.client

    def leave(*, moved: bool) -> None:
        for callback, disconnected in storage.get('leaving', []):
            if moved or disconnected:
                background_tasks.create(callback(), name='leaving a screen', context=client)
        if moved:
            storage['leaving'] = []

    client.sub_pages_router.on_path_changed(lambda _path: leave(moved=True))
    client.on_disconnect(lambda: leave(moved=False))


def _route(spec: _Screen) -> Callable[[PageArguments], Awaitable[None] | None]:
    """The sub page builder of a framed screen: a move to it within an open page."""

    def route(arguments: PageArguments) -> Awaitable[None] | None:
        if arguments.frame.client.sub_pages_router.is_initial_request:
            return None  # the page itself builds the screen it was loaded for (see screen())
        if arguments.remaining_path:  # only a start of the address ('/' of '/login'): the browser loads it instead
            return None
        return _move(spec, arguments)

    return route


async def _move(spec: _Screen, arguments: PageArguments) -> None:
    actor = current_actor()
    if not await fetch(auth.is_alive, actor, touch=True):  # a move is the staff member at work: it counts as seen
        _session_ended()
        return
    auth.vouch(actor)  # the build's own service calls need not check it again
    try:
        kwargs = _arguments(spec, {**arguments.query_parameters, **arguments.path_parameters})
    except ValueError:
        log.info('screen %s: a move with unreadable parameters', spec.path)
        ui.label(t('Not Found')).classes('text-h6 q-pa-md').mark('bad-address')
        return
    await _show(spec, actor, kwargs)


def _arguments(spec: _Screen, given: Mapping[str, str]) -> dict[str, Any]:
    """The build's arguments from a moved-to address's path and query (as FastAPI reads them for a page load)."""
    kwargs: dict[str, Any] = {}
    for param in spec.params:
        if param.name in given:
            kwargs[param.name] = _convert(given[param.name], param.annotation)
    return kwargs


def _convert(value: str, annotation: Any) -> Any:
    kind = next((a for a in get_args(annotation) if a is not type(None)), annotation)  # `int | None`: int
    return kind(value) if kind in (int, float) else value


async def _show(spec: _Screen, actor: Actor, kwargs: dict[str, Any]) -> None:
    """Title the page and build the screen in it, or say the actor's role may not open it."""
    centres.set_scope(actor.centres)
    allowed = actor.role in spec.allowed
    heading = app.storage.client.get('title')
    if heading is not None:
        heading.content = _title_html(t(spec.title) if allowed else t('Not allowed'))
    if not allowed:
        await threads.io(audit.record_refusal, actor, 'screen.denied', object_type='screen', object_id=spec.path)
        log.warning('screen %s refused for user %s (%s)', spec.path, actor.user_id, actor.role)
        with ui.column().classes('w-full items-center q-pa-xl'):
            ui.icon('block', size='xl', color='negative')
            ui.label(t('Your role may not open this screen')).classes('text-h6').mark('not-allowed')
            ui.link(t('Back to your home screen'), access.HOME.get(actor.role, '/'))
    else:
        with ui.column().classes('w-full q-pa-md gap-4 max-w-screen-2xl mx-auto') as root:
            live.screen_built_in(root)
            await spec.build(**kwargs)  # only the build's own: the page's signature, or _arguments
    # last: on a move within the page the browser's title changes once the screen is there (bench/uiload.py)
    ui.page_title(f'{t(spec.title)} · ClinicPACS')


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


def _frame(actor: Actor) -> None:
    items = menu_for(actor.role)
    # Open beside the page on a wide screen, closed over it on a tablet: Quasar decides from the width it has,
    # without the round trip NiceGUI's value=None makes (which fails when the browser leaves first).
    drawer = ui.left_drawer(value=False).props('show-if-above bordered width=220 breakpoint=900')
    with drawer.classes('bg-white q-pa-none'):
        # One element for the whole menu (plain links with a Quasar item's look): a menu is built on every page
        # view. It carries each entry's marker, so tests still ask whether an entry is there.
        ui.html(''.join(_nav_entry(item) for item in items), sanitize=False, tag='nav').classes(
            'q-list q-list--padding w-full'
        ).mark(' '.join(f'nav-{item.path.strip("/").replace("/", "-") or "home"}' for item in items)).on(
            'click', js_handler=CLOSE_OVER_SCREEN % drawer.id
        )
    with ui.header(elevated=True).classes('items-center q-px-md q-py-xs bg-primary'):
        ui.button(icon='menu', on_click=drawer.toggle).props('flat round color=white').mark('menu-toggle')
        # `col`: it fills the room between the buttons; each screen writes its title in it (_show)
        app.storage.client['title'] = ui.html('', sanitize=False).classes('row items-center no-wrap col')
        app.storage.client['title'].mark('screen-title')
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


def _title_html(title: str) -> str:
    return (
        '<span class="text-h6 text-weight-medium">ClinicPACS</span><span class="opacity-60 q-mx-sm">·</span>'
        f'<span class="text-subtitle1">{escape(title)}</span>'
    )


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
        _session_ended()


def _session_ended() -> None:
    ui.notify(t('Your session has ended; please sign in again'), type='warning')
    ui.navigate.to(session_cookie.SIGNED_OUT_PATH)
