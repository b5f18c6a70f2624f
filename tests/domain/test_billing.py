"""Billing: prices per centre, the charge frozen when a report is finalised, credit notes, statements per currency and
the consolidated view, all decimal-exact against totals computed by hand."""

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, select

from domain import backup_snapshot, billing, centres, clock, credit_notes, currencies, db, reporting, statements
from domain.credit_notes import CreditForm
from domain.errors import Conflict, InvalidInput
from domain.models import AuditEvent, Charge, Price
from tests.billing_fixtures import add_centre, add_procedure, billed, centre_actor, price, study_in, this_month
from tests.conftest import Clinic
from tests.report_fixtures import StudyRows, final_report


@pytest.fixture
def usd(clinic: Clinic) -> int:
    """The clinic's own centre (USD)."""
    return centres.default_id()


def test_the_procedure_price_comes_before_the_modality_price(clinic: Clinic, usd: int) -> None:
    ct_head = add_procedure(clinic, 'CT-HEAD', 'CT')
    price(clinic, usd, '120.50', 'USD', procedure_id=ct_head)
    price(clinic, usd, '99.00', 'USD', modality='CT')
    price(clinic, usd, '5000', 'INR', procedure_id=ct_head)  # not the centre's currency: never used
    booked, _ = billed(clinic, usd, 'CT', ct_head)
    unbooked, _ = billed(clinic, usd, 'CT')
    assert _charged(booked) == ('USD', Decimal('120.50'))
    assert _charged(unbooked) == ('USD', Decimal('99.00'))


def test_a_price_not_yet_valid_or_ended_is_not_used(clinic: Clinic, usd: int) -> None:
    later = price(clinic, usd, '70.00', 'USD', modality='US', starts=clock.now().date() + timedelta(days=3))
    study_id, _ = billed(clinic, usd, 'US')
    assert _charged(study_id) is None
    billing.end_price(later, by=clinic.admin.actor, on=clock.now().date() + timedelta(days=3))
    (row,) = billing.prices(usd, by=clinic.admin.actor)
    assert row.valid_until == row.valid_from


def test_the_charge_is_frozen_at_finalisation_and_a_later_price_change_leaves_it(clinic: Clinic, usd: int) -> None:
    price_id = price(clinic, usd, '80.25', 'USD', modality='US')
    first, _ = billed(clinic, usd, 'US')
    billing.change_price(price_id, '95.10', by=clinic.admin.actor)
    second, _ = billed(clinic, usd, 'US')
    assert _charged(first) == ('USD', Decimal('80.25'))
    assert _charged(second) == ('USD', Decimal('95.10'))
    with db.reading() as session:
        changed = session.exec(select(AuditEvent).where(AuditEvent.action == 'billing.price.update')).one()
    assert changed.detail['changes'] == {'amount': ['80.25', '95.10']}


def test_an_addendum_does_not_bill_again(clinic: Clinic, usd: int) -> None:
    price(clinic, usd, '80.25', 'USD', modality='US')
    study_id, report_id = billed(clinic, usd, 'US')
    reporting.add_addendum(report_id, '<p>Gallbladder seen on review.</p>', by=clinic.radiologist.actor)
    with db.reading() as session:
        charges = session.exec(select(Charge).where(Charge.study_id == study_id)).all()
    assert [c.amount for c in charges] == [Decimal('80.25')]
    assert billing.amounts_due(clinic.admin.actor) == {'USD': Decimal('80.25')}


def test_a_study_without_a_price_is_listed_unbilled_until_an_administrator_bills_it(clinic: Clinic, usd: int) -> None:
    study_id, _ = billed(clinic, usd, 'MR')
    shown = statements.statement(usd, this_month(), by=clinic.admin.actor)
    assert shown.lines == []
    assert [u.study_id for u in shown.unpriced] == [study_id]
    with pytest.raises(Conflict):
        billing.bill_unpriced(study_id, by=clinic.admin.actor)
    price(clinic, usd, '310.00', 'USD', modality='MR', starts=clock.now().date() - timedelta(days=1))
    billing.bill_unpriced(study_id, by=clinic.admin.actor)
    shown = statements.statement(usd, this_month(), by=clinic.admin.actor)
    assert (shown.unpriced, shown.totals) == ([], {'USD': Decimal('310.00')})


