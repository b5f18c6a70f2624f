"""Every visible string goes through `t()`: the English text is the gettext message id, locale/ translates it.

A reader's language is their account's; before sign-in (or for an account without one) the browser's
Accept-Language picks the best of the five, else the clinic's PACS_LANGUAGE. Domain errors arrive as a
message id with values (`DomainError.message`, `.params`) and are translated here, at the edge, by
`error_text()`. Dates, times and weekday names come from Babel in the same language.
"""

import logging
import re
from contextlib import suppress
from datetime import date, datetime, time, tzinfo
from functools import cache, lru_cache

from babel import Locale, UnknownLocaleError, dates
from babel.messages.pofile import read_po
from nicegui import app, context

from domain.errors import DomainError, Message

from .catalogue import LANGUAGES, TEMPLATE, translations

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {'en': 'English', 'ru': 'Русский', 'es': 'Español', 'fr': 'Français', 'de': 'Deutsch'}
DEFAULT = 'en'
_clinic_language = DEFAULT  # PACS_LANGUAGE, set once at start-up


def language_choices() -> dict[str, str]:
    """What an account may choose: follow the browser ('') or one of the five languages."""
    return {'': t('As the browser says'), **LANGUAGE_NAMES}


def set_clinic_language(language: str) -> None:
    """The language when neither the account nor the browser names one (PACS_LANGUAGE)."""
    global _clinic_language
    _clinic_language = language if language in LANGUAGES else DEFAULT


def current_language() -> str:
    """The language of the reader being served: account, else browser, else the clinic's."""
    chosen = None
    with suppress(RuntimeError, AssertionError, KeyError):
        chosen = app.storage.user.get('language')
    return choose_language(chosen, _accept_language())


def choose_language(account: str | None, accept_language: str | None) -> str:
    """The account's language, else the best match of the browser's Accept-Language, else PACS_LANGUAGE."""
    if account in LANGUAGES:
        return str(account)
    return _best_match(accept_language or '') or _clinic_language


def t(text: str, /, language: str | None = None, **values: object) -> str:
    """The text in the current (or given) language, with {placeholders} filled in."""
    if isinstance(text, Message):  # a form problem marked in domain with N_(): it carries its values
        values = {**text.params, **values}
        text = text.msgid
    if not text:  # gettext's '' is the catalogue's header, never a text to show
        return ''
    translated = translations(language or current_language()).gettext(text)
    return _fill(translated, text, values) if values else translated


def tn(singular: str, plural: str, count: int, /, language: str | None = None, **values: object) -> str:
    """A text that shows a count, in the plural form the language needs for it; {count} is filled in too."""
    translated = translations(language or current_language()).ngettext(singular, plural, count)
    return _fill(translated, singular if count == 1 else plural, {'count': count, **values})


def error_text(error: DomainError, language: str | None = None) -> str:
    """A domain refusal in the reader's language (the domain raised an English message id and its values)."""
    if not error.message:
        return t('The request was refused', language=language)
    return t(error.message, language=language, **error.params)


def job_error_text(stored: str, language: str | None = None) -> str:
    """A failed job's recorded error ('Kind: English message') in the reader's language, when it is a known message."""
    kind, _, english = stored.partition(': ')
    for msgid, pattern in _patterns().items():
        if match := pattern.fullmatch(english):
            return f'{kind}: {t(msgid, language=language, **match.groupdict())}'
    return stored


# ---------------------------------------------------------------- dates and times


def format_date(value: date | datetime, style: str = 'medium', *, language: str | None = None) -> str:
    """A date as the reader's language writes it ('short', 'medium', 'long', 'full' or a Babel pattern)."""
    day = value.date() if isinstance(value, datetime) else value
    return dates.format_date(day, style, locale=_locale(language))


def format_time(
    value: time | datetime, style: str = 'short', *, zone: tzinfo | None = None, language: str | None = None
) -> str:
    """A time of day in the reader's language; an aware datetime is shown in `zone` (the clinic's, by default)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(zone).time()
    return dates.format_time(value, style, locale=_locale(language))


def format_datetime(
    value: datetime, style: str = 'short', *, zone: tzinfo | None = None, language: str | None = None
) -> str:
    """A date and time in the reader's language; an aware datetime is shown in `zone` (the clinic's, by default)."""
    if value.tzinfo is not None:
        value = value.astimezone(zone).replace(tzinfo=None)
    return dates.format_datetime(value, style, locale=_locale(language))


def format_day(value: date, *, language: str | None = None) -> str:
    """A day with its weekday, as a schedule heads it ('Tuesday, 1 December 2026')."""
    return dates.format_date(value, 'full', locale=_locale(language))


# ---------------------------------------------------------------- helpers


def _fill(translated: str, english: str, values: dict[str, object]) -> str:
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation with a mistyped placeholder: show the English
        log.warning('translation of %r has placeholders the text does not', english)
        return english.format(**values)


def _locale(language: str | None) -> Locale:
    return _babel_locale(language or current_language())


@cache
def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def _accept_language() -> str | None:
    """The Accept-Language header of the page being served (None outside a page)."""
    with suppress(RuntimeError, AttributeError, AssertionError):
        return context.client.request.headers.get('accept-language')
    return None


@lru_cache(maxsize=256)
def _best_match(header: str) -> str | None:
    """The first of our languages the browser accepts, by its q-values ('de-CH,de;q=0.9,en;q=0.8' -> 'de')."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(',')):
        tag, _, params = part.strip().partition(';')
        quality = 1.0
        if params.strip().startswith('q='):
            with suppress(ValueError):
                quality = float(params.strip()[2:])
        language = tag.strip().lower().replace('_', '-').split('-')[0]
        if language in LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    """A regular expression per message id with placeholders, to recognise the English text it became."""
    found: dict[str, re.Pattern[str]] = {}
    if not TEMPLATE.is_file():
        return found
    with TEMPLATE.open('rb') as file:
        template = read_po(file)
    for message in template:
        if isinstance(message.id, str) and message.id:
            parts = re.split(r'\{(\w+)\}', message.id)
            if len(parts) == 1:
                found[message.id] = re.compile(re.escape(message.id))
                continue
            names = parts[1::2]
            if len(set(names)) != len(names):
                continue
            pattern = ''.join(re.escape(p) if i % 2 == 0 else f'(?P<{p}>.+?)' for i, p in enumerate(parts))
            found[message.id] = re.compile(pattern)
    return found
