"""A browser as NiceGUI 3 sees it, without the browser: bench/uiload.py's simulated member of staff.

It speaks what NiceGUI's static/nicegui.js speaks: GET a page, read its elements and client id from the HTML,
open the page's socket.io connection (implicit handshake: client id, tab id and document id in the query), send
element events ('event' with the element id, the listener id and JSON-encoded arguments, as stringifyEventArgs
does), follow 'open' messages to the next page, answer 'run_javascript' requests, and acknowledge received
messages every 3 s as the browser does (the server prunes its message history on these).
"""

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import socketio

ELEMENTS = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")
NEXT_MESSAGE_ID = re.compile(r"'next_message_id': (\d+)")
UNESCAPE = (('&#36;', '$'), ('&#96;', '`'), ('&gt;', '>'), ('&lt;', '<'), ('&amp;', '&'))  # parseElements' order
PUSHED = re.compile(r'history\.pushState\(\{page: ("(?:[^"\\\\]|\\\\.)*")\}')
ACK_S = 3.0
TIMEOUT_S = 30.0


class Failed(Exception):
    """What a user would call broken: an error page, a lost session, no answer in time."""


@dataclass
class Page:
    """One loaded page: its path, client id and elements (kept up to date from 'update' messages)."""

    path: str
    client_id: str
    next_message_id: int
    elements: dict[str, dict] = field(default_factory=dict)
    initial: int = 0  # refreshable parts with content in the HTML

    def find(self, test: Callable[[dict], bool]) -> list[str]:
        """The ids of the elements that pass `test`, in page order."""
        return [key for key, element in self.elements.items() if element and test(element)]

    def filled(self) -> int:
        """How many refreshable parts of the page have content (one cleared for a rebuild has none)."""
        return sum(
            1 for e in self.elements.values() if e and e.get('tag') == 'nicegui-refreshable' and e.get('children')
        )

    def text_of(self, key: str) -> str:
        """Everything an element and its children show (texts, labels, HTML content)."""
        element = self.elements.get(str(key)) or {}
        props = element.get('props', {})
        own = [str(element.get('text') or ''), str(props.get('label') or ''), str(props.get('innerHTML') or '')]
        return ' '.join([*own, *(self.text_of(child) for child in element.get('children', []))])

    def listener(self, key: str, kind: str) -> dict:
        """An element's event listener of this type ('click', 'update:value', …)."""
        for listener in self.elements[key].get('events', []):
            if listener['type'] == kind:
                return listener
        raise Failed(f'element {key} on {self.path} has no {kind} listener')


@dataclass
class Message:
    kind: str
    body: Any
    at: float


