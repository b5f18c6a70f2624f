"""Currencies and exchange rates for billing: ISO 4217 codes, their minor units, and the rates an administrator enters.

Money is `decimal.Decimal` everywhere, never float: an amount is rounded half up (ROUND_HALF_UP) to its currency's
minor units (Babel's currency precision: USD 2, JPY 0, KWD 3). A rate says what one unit of a currency is worth in a
base currency from a day on; a conversion uses the newest rate valid on the day asked for.
"""

import logging
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import numbers
from sqlmodel import Session, col, select

from . import audit, clock, db
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput
from .models import Currency, ExchangeRate

log = logging.getLogger(__name__)

SEEDED = ('USD', 'INR', 'AED')  # every install starts with these (migration 0015, ensure_seeded)
MAX_AMOUNT = Decimal('1e11')  # 11 digits and 4 places: exact even where SQLite keeps a Numeric as a double
RATE_PLACES = 9  # with a rate below MAX_RATE: 15 digits, exact on SQLite too (Numeric(20, 10))
MAX_RATE = Decimal('1e6')


def minor_units(code: str) -> int:
    """The decimal places of an ISO 4217 currency as Babel knows them (2 for a code it does not know)."""
    return int(numbers.get_currency_precision(code))


def round_to(amount: Decimal, places: int) -> Decimal:
    """The amount rounded half up to `places` decimal places (a currency's minor units)."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def known(code: str) -> bool:
    """True for an ISO 4217 code Babel knows (what an administrator may add)."""
    return len(code) == 3 and code.isalpha() and code.isupper() and numbers.is_currency(code)


def ensure_seeded() -> None:
    """A schema made without the migrations (tests) gets the seeded currencies (domain.db.create_all)."""
    with db.transaction() as session:
        seed(session)


def seed(session: Session) -> None:
    """Add USD, INR and AED where missing (a fresh schema, a restored archive made before billing)."""
    present = set(session.exec(select(Currency.code)).all())
    for code in SEEDED:
        if code not in present:
            session.add(Currency(code=code, minor_units=minor_units(code), added_by='system'))
    session.flush()


def list_all(*, by: Actor) -> Sequence[Currency]:
    """Every currency prices may be in, by code."""
    require(by, Permission.VIEW_BILLING)
    with db.reading() as session:
        return session.exec(select(Currency).order_by(col(Currency.code))).all()


def add(code: str, *, by: Actor) -> Currency:
    """Offer one more ISO 4217 currency for prices (checked against Babel's list)."""
    require(by, Permission.MANAGE_BILLING)
    code = code.strip().upper()
    if not known(code):
        raise InvalidInput(
            '{code} is not an ISO 4217 currency code', {'code': N_('Not an ISO 4217 code')}, code=code or '—'
        )
    with db.transaction() as session:
        if session.get(Currency, code) is not None:
            raise Conflict('{code} is already in the list', code=code)
        currency = Currency(code=code, minor_units=minor_units(code), added_by=by.username[:64])
        session.add(currency)
        audit.record(session, by, 'billing.currency.add', object_type='currency', object_id=code)
    log.info('currency %s added by user %s', code, by.user_id)
    return currency


def units(session: Session) -> dict[str, int]:
    """Minor units of every listed currency, by code."""
    return {row.code: row.minor_units for row in session.exec(select(Currency)).all()}


def amount_of(text: object, code: str, places: int, field: str = 'amount') -> Decimal:
    """An amount typed for `code`: a plain decimal, not negative, at most `places` decimal places."""
    value = _decimal(text, field)
    if value < 0 or value >= MAX_AMOUNT:
        raise InvalidInput('Enter an amount of 0 or more', {field: N_('Not a valid amount')})
    if decimal_places(value) > places:
        raise InvalidInput(
            '{code} amounts have at most {places} decimal places',
            {field: N_('Too many decimal places')},
            code=code,
            places=places,
        )
    return round_to(value, places)


# ---------------------------------------------------------------- exchange rates


def add_rate(currency: str, base: str, rate: object, valid_on: date, *, by: Actor) -> ExchangeRate:
    """Record what one unit of `currency` is worth in `base` from `valid_on` on (replacing that day's rate)."""
    require(by, Permission.MANAGE_BILLING)
    value = _decimal(rate, 'rate')
    if value <= 0 or value >= MAX_RATE or decimal_places(value) > RATE_PLACES:
        raise InvalidInput(
            'Enter a rate above 0 with at most {places} decimal places',
            {'rate': N_('Not a valid rate')},
            places=RATE_PLACES,
        )
    if currency == base:
        raise InvalidInput('A currency is worth 1 of itself; choose another base', {'base': N_('Same currency')})
    with db.transaction() as session:
        for code, field in ((currency, 'currency'), (base, 'base')):
            if session.get(Currency, code) is None:
                raise InvalidInput('Choose a currency from the list', {field: N_('Unknown currency')})
        row = session.exec(
            select(ExchangeRate).where(
                ExchangeRate.currency == currency, ExchangeRate.base == base, ExchangeRate.valid_on == valid_on
            )
        ).first()
        old = str(row.rate) if row is not None else None
        if row is None:
            row = ExchangeRate(currency=currency, base=base, rate=value, valid_on=valid_on)
        row.rate, row.entered_by, row.entered_at = value, by.username[:64], clock.now()
        session.add(row)
        audit.record(
            session,
            by,
            'billing.rate.add',
            row,
            object_type='exchange_rate',
            detail={'currency': currency, 'base': base, 'valid_on': valid_on.isoformat()},
            changes={'rate': (old, str(value))},
        )
    return row


def rates(*, by: Actor, base: str | None = None) -> Sequence[ExchangeRate]:
    """The rates entered, newest day first (only those into `base` when given)."""
    require(by, Permission.MANAGE_BILLING)
    statement = select(ExchangeRate).order_by(col(ExchangeRate.valid_on).desc(), col(ExchangeRate.currency))
    if base:
        statement = statement.where(ExchangeRate.base == base)
    with db.reading() as session:
        return session.exec(statement).all()


def rate_on(session: Session, currency: str, base: str, day: date) -> Decimal | None:
    """What one unit of `currency` is worth in `base` on `day`: the newest rate entered for a day up to it."""
    if currency == base:
        return Decimal(1)
    found: Decimal | None = session.exec(
        select(col(ExchangeRate.rate))
        .where(ExchangeRate.currency == currency, ExchangeRate.base == base, col(ExchangeRate.valid_on) <= day)
        .order_by(col(ExchangeRate.valid_on).desc())
        .limit(1)
    ).first()
    return Decimal(found) if found is not None else None


def decimal_places(value: Decimal) -> int:
    """How many decimal places a number needs ('12.50' one, '100' none)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _decimal(text: object, field: str) -> Decimal:
    if isinstance(text, float):  # a float has already lost the cents it was meant to hold
        raise TypeError('money is never a float: pass a Decimal or the text typed')
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip().replace(' ', ''))
    except InvalidOperation:
        raise InvalidInput('Enter a number such as 1250.50', {field: N_('Not a number')}) from None
    if not value.is_finite():
        raise InvalidInput('Enter a number such as 1250.50', {field: N_('Not a number')})
    return value
