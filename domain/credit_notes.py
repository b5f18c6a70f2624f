"""Credit notes: corrections in a centre's favour, each with its reason, audited, printed as negative statement lines.

A note either takes (part of) one charge back, in that charge's currency and never more than is left of it, or
corrects a month's statement as a whole in any listed currency. It appears on the statement of the month it names.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, select

from . import audit, currencies, db
from .access import Actor, Permission, require
from .errors import N_, InvalidInput, NotFound
from .models import Centre, Charge, CreditNote, Currency
from .statements import month_bounds

log = logging.getLogger(__name__)


@dataclass
class CreditForm:
    """What the administrator types for a credit note (bound to the dialog; saved only by `issue`)."""

    centre_id: int | None = None
    month: str = ''  # YYYY-MM: the statement it appears on
    charge_id: int | None = None  # None: the month as a whole
    currency: str = ''  # a charge's own currency when one is named
    amount: str = ''
    reason: str = ''


def issue(form: CreditForm, *, by: Actor) -> CreditNote:
    """Take an amount off a centre's statement (or off one charge on it), for a stated reason."""
    require(by, Permission.MANAGE_BILLING)
    month_bounds(form.month)
    reason = ' '.join(form.reason.split())
    if not reason:
        raise InvalidInput('Say why the credit is given', {'reason': N_('Required')})
    with db.transaction() as session:
        centre = session.get(Centre, form.centre_id) if form.centre_id else None
        if centre is None:
            raise InvalidInput('Choose a centre from the list', {'centre': N_('Unknown centre')})
        charge = None
        if form.charge_id is not None:
            charge = session.get(Charge, form.charge_id)
            if charge is None or charge.centre_id != centre.id:
                raise NotFound('No charge {charge_id}', charge_id=form.charge_id)
        code = charge.currency if charge is not None else form.currency
        currency = session.get(Currency, code) if code else None
        if currency is None:
            raise InvalidInput('Choose a currency from the list', {'currency': N_('Unknown currency')})
        amount = currencies.amount_of(form.amount, currency.code, currency.minor_units)
        if amount <= 0:
            raise InvalidInput('Enter an amount above 0', {'amount': N_('Not a valid amount')})
        if charge is not None:
            credited = sum(
                (
                    Decimal(a)
                    for a in session.exec(select(col(CreditNote.amount)).where(CreditNote.charge_id == charge.id)).all()
                ),
                Decimal(0),
            )
            left = currencies.round_to(Decimal(charge.amount) - credited, currency.minor_units)
            if amount > left:
                raise InvalidInput(
                    'At most {left} {code} is left of this charge',
                    {'amount': N_('More than the charge')},
                    left=str(left),
                    code=currency.code,
                )
        note = CreditNote(
            centre_id=centre.id or 0,
            charge_id=charge.id if charge is not None else None,
            month=form.month,
            currency=currency.code,
            amount=amount,
            reason=reason[:500],
            created_by=by.username[:64],
        )
        session.add(note)
        audit.record(
            session,
            by,
            'billing.credit_note.create',
            note,
            object_type='credit_note',
            detail={
                'centre': note.centre_id,
                'month': note.month,
                'charge': note.charge_id,
                'currency': note.currency,
                'amount': str(amount),
                'reason': note.reason,
            },
        )
    log.info('credit note %s issued for centre %s by user %s', note.id, note.centre_id, by.user_id)
    return note
