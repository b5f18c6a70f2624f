"""The session cookie: where a signed-in browser keeps its token (HttpOnly, SameSite=Lax, Secure over HTTPS).

NiceGUI's own storage is tied to a browser id that exists before sign-in, so the token never goes there: the
cookie is set only by /auth/session, after the login screen handed the browser a one-time ticket, and cleared by
/auth/signed-out. Nothing of it is written to disk.
"""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app

from domain import access, auth

from . import threads
from .edge_security import cookie_secure
from .redirects import local_target

COOKIE = 'pacs_session'
SESSION_PATH = '/auth/session'
SIGNED_OUT_PATH = '/auth/signed-out'


def token_of(request: Request) -> str | None:
    """The session token the browser sent, if any."""
    return request.cookies.get(COOKIE) or None


def ticket_url(ticket: str, target: str) -> str:
    """Where the login screen sends the browser to trade its ticket for the cookie."""
    return f'{SESSION_PATH}?ticket={quote(ticket, safe="")}&next={quote(target, safe="")}'


def browser_id(request: Request) -> str:
    """NiceGUI's id of the browser (the ticket is bound to it, so no other browser can trade it)."""
    return str(request.session.get('id', ''))


def register() -> None:
    assert access.ROUTES[SESSION_PATH] == access.PUBLIC and access.ROUTES[SIGNED_OUT_PATH] == access.PUBLIC

    @app.get(SESSION_PATH, include_in_schema=False)
    async def trade_ticket(request: Request, ticket: str = '', next: str = '') -> RedirectResponse:
        browser = browser_id(request)  # NiceGUI gives every browser one before the login page: none, no trade
        redeemed = await threads.io(auth.redeem, ticket, browser=browser) if browser else None
        if redeemed is None:
            return RedirectResponse(f'/login?next={quote(local_target(next), safe="")}', status_code=303)
        home = '/kiosk' if redeemed.actor.kiosk else access.HOME.get(redeemed.actor.role, '/')
        response = RedirectResponse(local_target(next) or home, status_code=303)
        response.set_cookie(
            COOKIE,
            redeemed.token,
            httponly=True,
            samesite='lax',
            secure=cookie_secure(request),
            path='/',
        )
        return response

    @app.get(SIGNED_OUT_PATH, include_in_schema=False)
    async def signed_out(request: Request) -> RedirectResponse:
        response = RedirectResponse('/login', status_code=303)
        response.delete_cookie(COOKIE, path='/', httponly=True, samesite='lax', secure=cookie_secure(request))
        return response