class Browser:
    """One browser tab with its cookies; one page (and socket) at a time."""

    def __init__(self, base_url: str, *, language: str = 'en') -> None:
        self.base_url = base_url
        # A new connection per request: a kept-alive one that the server closes when idle (uvicorn: after 5 s, about
        # a think time) can meet the next GET on its way and fail it, which a browser would send again unseen.
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={'Accept-Language': language},
            timeout=TIMEOUT_S,
            follow_redirects=True,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.tab_id = str(uuid.uuid4())
        self.last_search = ''
        self.page: Page | None = None
        self.socket: socketio.AsyncClient | None = None
        self.messages: list[Message] = []
        self.arrived = asyncio.Event()
        self.next_id = self.acked = 0
        self.acker: asyncio.Task | None = None

    async def open(self, path: str, *, settle: int = 0) -> Page:
        """Load a page as a browser does: GET it (following redirects) and connect its socket, then wait until
        `settle` refreshable parts have content (what an async page builds after its HTML is sent comes as
        updates over the socket)."""
        response = await self.http.get(path)
        if response.status_code != 200:  # named by where the redirects ended (the ticket's /auth/session: home)
            raise Failed(f'GET {response.url.path}: {response.status_code}')
        page = self.read(response)
        if page.path.startswith('/login') and not path.startswith('/login'):
            raise Failed(f'GET {path}: sent to the login page (session lost)')
        await self.connect(page)
        if page.initial < settle and page.filled() < settle:  # (an HTML with it all may rebuild once connected)
            await self.next_message('update', since=0, test=lambda _: page.filled() >= settle)
        return page

    def read(self, response: httpx.Response) -> Page:
        """The page in a GET's answer."""
        elements, client_id = page_elements(response.text), CLIENT_ID.search(response.text)
        if elements is None or client_id is None:
            raise Failed(f'GET {response.url.path}: not a NiceGUI page')
        next_id = NEXT_MESSAGE_ID.search(response.text)
        page = Page(response.url.path, client_id.group(1), int(next_id.group(1)) if next_id else 0, elements)
        page.initial = page.filled()
        return page

    async def connect(self, page: Page) -> None:
        """Leave the current page (its socket closes) and connect the new one's, as nicegui.js's createApp does."""
        await self.leave()
        self.page, self.messages = page, []
        self.next_id = self.acked = page.next_message_id
        socket = socketio.AsyncClient(reconnection=False)
        for kind in ('update', 'open', 'notify', 'run_javascript', 'load_js_components', 'download', 'try_reconnect'):
            socket.on(kind, self._receiver(kind))
        query = {
            'client_id': page.client_id,
            'next_message_id': page.next_message_id,
            'implicit_handshake': 'true',
            'document_id': str(uuid.uuid4()),
            'tab_id': self.tab_id,
        }
        cookies = '; '.join(f'{name}={value}' for name, value in self.http.cookies.items())
        try:
            await socket.connect(
                f'{self.base_url}?{urlencode(query)}',
                socketio_path='/_nicegui_ws/socket.io',
                transports=['websocket'],
                headers={'Cookie': cookies} if cookies else {},
                wait_timeout=TIMEOUT_S,
            )
        except (socketio.exceptions.ConnectionError, OSError) as error:
            raise Failed(f'socket of {page.path}: {error}') from error
        self.socket = socket
        self.acker = asyncio.create_task(self._acknowledge())

    async def leave(self) -> None:
        """Close the current page's socket (the browser navigates away)."""
        if self.acker is not None:
            self.acker.cancel()
            self.acker = None
        if self.socket is not None:
            socket, self.socket = self.socket, None
            await socket.disconnect()

    async def close(self) -> None:
        await self.leave()
        await self.http.aclose()

    async def send(self, key: str, kind: str, *args: Any) -> int:
        """Send an element's event as the browser does; answers the index of the next message (to wait from)."""
        assert self.page is not None
        if self.socket is None or not self.socket.connected:
            raise Failed(f'the socket of {self.page.path} was closed by the server')
        listener = self.page.listener(key, kind)
        wanted = listener.get('args')
        sent = [json.dumps(arg) for i, arg in enumerate(args) if wanted is None or i < len(wanted)]
        mark = len(self.messages)
        await self.socket.emit(
            'event',
            {'id': int(key), 'client_id': self.page.client_id, 'listener_id': listener['listener_id'], 'args': sent},
        )
        return mark

    async def next_message(
        self, *kinds: str, since: int, test: Callable[[Message], bool] = lambda _: True, timeout: float = TIMEOUT_S
    ) -> Message:
        """The first message of one of these kinds from index `since` on that passes `test`."""
        until = time.monotonic() + timeout
        seen = since
        while True:
            for message in self.messages[seen:]:
                if message.kind in kinds and test(message):
                    return message
                if message.kind == 'notify' and _is_negative(message.body):
                    raise Failed(f'notice on {self.page.path if self.page else "?"}: {message.body.get("message")}')
            seen = len(self.messages)
            left = until - time.monotonic()
            if left <= 0:
                raise Failed(f'no {"/".join(kinds)} on {self.page.path if self.page else "?"} within {timeout:.0f} s')
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                continue

    async def follow(self, since: int, *, settle: int = 0, path: str | None = None) -> Page:
        """After a click that leads to another screen (`path` when known): follow a page load ('open') or a move
        within the page (the tab's title changes once the next screen is there)."""
        message = await self.next_message('open', 'run_javascript', since=since, test=_not_a_move_yet)
        if message.kind == 'open':
            return await self.open(message.body['path'], settle=settle)
        return await self._moved(since, settle=settle, path=path)

    async def go(self, path: str, *, settle: int = 0) -> Page:
        """Go to a screen as a browser does: on an open page with NiceGUI's ui.sub_pages, a click on a link is that
        page's 'sub_pages_navigate' event (sub_pages.js) and the server builds the screen in place; a page without
        them is left for a new one (GET), and so is the screen already shown (a reload)."""
        page = self.page
        if page is None or self.socket is None or not self.moves_within(page) or path == page.path:
            return await self.open(path, settle=settle)  # (the screen shown: a move does nothing; a reload)
        since = await self.send('0', 'sub_pages_navigate', path)
        return await self.follow(since, settle=settle, path=path)

    @staticmethod
    def moves_within(page: Page) -> bool:
        listeners = page.elements.get('0', {}).get('events', [])
        return any(listener['type'] == 'sub_pages_navigate' for listener in listeners)

    async def _moved(self, since: int, *, settle: int, path: str | None = None) -> Page:
        """After the tab's title changed for a move: wait for `settle` refreshable parts with content, as open()."""
        page = self.page
        assert page is not None
        if path is None:  # where a click led: the history entry the move pushed
            pushed = await self.next_message('run_javascript', since=since, test=lambda m: bool(_pushed(m)))
            path = _pushed(pushed)
        page.path = path.split('?')[0]
        if page.filled() < settle:
            await self.next_message('update', since=since, test=lambda _: page.filled() >= settle)
        return page

    def _receiver(self, kind: str) -> Callable[..., Any]:
        async def receive(*args: Any) -> None:
            body = args[0] if args else None
            if isinstance(body, dict) and '_id' in body:
                self.next_id = body.pop('_id') + 1
            if kind == 'update' and self.page is not None and isinstance(body, dict):
                for key, element in body.items():
                    if element is None:
                        self.page.elements.pop(key, None)
                    else:
                        self.page.elements[key] = element
            if kind == 'run_javascript' and isinstance(body, dict) and body.get('request_id') and self.socket:
                client_id = self.page.client_id if self.page else ''
                await self.socket.emit(
                    'javascript_response', {'request_id': body['request_id'], 'client_id': client_id, 'result': None}
                )
            self.messages.append(Message(kind, body, time.perf_counter()))
            self.arrived.set()

        return receive

    async def _acknowledge(self) -> None:
        while True:
            await asyncio.sleep(ACK_S)
            if self.socket is not None and self.page is not None and self.next_id > self.acked:
                await self.socket.emit('ack', {'client_id': self.page.client_id, 'next_message_id': self.next_id})
                self.acked = self.next_id


def page_elements(html: str) -> dict[str, dict] | None:
    """The elements a NiceGUI page's HTML carries (its parseElements argument, unescaped as nicegui.js does), or
    None when the HTML is not a NiceGUI page."""
    found = ELEMENTS.search(html)
    if found is None:
        return None
    raw = found.group(1)
    for escaped, plain in UNESCAPE:
        raw = raw.replace(escaped, plain)
    return json.loads(raw)


def _not_a_move_yet(message: Message) -> bool:
    """Skip what a move sends before its screen is there: the history entry (pushState) comes first."""
    return message.kind != 'run_javascript' or 'document.title' in str(message.body.get('code', ''))


def _pushed(message: Message) -> str:
    """The path a move's pushState message names ('' when it is another script)."""
    found = PUSHED.search(str(message.body.get('code', '')))
    return json.loads(found.group(1)) if found else ''


def _is_negative(body: Any) -> bool:
    return isinstance(body, dict) and body.get('type') in ('negative', 'warning')


def element_text(element: dict) -> str:
    """What an element shows: its text or its label."""
    return str(element.get('text') or element.get('props', {}).get('label') or '')
