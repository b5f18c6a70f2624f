"""bench/uiload.py's load generator: simulated staff who sign in and work through the screens with think time.

Runs in a process of its own (`run` is a multiprocessing target), so its CPU is not the server's. Each session
signs in on the real login page, then repeats: think (uniform in `think`), pick an action of its role's mix, and
time it as the user feels it. Every action is written as one JSON line: action, start (epoch s), ms, error.
An action is never the screen already shown: its menu entry moves nowhere (the browser stays on the screen, which
is live), so a person looking at the board does not open it again; the mix's other actions are drawn instead.
"""

import asyncio
import json
import random
import re
import resource
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.uiload_client import Browser, Failed, Page, element_text

# The actions a role does and how often; 'search' and 'patient page' start from the patients list when open.
MIX = {
    'receptionist': {'board': 30, 'patients list': 20, 'search': 30, 'patient page': 20},
    'radiologist': {'reading worklist': 40, 'patient page': 20, 'search': 15, 'patients list': 10, 'board': 15},
}
HOME = {'receptionist': '/board', 'radiologist': '/reading'}
PATHS = {'board': '/board', 'patients list': '/patients', 'reading worklist': '/reading'}
PATIENT_ID = re.compile(r'\bP\d{7}\b')  # a patient row shows the Patient ID (menu entries are items too)
LEARN_S = 4.0  # on a quiet server, a page has settled this long after its socket connected


def run(plan: dict[str, Any], sessions: list[int], out: str) -> None:
    """Entry of a load-generator process: run these sessions until the plan's end, then write the records."""
    records: list[dict[str, Any]] = []
    try:
        asyncio.run(_sessions(plan, sessions, records))
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with Path(out).open('w') as file:
            for record in records:
                file.write(json.dumps(record) + '\n')
            file.write(json.dumps({'generator_cpu_s': usage.ru_utime + usage.ru_stime}) + '\n')


def role_of(n: int) -> str:
    """Session n's role: two in five are radiologists, the others reception."""
    return 'radiologist' if n % 5 in (1, 3) else 'receptionist'


async def learn(plan: dict[str, Any]) -> dict[str, int]:
    """How many refreshable parts of each page have content once it has settled on a quiet server (the parts an
    action waits for); also warms the server up."""
    expects = dict.fromkeys((*PATHS, 'patient page'), 0)
    for role, mix in MIX.items():
        browser = Browser(plan['url'])
        try:
            await sign_in(browser, plan, role, 0, expects)
            paths = [(name, path) for name, path in PATHS.items() if name in mix]
            paths.append(('patient page', f'/patients/{plan["patients_with_studies"][0]}'))
            for name, path in paths:
                page = await browser.open(path)
                most, until = max(page.initial, page.filled()), time.monotonic() + LEARN_S
                while time.monotonic() < until:  # the most parts it ever shows (one cleared to rebuild has none)
                    await asyncio.sleep(0.05)
                    most = max(most, page.filled())
                expects[name] = most
        finally:
            await browser.close()
    return expects


async def sign_in(browser: Browser, plan: dict[str, Any], role: str, n: int, expects: dict[str, int]) -> float:
    """The login page, username and password typed, the button clicked, until the home screen is there (s)."""
    page = await browser.open('/login')
    user = page.find(lambda e: e.get('props', {}).get('autocomplete') == 'username')
    password = page.find(lambda e: e.get('props', {}).get('autocomplete') == 'current-password')
    button = page.find(lambda e: e.get('tag') == 'q-btn' and element_text(e) == 'Sign in')
    if not (user and password and button):
        raise Failed('the login page has no username, password or Sign in button')
    accounts = plan['accounts'][role]
    await browser.send(user[0], 'update:value', accounts[n % len(accounts)])
    await browser.send(password[0], 'update:value', plan['password'])
    started = time.perf_counter()
    since = await browser.send(button[0], 'click')
    message = await browser.next_message('open', since=since)
    home = HOME[role]
    landed = await browser.open(message.body['path'], settle=expects.get(_name_of(home), 0))
    if landed.path != home:
        raise Failed(f'signed in, but landed on {landed.path} instead of {home}')
    return time.perf_counter() - started


