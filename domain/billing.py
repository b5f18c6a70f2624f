"""Billing: each centre's price list, and the charge a study gets when its report is finalised.

A study is billed once, when its first report is finalised (`freeze`, called inside `reporting.finalise`'s
transaction): its centre's price of that day in the centre's currency, the procedure's price first, else a price for
the study's modality. The charge keeps that amount whatever happens to prices later; an addendum bills nothing. A
study with no price gets no charge: the billing screen lists it as "no price" (domain.statements), and an
administrator may bill it once a price exists (`bill_unpriced`). Amounts are `Decimal`, never float
(domain.currencies). A centre's own staff see only their centre's prices and charges.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from . import audit, centre_admin, centres, clock, currencies, db
from .access import Actor, Permission, require
from .errors import N_, Conflict, InvalidInput, NotFound
from .modalities import MODALITY_CODES
from .models import Appointment, Centre, Charge, CreditNote, Currency, Price, Procedure, Report, Study

log = logging.getLogger(__name__)

FINAL_STATES = ('final', 'addended')  # domain.reporting's FINAL and ADDENDED


@dataclass(frozen=True)
class PriceRow:
    """One price as the billing screen lists it."""

    id: int
    centre_id: int
    procedure_id: int | None
    procedure: str  # 'CT-HEAD · CT head' or '' for a modality's price
    modality: str
    currency: str
    amount: Decimal
    valid_from: date
    valid_until: date | None

    @property
    def current(self) -> bool:
        today = clock.now().date()
        return self.valid_from <= today and (self.valid_until is None or self.valid_until > today)


@dataclass
class PriceForm:
    """What the administrator types for a new price (bound to the form; saved only by `add_price`)."""

    centre_id: int | None = None
    procedure_id: int | None = None  # None: a price for every study of `modality`
    modality: str = ''
    currency: str = ''
    amount: str = ''
    valid_from: str = ''  # YYYY-MM-DD; '' for today


def centres_for(*, by: Actor) -> Sequence[Centre]:
    """The centres whose billing the caller sees (a centre's staff: their own), by name."""
    require(by, Permission.VIEW_BILLING)
    return centre_admin.list_all(by=by)


def check_centre(by: Actor, centre_id: int) -> None:
    """Refuse (as not found, audited) a centre the caller does not see."""
    if by.centres is not None and centre_id not in by.centres:
        log.warning('billing of centre %s refused for user %s', centre_id, by.user_id)
        audit.record_refusal(by, 'denied:view-billing', object_type='centre', object_id=centre_id)
        raise NotFound('No centre {centre_id}', centre_id=centre_id)


# ---------------------------------------------------------------- price lists


def prices(centre_id: int, *, by: Actor) -> list[PriceRow]:
    """A centre's price list: current and future prices first, then ended ones; by procedure or modality."""
    require(by, Permission.VIEW_BILLING)
    check_centre(by, centre_id)
    with db.reading() as session:
        rows = session.exec(
            select(Price, Procedure)
            .join(Procedure, col(Procedure.id) == Price.procedure_id, isouter=True)
            .where(Price.centre_id == centre_id)
            .order_by(col(Price.valid_until).is_not(None), col(Price.modality), col(Price.valid_from).desc())
        ).all()
        places = currencies.units(session)
    return [_row(price, procedure, places) for price, procedure in rows]


def add_price(form: PriceForm, *, by: Actor) -> PriceRow:
    """Price a procedure (or a modality) for a centre from a day on; the open price it replaces ends that day."""
    require(by, Permission.MANAGE_BILLING)
    starts = _day(form.valid_from, 'valid_from') or clock.now().date()
    with db.transaction() as session:
        centre = session.get(Centre, form.centre_id) if form.centre_id else None
        if centre is None:
            raise InvalidInput('Choose a centre from the list', {'centre': N_('Unknown centre')})
        procedure, modality = _target(session, form)
        currency = session.get(Currency, form.currency) if form.currency else None
        if currency is None:
            raise InvalidInput('Choose a currency from the list', {'currency': N_('Unknown currency')})
        amount = currencies.amount_of(form.amount, currency.code, currency.minor_units)
        same = session.exec(
            select(Price).where(
                Price.centre_id == centre.id,
                Price.procedure_id == (procedure.id if procedure else None),
                Price.modality == modality,
                Price.currency == currency.code,
                col(Price.valid_until).is_(None),
            )
        ).all()
        for older in same:
            if older.valid_from >= starts:
                raise Conflict('A price for this starts on {day} already; change that one', day=older.valid_from)
            older.valid_until = starts
            session.add(older)
            audit.record(session, by, 'billing.price.end', older, changes={'valid_until': (None, starts)})
        price = Price(
            centre_id=centre.id or 0,
            procedure_id=procedure.id if procedure else None,
            modality=modality,
            currency=currency.code,
            amount=amount,
            valid_from=starts,
            created_by=by.username[:64],
        )
        session.add(price)
        audit.record(session, by, 'billing.price.add', price, detail=_described(price))
    log.info('price %s added for centre %s by user %s', price.id, price.centre_id, by.user_id)
    return _row(price, procedure, {currency.code: currency.minor_units})


def change_price(price_id: int, amount: str, *, by: Actor) -> PriceRow:
    """Correct a price's amount; studies already billed keep what they were charged."""
    require(by, Permission.MANAGE_BILLING)
    with db.transaction() as session:
        price = _price(session, price_id)
        currency = session.get(Currency, price.currency)
        assert currency is not None
        value = currencies.amount_of(amount, currency.code, currency.minor_units)
        old = currencies.round_to(price.amount, currency.minor_units)
        price.amount = value
        session.add(price)
        audit.record(session, by, 'billing.price.update', price, changes={'amount': (str(old), str(value))})
        procedure = session.get(Procedure, price.procedure_id) if price.procedure_id else None
    return _row(price, procedure, {currency.code: currency.minor_units})


def end_price(price_id: int, *, by: Actor, on: date | None = None) -> PriceRow:
    """Stop offering a price from a day on (today unless given): studies finalised from then on are not billed by it."""
    require(by, Permission.MANAGE_BILLING)
    ends = on or clock.now().date()
    with db.transaction() as session:
        price = _price(session, price_id)
        if price.valid_until is not None and price.valid_until <= ends:
            raise Conflict('This price has ended already')
        if ends < price.valid_from:
            raise InvalidInput('A price cannot end before it starts', {'valid_until': N_('Before the start')})
        old, price.valid_until = price.valid_until, ends
        session.add(price)
        audit.record(session, by, 'billing.price.end', price, changes={'valid_until': (old, ends)})
        procedure = session.get(Procedure, price.procedure_id) if price.procedure_id else None
        places = currencies.units(session)
    return _row(price, procedure, places)


# ---------------------------------------------------------------- charges


def freeze(session: Session, study: Study, report: Report, by: Actor) -> Charge | None:
    """Bill a study whose report is being finalised, at its centre's price of today, once (called by
    reporting.finalise inside its transaction); None when it was billed already or has no price."""
    if report.kind != 'report' or study.id is None:
        return None
    if session.exec(select(Charge.id).where(Charge.study_id == study.id)).first() is not None:
        return None  # a second report on the same study (an addendum never comes here) bills nothing more
    return _charge(session, study, report, clock.now().date(), by)


def bill_unpriced(study_id: int, *, by: Actor) -> Charge:
    """Bill a finalised study that had no price then, at the price valid on the day its report was finalised."""
    require(by, Permission.MANAGE_BILLING)
    with db.transaction() as session:
        study = session.get(Study, study_id)
        if study is None:
            raise NotFound('No study {study_id}', study_id=study_id)
        if session.exec(select(Charge.id).where(Charge.study_id == study_id)).first() is not None:
            raise Conflict('This study is billed already')
        report = session.exec(
            select(Report)
            .where(Report.study_id == study_id, Report.kind == 'report', col(Report.state).in_(FINAL_STATES))
            .order_by(col(Report.signed_at))
            .limit(1)
        ).first()
        if report is None or report.signed_at is None:
            raise Conflict('This study has no final report yet')
        charge = _charge(session, study, report, report.signed_at.date(), by)
        if charge is None:
            raise Conflict('The centre has no price for this study yet: add one first')
    return charge


def amounts_due(by: Actor) -> dict[str, Decimal]:
    """What the caller's centre(s) (every centre for an administrator) were charged less credit notes, per currency."""
    require(by, Permission.VIEW_BILLING)
    with db.reading() as session:
        charges = select(col(Charge.currency), col(Charge.amount))
        credits = select(col(CreditNote.currency), col(CreditNote.amount))
        if by.centres is not None:
            charges = charges.where(col(Charge.centre_id).in_(sorted(by.centres)))
            credits = credits.where(col(CreditNote.centre_id).in_(sorted(by.centres)))
        return _totals(session, session.exec(charges).all(), session.exec(credits).all())


def revenue(by: Actor, days: int) -> dict[str, Decimal]:
    """What every centre was charged over the last `days` days, less the credit notes issued then, per currency."""
    require(by, Permission.MANAGE_BILLING)
    since = clock.now() - timedelta(days=days)
    with db.reading() as session:
        charges = session.exec(
            select(col(Charge.currency), col(Charge.amount)).where(col(Charge.charged_at) >= since)
        ).all()
        credits = session.exec(
            select(col(CreditNote.currency), col(CreditNote.amount)).where(col(CreditNote.created_at) >= since)
        ).all()
        return _totals(session, charges, credits)


def price_for(session: Session, study: Study, day: date) -> tuple[Price, Procedure | None] | None:
    """The price a study is billed at on `day`: its centre's, in the centre's currency; the booked procedure's
    first, else the procedure's modality's, else the first of the study's modalities that has one."""
    centre = session.get(Centre, study.centre_id or centres.default_id())
    if centre is None:
        return None
    appointment = session.get(Appointment, study.appointment_id) if study.appointment_id else None
    procedure = session.get(Procedure, appointment.procedure_id) if appointment and appointment.procedure_id else None
    offered = [
        p
        for p in session.exec(
            select(Price)
            .where(Price.centre_id == centre.id, Price.currency == centre.currency, col(Price.valid_from) <= day)
            .order_by(col(Price.valid_from).desc(), col(Price.id).desc())
        ).all()
        if p.valid_until is None or p.valid_until > day
    ]
    if procedure is not None:
        for price in offered:
            if price.procedure_id == procedure.id:
                return price, procedure
    modalities = [procedure.modality] if procedure else []
    modalities += [m for m in study.modalities.split('\\') if m and m not in modalities]
    for modality in modalities:
        for price in offered:
            if price.procedure_id is None and price.modality == modality:
                return price, procedure
    return None


def _charge(session: Session, study: Study, report: Report, day: date, by: Actor) -> Charge | None:
    found = price_for(session, study, day)
    if found is None:
        log.info('study %s finalised without a price: not billed', study.id)
        return None
    price, procedure = found
    places = currencies.units(session).get(price.currency, 2)
    charge = Charge(
        study_id=study.id or 0,
        report_id=report.id or 0,
        short_id=study.short_id or '',
        centre_id=price.centre_id,
        price_id=price.id,
        procedure_id=procedure.id if procedure else None,
        modality=procedure.modality if procedure else price.modality,
        description=(procedure.name if procedure else study.description)[:200],
        currency=price.currency,
        amount=currencies.round_to(price.amount, places),
        charged_on=day,
    )
    session.add(charge)
    audit.record(
        session,
        by,
        'billing.charge.create',
        charge,
        detail={'study': study.id, 'report': report.id, 'price': price.id, **_described(charge)},
    )
    return charge


def _totals(
    session: Session, charges: Iterable[tuple[str, Decimal]], credits: Iterable[tuple[str, Decimal]]
) -> dict[str, Decimal]:
    """Sums in Python, as Decimals (SQLite would add them up as doubles), rounded to each currency's minor units."""
    places = currencies.units(session)
    totals: dict[str, Decimal] = {}
    for sign, rows in ((1, charges), (-1, credits)):
        for code, amount in rows:
            totals[code] = totals.get(code, Decimal(0)) + sign * Decimal(amount)
    return {code: currencies.round_to(total, places.get(code, 2)) for code, total in sorted(totals.items())}


def _target(session: Session, form: PriceForm) -> tuple[Procedure | None, str]:
    if form.procedure_id is not None:
        procedure = session.get(Procedure, form.procedure_id)
        if procedure is None:
            raise InvalidInput('Choose a procedure from the list', {'procedure': N_('Unknown procedure')})
        return procedure, ''
    modality = form.modality.strip().upper()
    if modality not in MODALITY_CODES:
        raise InvalidInput('Choose a procedure or a modality', {'modality': N_('Choose one')})
    return None, modality


def _price(session: Session, price_id: int) -> Price:
    price = session.get(Price, price_id)
    if price is None:
        raise NotFound('No price {price_id}', price_id=price_id)
    return price


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput('Enter the date as YYYY-MM-DD', {field: N_('Not a date')}) from None


def _row(price: Price, procedure: Procedure | None, places: dict[str, int]) -> PriceRow:
    return PriceRow(
        id=price.id or 0,
        centre_id=price.centre_id,
        procedure_id=price.procedure_id,
        procedure=f'{procedure.code} · {procedure.name}' if procedure else '',
        modality=procedure.modality if procedure else price.modality,
        currency=price.currency,
        amount=currencies.round_to(Decimal(price.amount), places.get(price.currency, 2)),
        valid_from=price.valid_from,
        valid_until=price.valid_until,
    )


def _described(row: Price | Charge) -> dict[str, object]:
    return {'centre': row.centre_id, 'currency': row.currency, 'amount': str(row.amount)}
