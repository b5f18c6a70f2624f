"""The billing screens: an administrator keeps a centre's prices; a centre's staff see their own amounts due."""

from nicegui import ui
from nicegui.testing import User

from domain import centres
from tests.billing_fixtures import add_centre, billed, price
from tests.conftest import Clinic, eventually, sign_in


async def test_an_administrator_adds_a_price_to_the_centre_price_list(admin: User) -> None:
    await admin.open('/admin/billing')
    await admin.should_see(marker='no-prices')
    admin.find(marker='price-amount').type('120.50')
    admin.find(marker='price-add').click()
    await admin.should_see('Price added')
    await admin.should_not_see(marker='no-prices')
    await eventually(lambda: _value(admin, 'price-amount') == '', 'the form emptied for the next price')


async def test_a_rejected_price_keeps_what_was_typed_and_says_why(admin: User) -> None:
    await admin.open('/admin/billing')
    admin.find(marker='price-amount').type('12.345')
    admin.find(marker='price-add').click()
    await admin.should_see('USD amounts have at most 2 decimal places')
    assert _value(admin, 'price-amount') == '12.345'
    await admin.should_see(marker='no-prices')


async def test_an_administrator_adds_a_currency_and_a_wrong_code_is_refused(admin: User) -> None:
    await admin.open('/admin/billing')
    admin.find(marker='currency-code').type('XYZ')
    admin.find(marker='currency-add').click()
    await admin.should_see('XYZ is not an ISO 4217 currency code')
    assert _value(admin, 'currency-code') == 'XYZ'
    admin.find(marker='currency-code').clear().type('EUR')
    admin.find(marker='currency-add').click()
    await admin.should_see('Currency added')
    await admin.should_see('EUR (2)')


async def test_the_administrator_sees_a_study_without_a_price_as_no_price(admin: User, clinic: Clinic) -> None:
    billed(clinic, centres.default_id(), 'MR')
    await admin.open('/admin/billing')
    await admin.should_see(marker='no-price')
    await admin.should_see('no price')


async def test_a_centre_user_sees_its_own_amounts_and_statement_only(screens: User, clinic: Clinic) -> None:
    own, other = centres.default_id(), add_centre('Mumbai Scan', 'INR')
    price(clinic, own, '80.25', 'USD', modality='US')
    price(clinic, other, '1499.99', 'INR', modality='US')
    billed(clinic, own, 'US')
    billed(clinic, other, 'US')
    await sign_in(screens, clinic.centre)
    await screens.open('/billing')
    await screens.should_see('80.25 USD')
    await screens.should_see('Total: 80.25 USD')
    await screens.should_not_see('INR')
    await screens.should_not_see('Mumbai Scan')


def _value(user: User, marker: str) -> object:
    (element,) = user.find(marker=marker).elements
    assert isinstance(element, ui.input)
    return element.value