async def _sessions(plan: dict[str, Any], sessions: list[int], records: list[dict[str, Any]]) -> None:
    until = plan['start'] + plan['ramp'] + plan['seconds']
    await asyncio.gather(*(_session(plan, n, until, records) for n in sessions))


async def _session(plan: dict[str, Any], n: int, until: float, records: list[dict[str, Any]]) -> None:
    rng = random.Random(n)
    role = role_of(n)
    expects = plan['expects']
    low, high = plan['think']
    await asyncio.sleep(max(0.0, plan['start'] + rng.uniform(0, plan['ramp']) - time.time()))
    browser = Browser(plan['url'])
    try:
        signed_in = False
        while time.time() < until:
            if not signed_in:
                signed_in = await _timed(records, 'sign-in', lambda: sign_in(browser, plan, role, n, expects))
            else:
                action, call = _action(browser, plan, rng, _pick(rng, role, browser.page))
                await _timed(records, action, call)
            await asyncio.sleep(rng.uniform(low, high))
    finally:
        await browser.close()


def _pick(rng: random.Random, role: str, page: Page | None) -> str:
    """An action of the role's mix other than opening the screen shown."""
    shown = page.path if page is not None else None
    mix = {action: weight for action, weight in MIX[role].items() if PATHS.get(action) != shown}
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _action(
    browser: Browser, plan: dict[str, Any], rng: random.Random, action: str
) -> tuple[str, Callable[[], Awaitable[Any]]]:
    """What doing `action` means from where the browser is now (a search needs the patients list open first)."""
    expects = plan['expects']
    page = browser.page
    on_list = page is not None and page.path == '/patients'
    if action in PATHS or (action == 'search' and not on_list):
        name = action if action in PATHS else 'patients list'
        return name, lambda: browser.go(PATHS[name], settle=expects[name])
    if action == 'search':
        assert page is not None
        term = _new_term(plan['search_terms'], rng, browser.last_search)
        browser.last_search = term
        return action, lambda: _search(browser, page, term)
    rows = [key for key in page.find(_clickable) if PATIENT_ID.search(page.text_of(key))] if on_list and page else []
    if rows:
        row = rng.choice(rows)
        return action, lambda: _click_through(browser, row, expects['patient page'])
    patient = rng.choice(plan['patients_with_studies'])
    return action, lambda: browser.go(f'/patients/{patient}', settle=expects['patient page'])


def _new_term(terms: list[str], rng: random.Random, last: str) -> str:
    """A search unlike the last one (no word starts alike), so that its results differ and are redrawn: the list
    sends nothing when they are the same, and the bench could not tell when the search was done."""
    before = {word[:4].lower() for word in last.split()}
    for _ in range(50):
        term = rng.choice(terms)
        if not before & {word[:4].lower() for word in term.split()}:
            return term
    return term


async def _search(browser: Browser, page: Page, term: str) -> None:
    """Type a search (the final value, as the input's debounce sends it) until the results are redrawn."""
    box = page.find(lambda e: e.get('tag') == 'nicegui-input' and element_text(e).startswith('Search'))
    if not box:
        raise Failed('the patients list has no search box')
    since = await browser.send(box[0], 'update:value', term)
    await browser.next_message(
        'update', since=since, test=lambda m: isinstance(m.body, dict) and set(m.body) != {box[0]}
    )


async def _click_through(browser: Browser, row: str, settle: int) -> None:
    since = await browser.send(row, 'click')
    await browser.follow(since, settle=settle)


def _clickable(element: dict) -> bool:
    return element.get('tag') == 'q-item' and any(e['type'] == 'click' for e in element.get('events', []))


def _name_of(path: str) -> str:
    return next(name for name, known in PATHS.items() if known == path)


async def _timed(records: list[dict[str, Any]], action: str, call: Callable[[], Awaitable[Any]]) -> bool:
    started, clock = time.time(), time.perf_counter()
    error = ''
    try:
        await call()
    except Failed as failed:
        error = str(failed)
    except Exception as failed:  # whatever broke, the session goes on, as a person would retry
        error = f'{type(failed).__name__}: {failed}'
    records.append({'action': action, 'start': started, 'ms': (time.perf_counter() - clock) * 1000, 'error': error})
    return not error
