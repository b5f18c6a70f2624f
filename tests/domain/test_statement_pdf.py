"""A centre's statement as a PDF: its text (pdftotext) shows the centre, every line's short ID and amount, and the
totals per currency."""

import base64
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from domain import credit_notes, db, statements
from domain.credit_notes import CreditForm
from domain.models import Centre
from reports import statements as statement_pdf
from tests.billing_fixtures import add_centre, billed, price, this_month
from tests.conftest import Clinic

PNG = base64.b64decode(  # a 1x1 pixel
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='
)


def _text(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which('pdftotext') is None:
        pytest.skip('pdftotext (poppler-utils) is not installed')
    path = tmp_path / 'statement.pdf'
    path.write_bytes(pdf)
    return subprocess.run(
        ['pdftotext', '-layout', str(path), '-'], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_the_statement_pdf_shows_every_line_and_the_totals(clinic: Clinic, tmp_path: Path) -> None:
    centre = add_centre('Mumbai Scan', 'INR')
    with db.transaction() as session:
        session.execute(
            update(Centre).where(col(Centre.id) == centre).values(logo=base64.b64encode(PNG).decode('ascii'))
        )
    price(clinic, centre, '1499.99', 'INR', modality='US')
    price(clinic, centre, '2350.50', 'INR', modality='CT')
    for modality in ('US', 'CT', 'US'):
        billed(clinic, centre, modality)
    month = this_month()
    credit_notes.issue(CreditForm(centre, month, None, 'INR', '100.00', 'Goodwill'), by=clinic.admin.actor)
    shown = statements.statement(centre, month, by=clinic.admin.actor)
    assert shown.totals == {'INR': Decimal('5250.48')}  # 1499.99 + 2350.50 + 1499.99 - 100.00

    pdf = statement_pdf.render_pdf(shown, 'en')

    assert pdf.startswith(b'%PDF')
    text = _text(pdf, tmp_path)
    assert 'Mumbai Scan' in text
    assert f'Statement {month}' in text
    lines = [line for line in text.splitlines() if line.strip()]
    for line in shown.lines:
        reference = line.reference.split(' · ')[0]
        amount = f'{shown.shown(line.amount, line.currency)} INR'
        assert any(reference in row and amount in row for row in lines), f'{reference} {amount} not printed'
    assert '-100.00 INR' in text
    assert 'Total' in text and '5250.48 INR' in text


def test_an_empty_month_prints_that_nothing_was_billed_in_the_reader_language(clinic: Clinic, tmp_path: Path) -> None:
    centre = add_centre('Dubai Imaging', 'AED')
    shown = statements.statement(centre, '2026-01', by=clinic.admin.actor)
    text = _text(statement_pdf.render_pdf(shown, 'de'), tmp_path)
    assert 'Abrechnung 2026-01' in text
    assert 'In diesem Monat wurde nichts abgerechnet.' in text
