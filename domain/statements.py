"""Monthly statements: a centre's charges and credit notes of one month, its totals per currency, and the
consolidated view of every centre in one base currency.

A statement's lines are the charges frozen in that month (by the day the report was finalised) and the credit notes
issued onto it, as negative lines; totals are per currency, in Decimal, rounded half up to the currency's minor units.
The consolidated view converts each centre's total with the exchange rate valid on the statement's date (the last
day of the month), rounds it to the base currency, then adds them up; a currency without a rate is named, not guessed.
Lines carry the study's short ID, never a patient's name.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from . import audit, billing, centre_admin, clock, currencies, db
from .access import Actor, Permission, may, require
from .errors import N_, InvalidInput, NotFound
from .models import Centre, Charge, CreditNote, Report, Study

CSV_FIELDS = ('date', 'type', 'reference', 'modality', 'description', 'currency', 'amount')


@dataclass(frozen=True)
class Line:
    """One statement line: a charge, or a credit note (negative)."""

    day: date
    kind: str  # charge, credit
    reference: str  # a charge: the study's short ID; a credit note: CN-<id> (and the short ID it corrects)
    modality: str
    description: str  # a charge: what was priced; a credit note: its reason
    currency: str
    amount: Decimal
    charge_id: int | None = None
    credit_note_id: int | None = None


@dataclass(frozen=True)
class Unpriced:
    """A study of the month whose report was finalised while its centre had no price for it: not billed."""

    study_id: int
    short_id: str
    modalities: str
    description: str
    finalised_on: date


@dataclass(frozen=True)
class CentreHeader:
    """Who the statement is for, printed in its header."""

    id: int
    name: str
    address: str = ''
    contact: str = ''
    currency: str = 'USD'
    logo: bytes | None = None


@dataclass(frozen=True)
class Statement:
    """A centre's month: lines, totals per currency, and (for administrators) the finalised studies left unbilled."""

    centre: CentreHeader
    month: str
    issued_on: date  # the last day of the month: the day whose exchange rates consolidate it
    lines: list[Line]
    totals: dict[str, Decimal]
    places: dict[str, int]
    unpriced: list[Unpriced] = field(default_factory=list)

    def shown(self, amount: Decimal, currency: str) -> str:
        """An amount as a plain decimal with its currency's minor units ('-12.50', '1250')."""
        return str(currencies.round_to(amount, self.places.get(currency, 2)))


@dataclass(frozen=True)
class ConsolidatedRow:
    centre: str
    currency: str
    total: Decimal
    rate: Decimal | None  # None: no rate entered for this currency up to the statement's date
    converted: Decimal | None


@dataclass(frozen=True)
class Consolidated:
    """Every centre's totals of one month converted into a base currency with the rates of the statement's date."""

    month: str
    base: str
    on: date
    rows: list[ConsolidatedRow]
    total: Decimal
    missing: list[str]  # currencies that had no rate: their totals are not in `total`


def month_bounds(month: str) -> tuple[date, date]:
    """The first and the last day of a 'YYYY-MM' month."""
    try:
        first = datetime.strptime(month, '%Y-%m').date()
    except (TypeError, ValueError):
        raise InvalidInput('Enter the month as YYYY-MM', {'month': N_('Not a month')}) from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def current_month() -> str:
    """This month as 'YYYY-MM' (UTC)."""
    return clock.now().strftime('%Y-%m')


def months(centre_id: int, *, by: Actor) -> list[str]:
    """The months a centre has statement lines in, newest first, always with this month."""
    require(by, Permission.VIEW_BILLING)
    billing.check_centre(by, centre_id)
    with db.reading() as session:
        days = session.exec(select(col(Charge.charged_on)).where(Charge.centre_id == centre_id).distinct()).all()
        noted = session.exec(select(CreditNote.month).where(CreditNote.centre_id == centre_id).distinct()).all()
    found = {d.strftime('%Y-%m') for d in days} | set(noted) | {current_month()}
    return sorted(found, reverse=True)


def statement(centre_id: int, month: str, *, by: Actor) -> Statement:
    """A centre's statement for a month (a centre's staff: their own centre's only)."""
    require(by, Permission.VIEW_BILLING)
    billing.check_centre(by, centre_id)
    first, last = month_bounds(month)
    with db.reading() as session:
        centre = session.get(Centre, centre_id)
        if centre is None:
            raise NotFound('No centre {centre_id}', centre_id=centre_id)
        charges = session.exec(
            select(Charge)
            .where(Charge.centre_id == centre_id, col(Charge.charged_on) >= first, col(Charge.charged_on) <= last)
            .order_by(col(Charge.charged_on), col(Charge.id))
        ).all()
        notes = session.exec(
            select(CreditNote)
            .where(CreditNote.centre_id == centre_id, CreditNote.month == month)
            .order_by(col(CreditNote.id))
        ).all()
        corrected = {c.id: c for c in session.exec(select(Charge).where(col(Charge.id).in_(_charged(notes)))).all()}
        places = currencies.units(session)
        unpriced = _unpriced(session, centre_id, first, last) if may(by, Permission.MANAGE_BILLING) else []
    lines = [_charge_line(c, places) for c in charges] + [_credit_line(n, corrected, places) for n in notes]
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    return Statement(
        centre=_header(centre),
        month=month,
        issued_on=last,
        lines=lines,
        totals={code: currencies.round_to(t, places.get(code, 2)) for code, t in sorted(totals.items())},
        places=places,
        unpriced=unpriced,
    )


