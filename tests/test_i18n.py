"""Translations: every message the code shows is in every catalogue, translated, with the same placeholders;
domain refusals are translated at the edge; the reader's language comes from the account, then the browser."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import N_, InvalidInput, NotFound
from reports.texts import TEXTS
from ui.i18n import (
    catalogue,
    choose_language,
    error_text,
    format_date,
    format_day,
    job_error_text,
    t,
    tn,
)

PLACEHOLDER = re.compile(r'{(\w*)}')


@pytest.fixture(scope='module')
def extracted() -> dict[str | tuple[str, str], list[str]]:
    """Every message id in the code (ui/, domain/, jobs/), with where it is used."""
    return {message.id: [path for path, _ in message.locations] for message in catalogue.extract() if message.id}


@pytest.mark.parametrize('language', catalogue.TRANSLATED)
def test_every_message_the_code_shows_is_translated(
    language: str, extracted: dict[str | tuple[str, str], list[str]]
) -> None:
    translated = catalogue.read(language)
    missing = []
    for msgid, places in sorted(extracted.items(), key=str):
        entry = translated.get(msgid)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (entry and entry.string,)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f'{msgid!r} ({", ".join(sorted(set(places)))})')
    assert not missing, f'{len(missing)} messages without a {language} translation:\n' + '\n'.join(missing)


def test_the_template_holds_exactly_what_the_code_shows(extracted: dict[str | tuple[str, str], list[str]]) -> None:
    with catalogue.TEMPLATE.open('rb') as file:
        template = {message.id for message in catalogue.read_po(file) if message.id}
    assert set(extracted) - template == set(), 'run `make messages`: new messages are not in locale/messages.pot'
    assert template - set(extracted) == set(), 'run `make messages`: locale/messages.pot has messages the code dropped'


@pytest.mark.parametrize('language', catalogue.TRANSLATED)
def test_translations_keep_the_placeholders_of_their_message(language: str) -> None:
    wrong = []
    for entry in catalogue.read(language):
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        wrong += [f'{ids[0]!r} -> {s!r}' for s in strings if s and set(PLACEHOLDER.findall(s)) != expected]
    assert not wrong, '\n'.join(wrong)


def test_the_extraction_finds_screen_texts_titles_and_domain_messages(
    extracted: dict[str | tuple[str, str], list[str]],
) -> None:
    assert 'ui/login.py' in extracted['Sign in']  # t('...')
    assert 'ui/account.py' in extracted['Account']  # @screen(..., title='Account')
    assert 'domain/reporting.py' in extracted['No report {report_id}']  # raise NotFound('...', report_id=...)
    assert 'domain/patients.py' in extracted['At most {count} characters']  # N_('...', count=...)
    assert 'domain/worklist.py' in extracted['Not a DICOM time: {text}']  # either side of `a if c else b`
    assert 'domain/appointments.py' in extracted['A card cannot move from {current} to {state}']  # _refuse(...)
    assert 'domain/patients.py' in extracted['A patient with these details is already registered']  # DuplicatePatient


def test_every_fixed_report_text_is_in_all_five_languages() -> None:
    gaps = [f'{key}: {lang}' for key, entry in TEXTS.items() for lang in catalogue.LANGUAGES if not entry.get(lang)]
    assert not gaps


def test_a_translation_is_used_and_english_is_the_fallback() -> None:
    assert t('Sign in', language='de') == 'Anmelden'
    assert t('Sign in', language='ru') == 'Войти'
    assert t('A sentence nobody translated', language='fr') == 'A sentence nobody translated'
    assert t('Welcome, {name}', language='es', name='Ana') == 'Bienvenido, Ana'


def test_a_count_takes_the_plural_form_of_the_language() -> None:
    assert tn('{count} image', '{count} images', 1, language='en') == '1 image'
    assert tn('{count} image', '{count} images', 3, language='en') == '3 images'
    ru = catalogue.translations('ru')
    assert [ru.plural(n) for n in (1, 3, 5, 21)] == [0, 1, 2, 0]  # type: ignore[attr-defined]


def test_a_domain_error_is_english_in_logs_and_translated_at_the_edge() -> None:
    error = NotFound('No report {report_id}', report_id=42)
    assert str(error) == 'No report 42'
    assert error_text(error, language='de') == 'Kein Befund 42'
    assert error_text(error, language='en') == 'No report 42'


def test_a_form_problem_keeps_its_values_for_the_translation() -> None:
    problem = N_('No study {study_id}', study_id=7)
    error = InvalidInput(problem, {'study_id': problem})
    assert str(error) == 'No study 7'
    assert t(error.fields['study_id'], language='fr') == 'Aucun examen 7'
    assert error_text(error, language='es') == 'No existe el estudio 7'


def test_a_failed_jobs_recorded_error_is_shown_translated() -> None:
    assert job_error_text('NotFound: No report 12', language='fr') == 'NotFound: Aucun compte rendu 12'
    assert job_error_text('OSError: disk full', language='fr') == 'OSError: disk full'


def test_dates_and_weekdays_are_written_the_languages_way() -> None:
    day = date(2026, 12, 1)
    assert format_date(day, language='de') == '01.12.2026'
    assert format_day(day, language='ru') == 'вторник, 1 декабря 2026\u202fг.'
    assert format_day(day, language='fr') == 'mardi 1 décembre 2026'
    assert format_date(datetime(2026, 12, 1, 10, tzinfo=UTC) + timedelta(hours=1), 'long', language='es') == (
        '1 de diciembre de 2026'
    )


def test_the_browsers_best_language_is_chosen_when_the_account_names_none() -> None:
    assert choose_language(None, 'de-CH,de;q=0.9,en;q=0.8') == 'de'
    assert choose_language(None, 'ja, ru;q=0.7, fr;q=0.5') == 'ru'
    assert choose_language('es', 'de') == 'es'
    assert choose_language(None, 'ja') == 'en'


def test_an_empty_text_stays_empty_in_every_language() -> None:
    assert {t('', language=language) for language in ('en', 'ru', 'es', 'fr', 'de')} == {''}