def test_totals_per_currency_and_the_consolidated_view_match_the_hand_computed_figures(
    clinic: Clinic, usd: int
) -> None:
    """USD: 2 x 120.50 + 80.25 - 20.10 = 301.15. INR: 3 x 1499.99 - 0.99 = 4498.98. AED: 2 x 367.25 = 734.50.
    In USD on the statement's date: INR at 0.012 (not the older 0.0119 nor next month's 0.0125) = 53.98776 -> 53.99;
    AED at 0.2725 = 200.15125 -> 200.15; 301.15 + 53.99 + 200.15 = 555.29."""
    inr, aed = add_centre('Mumbai Scan', 'INR'), add_centre('Dubai Imaging', 'AED')
    ct_head = add_procedure(clinic, 'CT-HEAD', 'CT')
    price(clinic, usd, '120.50', 'USD', procedure_id=ct_head)
    price(clinic, usd, '80.25', 'USD', modality='US')
    price(clinic, inr, '1499.99', 'INR', modality='US')
    price(clinic, aed, '367.25', 'AED', modality='CT')
    for _ in range(2):
        billed(clinic, usd, 'CT', ct_head)
        billed(clinic, aed, 'CT')
    billed(clinic, usd, 'US')
    inr_studies = [billed(clinic, inr, 'US')[0] for _ in range(3)]
    month = this_month()
    first, last = statements.month_bounds(month)
    admin = clinic.admin.actor
    credit_notes.issue(CreditForm(usd, month, None, 'USD', '20.10', 'Repeat scan, patient moved'), by=admin)
    credit_notes.issue(CreditForm(inr, month, _charge_id(inr_studies[0]), '', '0.99', 'Rounding'), by=admin)
    for rate, day in (('0.0119', first - timedelta(days=10)), ('0.012', first), ('0.0125', last + timedelta(days=1))):
        currencies.add_rate('INR', 'USD', rate, day, by=admin)
    currencies.add_rate('AED', 'USD', '0.2725', first, by=admin)

    totals = {c: statements.statement(c, month, by=admin).totals for c in (usd, inr, aed)}
    assert totals == {
        usd: {'USD': Decimal('301.15')},
        inr: {'INR': Decimal('4498.98')},
        aed: {'AED': Decimal('734.50')},
    }
    assert billing.amounts_due(admin) == {
        'AED': Decimal('734.50'),
        'INR': Decimal('4498.98'),
        'USD': Decimal('301.15'),
    }
    assert billing.amounts_due(centre_actor(clinic, inr)) == {'INR': Decimal('4498.98')}
    assert billing.revenue(admin, 30) == billing.amounts_due(admin)
    whole = statements.consolidated(month, 'USD', by=admin)
    converted = {(row.centre, row.currency): (row.rate, row.converted) for row in whole.rows}
    assert converted == {
        ('ClinicPACS', 'USD'): (Decimal(1), Decimal('301.15')),
        ('Mumbai Scan', 'INR'): (Decimal('0.012'), Decimal('53.99')),
        ('Dubai Imaging', 'AED'): (Decimal('0.2725'), Decimal('200.15')),
    }
    assert (whole.on, whole.total, whole.missing) == (last, Decimal('555.29'), [])


def test_a_currency_without_a_rate_is_named_and_left_out_of_the_consolidated_total(clinic: Clinic, usd: int) -> None:
    inr = add_centre('Mumbai Scan', 'INR')
    price(clinic, inr, '1499.99', 'INR', modality='US')
    billed(clinic, inr, 'US')
    whole = statements.consolidated(this_month(), 'USD', by=clinic.admin.actor)
    assert (whole.total, whole.missing) == (Decimal(0), ['INR'])


def test_credit_notes_are_negative_lines_and_never_exceed_their_charge(clinic: Clinic, usd: int) -> None:
    price(clinic, usd, '80.25', 'USD', modality='US')
    study_id, _ = billed(clinic, usd, 'US')
    month, admin = this_month(), clinic.admin.actor
    charge_id = _charge_id(study_id)
    credit_notes.issue(CreditForm(usd, month, charge_id, '', '80.00', 'Report repeated'), by=admin)
    with pytest.raises(InvalidInput, match=r'At most 0\.25 USD'):
        credit_notes.issue(CreditForm(usd, month, charge_id, '', '0.26', 'Again'), by=admin)
    with pytest.raises(InvalidInput, match='Say why'):
        credit_notes.issue(CreditForm(usd, month, charge_id, '', '0.25', '  '), by=admin)
    shown = statements.statement(usd, month, by=admin)
    assert [(line.kind, line.amount) for line in shown.lines] == [
        ('charge', Decimal('80.25')),
        ('credit', Decimal('-80.00')),
    ]
    assert shown.totals == {'USD': Decimal('0.25')}
    assert 'CN-' in shown.lines[1].reference
    with db.reading() as session:
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == 'billing.credit_note.create')).one()
    assert (audited.detail['amount'], audited.detail['reason']) == ('80.00', 'Report repeated')


