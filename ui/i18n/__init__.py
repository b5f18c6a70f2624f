"""Every visible string goes through `t()`: English text is the key, catalogues translate it.

`en` is complete by construction; ru, es, fr and de hold what has been translated so far and fall
back to English for the rest. A user's preferred language is kept in their account and copied into
the browser's storage at login.
"""

import logging
from contextlib import suppress

from nicegui import app

from . import de, es, fr, ru

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {'en': 'English', 'ru': 'Русский', 'es': 'Español', 'fr': 'Français', 'de': 'Deutsch'}
CATALOGUES: dict[str, dict[str, str]] = {
    'en': {},
    'ru': ru.MESSAGES,
    'es': es.MESSAGES,
    'fr': fr.MESSAGES,
    'de': de.MESSAGES,
}
DEFAULT = 'en'


def current_language() -> str:
    """The language of the browser being served (English outside a page)."""
    with suppress(RuntimeError, AssertionError, KeyError):
        return str(app.storage.user.get('language', DEFAULT))
    return DEFAULT


def t(text: str, /, language: str | None = None, **values: object) -> str:
    """The text in the current (or given) language, with {placeholders} filled in."""
    translated = CATALOGUES.get(language or current_language(), {}).get(text, text)
    return translated.format(**values) if values else translated
