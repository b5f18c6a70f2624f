"""Rows for billing tests: centres in several currencies, procedures, studies billed by finalising their report."""

from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import col

from domain import billing, clock, db, procedures, statements
from domain.access import Actor
from domain.billing import PriceForm
from domain.models import Appointment, Centre, Patient, Study
from tests.conftest import Clinic
from tests.report_fixtures import StudyRows, final_report, make_study


def add_centre(name: str, currency: str) -> int:
    """A second (third, ...) diagnostic centre billing in `currency`."""
    with db.transaction() as session:
        centre = Centre(name=name, address=f'1 {name} Road\n{name}', currency=currency)
        session.add(centre)
        session.flush()
        return centre.id or 0


def add_procedure(clinic: Clinic, code: str, modality: str) -> int:
    return procedures.create(code, f'{code} examination', modality, by=clinic.admin.actor).id or 0


def price(clinic: Clinic, centre_id: int, amount: str, currency: str, *, procedure_id: int | None = None,
          modality: str = '', starts: date | None = None) -> int:  # fmt: skip
    """A price from `starts` (default: today) on."""
    form = PriceForm(
        centre_id=centre_id,
        procedure_id=procedure_id,
        modality=modality,
        currency=currency,
        amount=amount,
        valid_from=(starts or clock.now().date()).isoformat(),
    )
    return billing.add_price(form, by=clinic.admin.actor).id


def study_in(centre_id: int, modality: str, procedure_id: int | None = None, description: str = '') -> int:
    """A scanned study of a patient of this centre, booked for `procedure_id`; its id."""
    rows = make_study(modality=modality, description=description or f'{modality} STUDY')
    with db.transaction() as session:
        session.execute(update(Patient).where(col(Patient.id) == rows.patient_id).values(centre_id=centre_id))
        session.execute(
            update(Appointment)
            .where(col(Appointment.id) == rows.appointment_id)
            .values(centre_id=centre_id, procedure_id=procedure_id)
        )
        session.execute(update(Study).where(col(Study.id) == rows.study_id).values(centre_id=centre_id))
    return rows.study_id


def billed(clinic: Clinic, centre_id: int, modality: str, procedure_id: int | None = None) -> tuple[int, int]:
    """A study of the centre whose report the radiologist finalised (billing it): (study id, report id)."""
    study_id = study_in(centre_id, modality, procedure_id)
    return study_id, final_report(StudyRows(study_id, 0, 0, []), clinic.radiologist.actor)


def centre_actor(clinic: Clinic, centre_id: int) -> Actor:
    """The centre account as a service caller of that centre (as a sign-in makes it)."""
    account = clinic.centre
    return Actor(role=account.role, username=account.username, user_id=account.user_id, centres=frozenset({centre_id}))


def month_of(day: date) -> str:
    return day.strftime('%Y-%m')


def this_month() -> str:
    return statements.current_month()


def month_start() -> date:
    return statements.month_bounds(this_month())[0]


def yesterday() -> date:
    return clock.now().date() - timedelta(days=1)
