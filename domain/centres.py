"""Diagnostic centres: who owns which patients, appointments, studies and reports, and who may see them.

A centre's own staff (the centre role, and technicians or doctors given a centre) see only their centre's rows;
a reading-group radiologist limited to some centres (ServedCentre) sees only theirs; everyone else sees every
centre. The limit is a scope, set from the caller by `access.require` (and by the screen, the route guard and
ui/threads from the browser's actor) for the rest of the call, and applied to every ORM statement of that thread or
task (SQLAlchemy's `with_loader_criteria`): a page, a DICOMweb route or a DIMSE handler can therefore not reach
another centre's row by id, by UID or in a list, even through a query written without centres in mind. System work
(jobs, start-up, the console) has no scope.

New patients, appointments and studies land in the caller's centre when the scope names one, else in the centre
given, else in the default centre (the first): with one centre nothing about the clinic changes.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Table, event, exists
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from .models import (
    Annotation,
    Appointment,
    Centre,
    Charge,
    CreditNote,
    Instance,
    KeyImage,
    Measurement,
    Modality,
    Patient,
    PerformedStep,
    Price,
    Report,
    Role,
    Series,
    ServedCentre,
    Study,
)

Scope = frozenset[int] | None  # None: every centre

_scope: ContextVar[Scope] = ContextVar('centre_scope', default=None)
_default: dict[str, int] = {}
_default_lock = threading.Lock()


def set_scope(centres: Scope) -> None:
    """Limit the rest of this thread's or task's work to these centres (access.require calls it)."""
    if _scope.get() != centres:
        _scope.set(centres)


@contextmanager
def scoped(centres: Scope) -> Iterator[None]:
    """Limit the work inside to these centres, then restore what was there."""
    token = _scope.set(centres)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Work the system does on behalf of a scoped caller that must see every centre (numbering, uniqueness)."""
    with scoped(None):
        yield


def visible(centre_id: int | None, centres: Scope) -> bool:
    """True when a row of this centre may be seen under this scope."""
    return centres is None or centre_id in centres


def several() -> bool:
    """True once the reading group serves more than one centre (screens then show and ask for the centre)."""
    from . import db

    with unscoped(), db.reading() as session:
        return len(session.exec(select(col(Centre.id)).limit(2)).all()) > 1


def default_id() -> int:
    """The centre rows land in when nothing else decides: the first one (the clinic itself)."""
    if 'id' not in _default:
        from . import db

        with _default_lock, unscoped(), db.reading() as session:
            found = session.exec(select(col(Centre.id)).order_by(col(Centre.id)).limit(1)).first()
            if found is None:
                raise RuntimeError('no centre: the schema was not migrated (domain.centres.ensure_default)')
            _default['id'] = found
    return _default['id']


def forget_default() -> None:
    """A restore or a test replaced the database: look the default centre up again."""
    _default.clear()


def ensure_default(clinic_name: str = 'ClinicPACS') -> None:
    """A schema made without the migrations (tests) gets the clinic's centre (domain.db.create_all)."""
    from . import db

    with unscoped(), db.transaction() as session:
        fill_missing(session, clinic_name)


def fill_missing(session: Session, clinic_name: str = 'ClinicPACS') -> None:
    """Make sure there is a centre and every patient, appointment and study has one (rows restored from an archive
    made before centres belong to the first)."""
    forget_default()
    with unscoped():
        if session.exec(select(col(Centre.id)).limit(1)).first() is None:
            session.add(Centre(name=clinic_name))
            session.flush()
        first = session.exec(select(col(Centre.id)).order_by(col(Centre.id)).limit(1)).one()
        for model in (Patient, Appointment, Study):
            table = _table(model)
            session.execute(table.update().where(table.c.centre_id.is_(None)).values(centre_id=first))


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


class _CentreColumn(FunctionElement[int]):
    """A row's centre column as a scope's criteria test it: `+centre_id` on SQLite, the column elsewhere.

    The unary plus keeps SQLite's planner off the centre_id index. SQLite has no statistics (nothing runs ANALYZE)
    and took that index for every scoped statement that had another condition: all of a centre's appointments,
    then sorted, for one day's worklist; all of its patients for one birth date; all of its studies for one
    accession number. A scoped statement now gets the plan of the same statement unscoped, and the centre is a
    filter on the rows it reads. PostgreSQL's planner knows how many rows a centre has: it gets the plain column.
    """

    type = Integer()
    name = 'centre_column'
    inherit_cache = True


@compiles(_CentreColumn)
def _plain_column(element: _CentreColumn, compiler: Any, **kw: Any) -> str:
    rendered: str = compiler.process(element.clauses, **kw)
    return rendered


@compiles(_CentreColumn, 'sqlite')
def _column_off_its_index(element: _CentreColumn, compiler: Any, **kw: Any) -> str:
    rendered: str = compiler.process(element.clauses, **kw)
    return f'+{rendered}'


def _within(column: Any, centres: frozenset[int]) -> Any:
    """The column names one of the centres, as a filter on rows found another way (_CentreColumn)."""
    return _CentreColumn(col(column)).in_(sorted(centres))


# Plain table aliases (not ORM entities, so no scope's criteria reach them) for the correlated lookups below.
_STUDY = _table(Study).alias('scope_study')
_SERIES = _table(Series).alias('scope_series')
_APPOINTMENT = _table(Appointment).alias('scope_appointment')