def export(centre_id: int, month: str, kind: str, *, by: Actor) -> Statement:
    """A statement to be downloaded as PDF or CSV (`kind`); the download is audited."""
    shown = statement(centre_id, month, by=by)
    audit.record_alone(
        by,
        'billing.statement.export',
        object_type='centre',
        object_id=centre_id,
        detail={'month': month, 'format': kind, 'lines': len(shown.lines)},
    )
    return shown


def as_csv(shown: Statement) -> str:
    """One row per charge and credit note; amounts as decimal strings (never floats), credits negative."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_FIELDS)
    for line in shown.lines:
        writer.writerow(
            (
                line.day.isoformat(),
                line.kind,
                line.reference,
                line.modality,
                _safe_cell(line.description),
                line.currency,
                shown.shown(line.amount, line.currency),
            )
        )
    return out.getvalue()


def consolidated(month: str, base: str, *, by: Actor) -> Consolidated:
    """Every centre's totals for the month in `base`, converted at the rates valid on the statement's date."""
    require(by, Permission.MANAGE_BILLING)
    _, last = month_bounds(month)
    with db.reading() as session:
        centres = session.exec(select(Centre).order_by(col(Centre.name))).all()
        places = currencies.units(session)
        if base not in places:
            raise InvalidInput('Choose a currency from the list', {'base': N_('Unknown currency')})
    rows: list[ConsolidatedRow] = []
    missing: set[str] = set()
    total = Decimal(0)
    for centre in centres:
        shown = statement(centre.id or 0, month, by=by)
        with db.reading() as session:
            for code, amount in shown.totals.items():
                rate = currencies.rate_on(session, code, base, last)
                converted = currencies.round_to(amount * rate, places[base]) if rate is not None else None
                if converted is None:
                    missing.add(code)
                else:
                    total += converted
                rows.append(ConsolidatedRow(centre.name, code, amount, rate, converted))
    return Consolidated(month, base, last, rows, total, sorted(missing))


def _unpriced(session: Session, centre_id: int, first: date, last: date) -> list[Unpriced]:
    start = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    found = session.exec(
        select(Study, Report.signed_at)
        .join(Report, col(Report.study_id) == Study.id)
        .where(
            Study.centre_id == centre_id,
            Report.kind == 'report',
            col(Report.state).in_(billing.FINAL_STATES),
            col(Report.signed_at) >= start,
            col(Report.signed_at) < end,
            col(Study.id).not_in(select(Charge.study_id)),
        )
        .order_by(col(Report.signed_at))
    ).all()
    seen: dict[int, Unpriced] = {}
    for study, signed_at in found:
        if study.id not in seen and signed_at is not None:
            seen[study.id or 0] = Unpriced(
                study.id or 0, study.short_id or '', study.modalities, study.description, signed_at.date()
            )
    return list(seen.values())


def _charged(notes: Sequence[CreditNote]) -> list[int]:
    return sorted({n.charge_id for n in notes if n.charge_id is not None})


def _charge_line(charge: Charge, places: dict[str, int]) -> Line:
    return Line(
        day=charge.charged_on,
        kind='charge',
        reference=charge.short_id,
        modality=charge.modality,
        description=charge.description,
        currency=charge.currency,
        amount=currencies.round_to(Decimal(charge.amount), places.get(charge.currency, 2)),
        charge_id=charge.id,
    )


def _credit_line(note: CreditNote, corrected: dict[int | None, Charge], places: dict[str, int]) -> Line:
    charge = corrected.get(note.charge_id) if note.charge_id is not None else None
    reference = f'CN-{note.id}' + (f' · {charge.short_id}' if charge is not None and charge.short_id else '')
    return Line(
        day=note.created_at.date(),
        kind='credit',
        reference=reference,
        modality=charge.modality if charge is not None else '',
        description=note.reason,
        currency=note.currency,
        amount=-currencies.round_to(Decimal(note.amount), places.get(note.currency, 2)),
        charge_id=note.charge_id,
        credit_note_id=note.id,
    )


def _header(centre: Centre) -> CentreHeader:
    logo = centre_admin.logo_bytes(centre)
    return CentreHeader(centre.id or 0, centre.name, centre.address, centre.contact, centre.currency, logo)


def _safe_cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    return f"'{text}" if text[:1] in ('=', '+', '-', '@', '\t', '\r') else text
