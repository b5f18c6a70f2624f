"""Billing refuses who it must: reception, technicians and radiologists reach no billing screen, route or service;
a centre's staff see their own centre's statements and amounts only, neither by URL nor by calling a service."""

from collections.abc import Callable
from datetime import date

import pytest
from nicegui.testing import User
from sqlmodel import col, select

from domain import billing, centres, credit_notes, currencies, db, statements
from domain.access import Actor
from domain.billing import PriceForm
from domain.credit_notes import CreditForm
from domain.errors import NotAllowed, NotFound
from domain.models import AuditEvent, CreditNote, Price
from tests.billing_fixtures import add_centre, billed, centre_actor, price, this_month
from tests.conftest import Clinic, sign_in

STAFF = ('receptionist', 'technician', 'radiologist')
Attempt = Callable[[Actor], object]


@pytest.fixture
def two_centres(clinic: Clinic) -> tuple[int, int]:
    """The clinic's centre A (USD) and a centre B (INR), each with a billed study: (A, B)."""
    own, other = centres.default_id(), add_centre('Mumbai Scan', 'INR')
    price(clinic, own, '80.25', 'USD', modality='US')
    price(clinic, other, '1499.99', 'INR', modality='US')
    billed(clinic, own, 'US')
    billed(clinic, other, 'US')
    return own, other


def test_other_staff_may_not_call_any_billing_service(clinic: Clinic, two_centres: tuple[int, int]) -> None:
    own, _ = two_centres
    month = this_month()
    for role in STAFF:
        attempts: list[Attempt] = [
            lambda actor: billing.prices(own, by=actor),
            lambda actor: billing.add_price(PriceForm(own, None, 'CT', 'USD', '1.00'), by=actor),
            lambda actor: billing.end_price(1, by=actor),
            lambda actor: billing.change_price(1, '0.01', by=actor),
            billing.amounts_due,
            lambda actor: billing.revenue(actor, 30),
            lambda actor: billing.centres_for(by=actor),
            lambda actor: statements.statement(own, month, by=actor),
            lambda actor: statements.export(own, month, 'pdf', by=actor),
            lambda actor: statements.months(own, by=actor),
            lambda actor: statements.consolidated(month, 'USD', by=actor),
            lambda actor: credit_notes.issue(CreditForm(own, month, None, 'USD', '80.25', 'mine'), by=actor),
            lambda actor: currencies.add('EUR', by=actor),
            lambda actor: currencies.add_rate('INR', 'USD', '1', date(2026, 1, 1), by=actor),
            lambda actor: currencies.list_all(by=actor),
        ]
        for attempt in attempts:
            with pytest.raises(NotAllowed):
                attempt(clinic.account(role).actor)
    with db.reading() as session:
        assert len(session.exec(select(Price)).all()) == 2
        assert session.exec(select(CreditNote)).all() == []


def test_a_centre_user_may_view_but_not_manage_billing(clinic: Clinic, two_centres: tuple[int, int]) -> None:
    own, _ = two_centres
    mine = centre_actor(clinic, own)
    for attempt in (
        lambda: billing.add_price(PriceForm(own, None, 'CT', 'USD', '1.00'), by=mine),
        lambda: credit_notes.issue(CreditForm(own, this_month(), None, 'USD', '80.25', 'mine'), by=mine),
        lambda: currencies.add_rate('INR', 'USD', '1', date(2026, 1, 1), by=mine),
        lambda: statements.consolidated(this_month(), 'USD', by=mine),
        lambda: billing.revenue(mine, 30),
    ):
        with pytest.raises(NotAllowed):
            attempt()


def test_a_centre_user_gets_no_other_centre_statement_by_service(clinic: Clinic, two_centres: tuple[int, int]) -> None:
    own, other = two_centres
    mine = centre_actor(clinic, own)
    for attempt in (
        lambda: statements.statement(other, this_month(), by=mine),
        lambda: statements.export(other, this_month(), 'csv', by=mine),
        lambda: statements.months(other, by=mine),
        lambda: billing.prices(other, by=mine),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert [c.id for c in billing.centres_for(by=mine)] == [own]
    assert {code for code in billing.amounts_due(mine)} == {'USD'}
    assert [line.currency for line in statements.statement(own, this_month(), by=mine).lines] == ['USD']
    with db.reading() as session:
        refused = session.exec(select(AuditEvent).where(col(AuditEvent.action) == 'denied:view-billing')).all()
    assert len(refused) == 4


async def test_a_centre_user_gets_no_other_centre_statement_by_url(
    screens: User, clinic: Clinic, two_centres: tuple[int, int]
) -> None:
    own, other = two_centres
    month = this_month()
    login = (clinic.centre.username, clinic.centre.password)
    for kind in ('pdf', 'csv'):
        refused = await screens.http_client.get(f'/billing/statements/{other}/{month}.{kind}', auth=login)
        assert refused.status_code == 404
        assert b'1499.99' not in refused.content
    answer = await screens.http_client.get(f'/billing/statements/{own}/{month}.csv', auth=login)
    assert answer.status_code == 200
    assert answer.text.splitlines()[1].endswith(',USD,80.25')
    pdf = await screens.http_client.get(f'/billing/statements/{own}/{month}.pdf', auth=login)
    assert (pdf.status_code, pdf.headers['content-type']) == (200, 'application/pdf')
    bad = await screens.http_client.get(f'/billing/statements/{own}/2026-13.csv', auth=login)
    assert bad.status_code == 400


@pytest.mark.parametrize('role', STAFF)
async def test_other_staff_may_not_open_billing_screens_or_downloads(
    screens: User, clinic: Clinic, two_centres: tuple[int, int], role: str
) -> None:
    own, _ = two_centres
    account = clinic.account(role)
    answer = await screens.http_client.get(
        f'/billing/statements/{own}/{this_month()}.pdf', auth=(account.username, account.password)
    )
    assert answer.status_code == 403
    await sign_in(screens, account)
    for path in ('/billing', '/admin/billing'):
        await screens.open(path)
        await screens.should_see(marker='not-allowed')


async def test_a_centre_user_may_not_open_the_billing_administration(
    screens: User, clinic: Clinic, two_centres: tuple[int, int]
) -> None:
    await sign_in(screens, clinic.centre)
    await screens.open('/admin/billing')
    await screens.should_see(marker='not-allowed')