def _of_study(column: Any, centres: frozenset[int]) -> Any:
    """The row's study belongs to one of the centres: a correlated EXISTS that finds that one study by its key.

    `study_id IN (SELECT id FROM study WHERE centre_id IN …)` listed all of a centre's studies for every statement,
    even one instance fetched by id: 65 ms at 50,000 studies, against 0.3 ms unscoped.
    """
    return exists().where(_STUDY.c.id == col(column), _within(_STUDY.c.centre_id, centres))


def _of_series(column: Any, centres: frozenset[int]) -> Any:
    return exists().where(
        _SERIES.c.id == col(column), _STUDY.c.id == _SERIES.c.study_id, _within(_STUDY.c.centre_id, centres)
    )


def _of_appointment(column: Any, centres: frozenset[int]) -> Any:
    return exists().where(_APPOINTMENT.c.id == col(column), _within(_APPOINTMENT.c.centre_id, centres))


@lru_cache(maxsize=256)
def _criteria(centres: frozenset[int]) -> tuple[Any, ...]:
    """One `with_loader_criteria` per table that holds a centre's data, directly or through its study.

    Made once per scope and kept: building the thirteen options took about 1.5 ms of every scoped statement
    (a search runs five), more than most of the statements themselves.
    """
    return (
        with_loader_criteria(Patient, _within(Patient.centre_id, centres), include_aliases=True),
        with_loader_criteria(Appointment, _within(Appointment.centre_id, centres), include_aliases=True),
        with_loader_criteria(Study, _within(Study.centre_id, centres), include_aliases=True),
        with_loader_criteria(Series, _of_study(Series.study_id, centres), include_aliases=True),
        with_loader_criteria(Instance, _of_series(Instance.series_id, centres), include_aliases=True),
        with_loader_criteria(Report, _of_study(Report.study_id, centres), include_aliases=True),
        with_loader_criteria(Measurement, _of_study(Measurement.study_id, centres), include_aliases=True),
        with_loader_criteria(KeyImage, _of_study(KeyImage.study_id, centres), include_aliases=True),
        with_loader_criteria(Annotation, _of_study(Annotation.study_id, centres), include_aliases=True),
        with_loader_criteria(
            PerformedStep, _of_appointment(PerformedStep.appointment_id, centres), include_aliases=True
        ),
        with_loader_criteria(Price, _within(Price.centre_id, centres), include_aliases=True),
        with_loader_criteria(Charge, _within(Charge.centre_id, centres), include_aliases=True),
        with_loader_criteria(CreditNote, _within(CreditNote.centre_id, centres), include_aliases=True),
    )


@event.listens_for(OrmSession, 'do_orm_execute')
def _limit_to_scope(state: ORMExecuteState) -> None:
    centres = _scope.get()
    if centres is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*_criteria(centres))


@event.listens_for(Patient, 'before_insert')
@event.listens_for(Appointment, 'before_insert')
@event.listens_for(Study, 'before_insert')
def _land_in_a_centre(_mapper: Any, connection: Any, row: Any) -> None:
    centres = _scope.get()
    if row.centre_id is None:
        row.centre_id = _owner_of(connection, row)
    if row.centre_id is None:
        row.centre_id = next(iter(centres)) if centres is not None and len(centres) == 1 else default_id()
    if centres is not None and row.centre_id not in centres:
        raise ValueError(f'centre {row.centre_id} is outside the caller’s centres')


def _owner_of(connection: Any, row: Any) -> int | None:
    """An appointment or a study belongs to its patient's centre (a study without one: its appointment's)."""
    patient_id = row.patient_id if isinstance(row, Appointment) else getattr(row, 'patient_ref_id', None)
    if patient_id is not None:
        table = _table(Patient)
        found: int | None = connection.execute(select(table.c.centre_id).where(table.c.id == patient_id)).scalar()
        return found
    if isinstance(row, Study) and row.appointment_id is not None:
        table = _table(Appointment)
        found = connection.execute(select(table.c.centre_id).where(table.c.id == row.appointment_id)).scalar()
        return found
    return None


def of_user(user: Any) -> Scope:
    """The centres a member of staff sees: their centre's; a radiologist's served centres; else all (None)."""
    if user.centre_id is not None:
        return frozenset({user.centre_id})
    if user.role != Role.RADIOLOGIST.value or user.id is None:
        return None
    from . import db

    with unscoped(), db.reading() as session:
        served = session.exec(select(ServedCentre.centre_id).where(ServedCentre.user_id == user.id)).all()
    return frozenset(served) or None


_modalities: dict[str, tuple[float, Scope]] = {}
MODALITY_CACHE_S = 30.0  # a modality moved to another centre is seen by every process within this


def of_modality(ae_title: str) -> Scope:
    """The centre a calling AE title belongs to ({its centre}), or None for a modality of no centre or none known."""
    now = time.monotonic()
    cached = _modalities.get(ae_title)
    if cached is not None and now - cached[0] < MODALITY_CACHE_S:
        return cached[1]
    from . import db

    if not db.configured():
        return None
    with unscoped(), db.reading() as session:
        found = session.exec(select(Modality.centre_id).where(Modality.ae_title == ae_title)).first()
    scope = frozenset({found}) if found is not None else None
    if len(_modalities) > 1000:
        _modalities.clear()
    _modalities[ae_title] = (now, scope)
    return scope


def forget_modalities() -> None:
    """A modality was saved in this process: ask the database again."""
    _modalities.clear()
