"""A centre's monthly statement as HTML (Jinja2, every value escaped) and as a PDF that looks like the reports.

The header (the centre's name, address and logo), the stylesheet, the fonts and the URL fetcher are the reports'
own (reports/pdf.py, reports/printing.py). WeasyPrint is loaded with the first statement, not at start-up.
"""

import logging
from typing import Any

from domain.statements import Statement

from .pdf import Assets, environment

log = logging.getLogger(__name__)

LANGUAGES = ('en', 'ru', 'es', 'fr', 'de')
TEXTS: dict[str, dict[str, str]] = {
    'statement': {
        'en': 'Statement',
        'ru': 'Выписка по счёту',
        'es': 'Estado de cuenta',
        'fr': 'Relevé',
        'de': 'Abrechnung',
    },
    'month': {'en': 'Month', 'ru': 'Месяц', 'es': 'Mes', 'fr': 'Mois', 'de': 'Monat'},
    'issued_on': {
        'en': 'Statement date',
        'ru': 'Дата выписки',
        'es': 'Fecha del estado',
        'fr': 'Date du relevé',
        'de': 'Abrechnungsdatum',
    },
    'contact': {'en': 'Contact', 'ru': 'Контакт', 'es': 'Contacto', 'fr': 'Contact', 'de': 'Kontakt'},
    'date': {'en': 'Date', 'ru': 'Дата', 'es': 'Fecha', 'fr': 'Date', 'de': 'Datum'},
    'reference': {'en': 'Study ID', 'ru': 'Код', 'es': 'ID', 'fr': 'ID', 'de': 'ID'},
    'modality': {'en': 'Modality', 'ru': 'Модальность', 'es': 'Modalidad', 'fr': 'Modalité', 'de': 'Modalität'},
    'description': {
        'en': 'Examination',
        'ru': 'Исследование',
        'es': 'Estudio',
        'fr': 'Examen',
        'de': 'Untersuchung',
    },
    'amount': {'en': 'Amount', 'ru': 'Сумма', 'es': 'Importe', 'fr': 'Montant', 'de': 'Betrag'},
    'credit': {
        'en': 'Credit note',
        'ru': 'Кредит-нота',
        'es': 'Nota de crédito',
        'fr': 'Avoir',
        'de': 'Gutschrift',
    },
    'total': {'en': 'Total', 'ru': 'Итого', 'es': 'Total', 'fr': 'Total', 'de': 'Summe'},
    'nothing': {
        'en': 'Nothing was billed this month.',
        'ru': 'В этом месяце начислений нет.',
        'es': 'No se facturó nada este mes.',
        'fr': 'Rien n’a été facturé ce mois-ci.',
        'de': 'In diesem Monat wurde nichts abgerechnet.',
    },
    'page': {'en': 'Page', 'ru': 'Страница', 'es': 'Página', 'fr': 'Page', 'de': 'Seite'},
    'of': {'en': 'of', 'ru': 'из', 'es': 'de', 'fr': 'sur', 'de': 'von'},
}


def text(key: str, language: str) -> str:
    """A fixed statement text in one of the five languages (English when the language is not one of them)."""
    return TEXTS[key].get(language) or TEXTS[key]['en']


def render_html(shown: Statement, language: str = 'en') -> str:
    """The statement as an HTML document for WeasyPrint."""
    language = language if language in LANGUAGES else 'en'
    template = environment().get_template('statement.html')
    return template.render(doc=document(shown, language), t=lambda key: text(key, language))


def render_pdf(shown: Statement, language: str = 'en') -> bytes:
    """The printable PDF of the statement (A4, page numbers), with the report's look."""
    from weasyprint import HTML

    from .printing import AppFetcher

    fetcher = AppFetcher(Assets(shown.centre.logo))
    identifier = f'statement-{shown.centre.id}-{shown.month}'.encode('ascii')
    markup = render_html(shown, language)
    pdf: bytes = HTML(string=markup, base_url='app:', url_fetcher=fetcher).write_pdf(pdf_identifier=identifier[:32])
    log.info('statement of centre %s for %s rendered (%s lines)', shown.centre.id, shown.month, len(shown.lines))
    return pdf


def document(shown: Statement, language: str) -> dict[str, Any]:
    """The plain values the template prints."""
    centre = shown.centre
    return {
        'language': language,
        'centre_id': centre.id,
        'clinic_name': centre.name,
        'clinic_address': [line for line in centre.address.splitlines() if line.strip()],
        'contact': centre.contact,
        'logo': bool(centre.logo),
        'month': shown.month,
        'issued_on': shown.issued_on.isoformat(),
        'lines': [
            {
                'day': line.day.isoformat(),
                'credit': line.kind == 'credit',
                'reference': line.reference,
                'modality': line.modality,
                'description': line.description,
                'amount': f'{shown.shown(line.amount, line.currency)} {line.currency}',
            }
            for line in shown.lines
        ],
        'totals': [f'{shown.shown(amount, code)} {code}' for code, amount in shown.totals.items()],
    }
