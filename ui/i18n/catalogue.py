"""The gettext catalogues in locale/: read and compiled in memory at run time, extracted and merged by `make messages`.

`locale/messages.pot` holds every message id the code shows; `locale/<language>/LC_MESSAGES/messages.po` its
translations. Nothing is compiled at install time: the first text shown in a language reads its .po file.
"""

import ast
import copy
import gettext
import logging
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from domain.errors import MESSAGE_KEYWORDS

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / 'locale'
TEMPLATE = LOCALE_DIR / 'messages.pot'
LANGUAGES = ('en', 'ru', 'es', 'fr', 'de')
TRANSLATED = ('ru', 'es', 'fr', 'de')  # English is the message id itself
SOURCES = ('ui', 'domain', 'jobs')  # reports/texts.py keeps its own five-language table (tests/test_i18n.py)

# What marks a message: a call's name -> the positions (1-based) or keyword names of its message arguments.
# Two entries are singular and plural (ngettext style).
KEYWORDS: dict[str, tuple[int | str, ...]] = {
    't': (1,),
    'tn': (1, 2),
    'nav': (2,),
    'screen': ('title',),
    '_refuse': (5,),  # domain/appointments.py: the message of a refused move
    **{name: spec or (1,) for name, spec in MESSAGE_KEYWORDS.items()},
}


def po_path(language: str) -> Path:
    """Where a language's catalogue lives."""
    return LOCALE_DIR / language / 'LC_MESSAGES' / 'messages.po'


@cache
def translations(language: str) -> gettext.NullTranslations:
    """A language's translations, compiled in memory from its .po file (untranslated and fuzzy entries left out)."""
    path = po_path(language)
    if language not in TRANSLATED or not path.is_file():
        return gettext.NullTranslations()
    with path.open('rb') as file:
        catalog = read_po(file, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def read(language: str) -> Catalog:
    """A language's catalogue as Babel reads it (for checks and merging)."""
    with po_path(language).open('rb') as file:
        return read_po(file, locale=language)


def extract() -> Catalog:
    """Every message id the code shows, found with Babel's extraction over ui/, domain/ and jobs/."""
    template = Catalog(
        project='ClinicPACS', msgid_bugs_address='', charset='utf-8', creation_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for source in SOURCES:
        found = extract_from_dir(
            ROOT / source,
            method_map=[('**.py', extract_python)],  # type: ignore[list-item]  # Babel also takes a callable
            keywords={'tn': (1, 2)},
            comment_tags=('TRANSLATORS:',),
        )
        for filename, lineno, message, comments, context in found:
            template.add(message, locations=[(f'{source}/{filename}', lineno)], auto_comments=comments, context=context)
    return template


def update() -> None:
    """Write locale/messages.pot from the code and merge it into each language's .po (what `make messages` does)."""
    template = extract()
    LOCALE_DIR.mkdir(exist_ok=True)
    _write(TEMPLATE, template)
    for language in TRANSLATED:
        path = po_path(language)
        if path.is_file():
            catalog = read(language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, project='ClinicPACS', charset='utf-8', fuzzy=False)
        catalog.update(copy.deepcopy(template), update_header_comment=False)  # Babel adopts the template's entries
        _write(path, catalog)
        missing = [m.id for m in catalog if m.id and (m.fuzzy or not complete(m.string))]
        log.info('%s: %d messages, %d to translate', language, len([m for m in catalog if m.id]), len(missing))
    translations.cache_clear()


def extract_python(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: dict[str, Any]
) -> Iterator[tuple[int, str, str | tuple[str, str], list[str]]]:
    """A Babel extraction method that reads Python with `ast`, so keyword arguments (`title=`) are found too."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, 'attr', None)
        spec = KEYWORDS.get(name or '')
        if spec is None:
            continue
        values = [_argument(node, where) for where in spec]
        if len(spec) == 2:
            singular, plural = (_literals(v) for v in values)
            if len(singular) == 1 and len(plural) == 1:
                yield node.lineno, 'tn', (singular[0], plural[0]), []
            continue
        for text in _literals(values[0]):
            yield node.lineno, '', text, []


def _argument(call: ast.Call, where: int | str) -> ast.expr | None:
    if isinstance(where, int):
        return call.args[where - 1] if len(call.args) >= where else None
    return next((k.value for k in call.keywords if k.arg == where), None)


def _literals(value: ast.expr | None) -> list[str]:
    """The message ids an argument can be: a string literal, or either side of `a if c else b`."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
        return [value.value]
    if isinstance(value, ast.IfExp):
        return _literals(value.body) + _literals(value.orelse)
    return []


def complete(string: str | tuple[str, ...] | list[str] | None) -> bool:
    """True when a catalogue entry's text (or every plural form of it) is filled in."""
    return all(string) if isinstance(string, tuple | list) else bool(string)


def _write(path: Path, catalog: Catalog) -> None:
    with path.open('wb') as file:
        write_po(file, catalog, width=120, sort_output=True, include_lineno=False)