def test_the_statement_csv_has_one_row_per_line_with_exact_decimals(clinic: Clinic, usd: int) -> None:
    price(clinic, usd, '0.10', 'USD', modality='US')
    for _ in range(3):
        billed(clinic, usd, 'US')
    month = this_month()
    credit_notes.issue(CreditForm(usd, month, None, 'USD', '0.05', '=SUM(A1)'), by=clinic.admin.actor)
    shown = statements.statement(usd, month, by=clinic.admin.actor)
    rows = statements.as_csv(shown).splitlines()
    assert rows[0] == 'date,type,reference,modality,description,currency,amount'
    assert [row.rsplit(',', 1)[1] for row in rows[1:]] == ['0.10', '0.10', '0.10', '-0.05']
    assert "'=SUM(A1)" in rows[-1]  # a spreadsheet shows the reason, never runs it
    assert shown.totals == {'USD': Decimal('0.25')}  # 0.1 + 0.1 + 0.1 - 0.05 as floats is 0.25000000000000006


def test_amounts_are_rounded_half_up_to_the_currency_minor_units() -> None:
    assert currencies.round_to(Decimal('2.665'), 2) == Decimal('2.67')  # half-even would give 2.66
    assert currencies.round_to(Decimal('1249.5'), 0) == Decimal('1250')
    assert currencies.round_to(Decimal('1.0005'), 3) == Decimal('1.001')
    with pytest.raises(TypeError):
        currencies.amount_of(0.1, 'USD', 2)  # type: ignore[arg-type]


def test_a_typed_amount_is_checked_against_the_currency(clinic: Clinic, usd: int) -> None:
    for amount, problem in (('12.345', 'at most 2 decimal places'), ('abc', 'Enter a number'), ('-1', '0 or more')):
        with pytest.raises(InvalidInput, match=problem):
            price(clinic, usd, amount, 'USD', modality='US')
    with db.reading() as session:
        assert session.exec(select(Price)).all() == []


def test_an_administrator_adds_an_iso_4217_currency_with_its_minor_units(clinic: Clinic) -> None:
    currencies.add('jpy', by=clinic.admin.actor)
    currencies.add('KWD', by=clinic.admin.actor)
    with pytest.raises(InvalidInput, match='not an ISO 4217'):
        currencies.add('ABC', by=clinic.admin.actor)
    with pytest.raises(Conflict):
        currencies.add('USD', by=clinic.admin.actor)
    listed = {c.code: c.minor_units for c in currencies.list_all(by=clinic.admin.actor)}
    assert listed == {'AED': 2, 'INR': 2, 'JPY': 0, 'KWD': 3, 'USD': 2}


def test_a_price_added_for_the_same_thing_ends_the_open_one(clinic: Clinic, usd: int) -> None:
    today = clock.now().date()
    price(clinic, usd, '80.00', 'USD', modality='US', starts=today - timedelta(days=30))
    price(clinic, usd, '85.00', 'USD', modality='US', starts=today)
    rows = billing.prices(usd, by=clinic.admin.actor)
    assert [(r.amount, r.valid_until, r.current) for r in rows] == [
        (Decimal('85.00'), None, True),
        (Decimal('80.00'), today, False),
    ]
    with pytest.raises(Conflict):
        price(clinic, usd, '90.00', 'USD', modality='US', starts=today)


def test_a_scoped_radiologist_finalising_bills_the_study_of_their_centre(clinic: Clinic) -> None:
    inr = add_centre('Mumbai Scan', 'INR')
    price(clinic, inr, '1499.99', 'INR', modality='US')
    study_id = study_in(inr, 'US')
    reader = clinic.radiologist.actor
    scoped = type(reader)(**{**reader.__dict__, 'centres': frozenset({inr})})
    final_report(StudyRows(study_id, 0, 0, []), scoped)
    assert _charged(study_id) == ('INR', Decimal('1499.99'))


def test_money_survives_a_backup_dump_and_load_exactly(clinic: Clinic, usd: int, tmp_path: Path) -> None:
    price(clinic, usd, '1234567.89', 'USD', modality='CT')
    currencies.add_rate('INR', 'USD', '0.011987654', clock.now().date(), by=clinic.admin.actor)
    out = io.BytesIO()
    backup_snapshot.dump(out, tmp_path)
    with db.engine().begin() as connection:
        backup_snapshot.load(connection, out.getvalue().splitlines())
    (row,) = billing.prices(usd, by=clinic.admin.actor)
    assert row.amount == Decimal('1234567.89')
    with db.reading() as session:
        assert currencies.rate_on(session, 'INR', 'USD', clock.now().date()) == Decimal('0.011987654')


def _charged(study_id: int) -> tuple[str, Decimal] | None:
    with db.reading() as session:
        charge = session.exec(select(Charge).where(Charge.study_id == study_id)).first()
    return (charge.currency, currencies.round_to(charge.amount, 2)) if charge else None


def _charge_id(study_id: int) -> int:
    with db.reading() as session:
        return session.exec(select(col(Charge.id)).where(Charge.study_id == study_id)).one() or 0
