"""Translations: every catalogue key is a string the code really shows, and placeholders agree."""

import ast
import re
from pathlib import Path

import pytest

from ui.i18n import CATALOGUES, t

ROOT = Path(__file__).resolve().parent.parent


def _texts_in_code() -> set[str]:
    texts: set[str] = set()
    for path in (ROOT / 'ui').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 't' and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    texts.add(first.value)
    return texts


@pytest.mark.parametrize('language', ['ru', 'es', 'fr', 'de'])
def test_catalogue_entries_have_the_same_placeholders(language: str) -> None:
    for english, translated in CATALOGUES[language].items():
        assert set(re.findall(r'{(\w+)}', english)) == set(re.findall(r'{(\w+)}', translated)), english


def test_the_code_shows_its_texts_through_t() -> None:
    assert 'Sign in' in _texts_in_code()
    assert 'Wrong username or password' in _texts_in_code()


def test_a_translation_is_used_and_english_is_the_fallback() -> None:
    assert t('Sign in', language='de') == 'Anmelden'
    assert t('Sign in', language='ru') == 'Войти'
    assert t('A sentence nobody translated', language='fr') == 'A sentence nobody translated'
    assert t('Welcome, {name}', language='es', name='Ana') == 'Bienvenido, Ana'
