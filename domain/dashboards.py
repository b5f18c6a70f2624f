"""Reading figures for the dashboards (issue 18): turnaround from the first image to the signed report, each
radiologist's workload, studies per day by modality and by centre, and a centre's studies by where they stand.

Turnaround is counted for reports signed in the window (an addendum is not a report of its own) as whole minutes
from the study's first image to the signature; p50 and p90 by nearest rank (the value below which that share of
reports lie, one of the measured values). A radiologist sees their own figures; the administrator everyone's.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import func
from sqlmodel import col, select

from . import appointments, clock, db
from .access import Actor, Permission, require
from .errors import NotAllowed
from .models import Centre, Report, Role, Study, User
from .reading import DONE_REPORTS, READY, UNREAD

DAYS = 30
STUDY_STATES = ('arriving', 'to read', 'reporting', 'reported')  # studies_by_state's keys, in the order shown
NOT_IMAGES = {'SR', 'PR', 'KO', 'DOC'}  # a study is counted under its first modality that has images


@dataclass(frozen=True)
class Turnaround:
    reports: int
    p50_minutes: int | None
    p90_minutes: int | None


@dataclass(frozen=True)
class Workload:
    """One radiologist: reports signed in the window, drafts open now, ready studies given to them still unread."""

    reader_id: int
    name: str
    signed: int
    drafts: int
    waiting: int


@dataclass(frozen=True)
class ModalityDays:
    days: tuple[date, ...]  # oldest first, today last
    counts: dict[str, tuple[int, ...]]  # modality -> studies per day, beside `days`


def nearest_rank(values: list[int], share: float) -> int | None:
    """The value below or at which `share` of the sorted values lie (nearest-rank percentile)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def turnaround(*, by: Actor, days: int = DAYS, reader_id: int | None = None) -> Turnaround:
    """p50/p90 turnaround of the reports signed in the last `days` days (one reader's, or everyone's: admin)."""
    reader_id = _reader(by, reader_id)
    since = clock.now() - timedelta(days=days)
    query = (
        select(Study.first_arrival, Report.signed_at)
        .join(Report, col(Report.study_id) == Study.id)
        .where(Report.kind == 'report', col(Report.signed_at).is_not(None), col(Report.signed_at) >= since)
    )
    if reader_id is not None:
        query = query.where(Report.signed_by_id == reader_id)
    with db.reading() as session:
        rows = session.exec(query).all()
    minutes = [
        max(0, int((clock.as_utc(signed) - clock.as_utc(arrived)).total_seconds() // 60))
        for arrived, signed in rows
        if signed
    ]
    return Turnaround(len(minutes), nearest_rank(minutes, 0.5), nearest_rank(minutes, 0.9))


def workload(*, by: Actor, days: int = DAYS) -> list[Workload]:
    """Every active radiologist's workload, most signed first (administrators)."""
    require(by, Permission.ASSIGN_STUDIES)
    with db.reading() as session:
        readers = session.exec(select(User).where(User.role == Role.RADIOLOGIST.value, col(User.active))).all()
    found = [_workload(reader.id or 0, reader.full_name or reader.username, days) for reader in readers]
    return sorted(found, key=lambda w: (-w.signed, w.name))


def my_workload(*, by: Actor, days: int = DAYS) -> Workload:
    """The signed-in radiologist's own workload."""
    require(by, Permission.WRITE_REPORTS)
    return _workload(by.user_id or 0, by.username, days)


def studies_by_modality(*, by: Actor, days: int = DAYS, zone: tzinfo | None = None) -> ModalityDays:
    """Studies per day of the clinic's calendar by modality, over the last `days` days (administrators)."""
    require(by, Permission.MANAGE_JOBS)
    zone = zone or appointments.local_zone()
    calendar, start = _calendar(days, zone)
    with db.reading() as session:
        rows = session.exec(select(Study.first_arrival, Study.modalities).where(Study.first_arrival >= start)).all()
    return _per_day(calendar, zone, ((arrived, _first_with_images(modalities)) for arrived, modalities in rows))


def _first_with_images(modalities: str) -> str:
    """A study's modality as counted: its first one that has images."""
    shown = [m for m in modalities.split('\\') if m]
    return next((m for m in shown if m not in NOT_IMAGES), shown[0] if shown else 'OT')


def _per_day(calendar: tuple[date, ...], zone: tzinfo, arrivals: Iterable[tuple[datetime, str]]) -> ModalityDays:
    """Studies per calendar day by key, from (first arrival, key) pairs."""
    per_day: dict[str, Counter[date]] = defaultdict(Counter)
    for arrived, key in arrivals:
        per_day[key][clock.as_utc(arrived).astimezone(zone).date()] += 1
    return ModalityDays(
        calendar, {key: tuple(counts[day] for day in calendar) for key, counts in sorted(per_day.items())}
    )


def studies_by_centre(*, by: Actor, days: int = DAYS, zone: tzinfo | None = None) -> ModalityDays:
    """Studies per day of the clinic's calendar by centre (keyed by its name), over the last `days` days."""
    require(by, Permission.MANAGE_JOBS)
    zone = zone or appointments.local_zone()
    calendar, start = _calendar(days, zone)
    with db.reading() as session:
        rows = session.exec(
            select(Study.first_arrival, Centre.name)
            .join(Centre, col(Centre.id) == Study.centre_id)
            .where(Study.first_arrival >= start)
        ).all()
    return _per_day(calendar, zone, rows)


def studies_by_state(*, by: Actor, days: int = DAYS) -> dict[str, int]:
    """The caller's studies that arrived in the last `days` days by where they stand: still arriving, waiting to be
    read, a report being written, reported (a centre sees its own: domain.centres)."""
    require(by, Permission.VIEW_STUDIES)
    since = clock.now() - timedelta(days=days)
    reports = (
        select(Report.study_id, func.max(Report.state).label('state'))
        .where(Report.kind == 'report')
        .group_by(col(Report.study_id))
        .subquery()
    )
    with db.reading() as session:
        rows = session.exec(
            select(Study.state, reports.c.state)
            .select_from(Study)
            .outerjoin(reports, reports.c.study_id == Study.id)
            .where(Study.first_arrival >= since)
        ).all()
    counts: Counter[str] = Counter()
    for study_state, report_state in rows:
        if report_state in DONE_REPORTS:
            counts['reported'] += 1
        elif report_state == 'draft':
            counts['reporting'] += 1
        elif study_state == READY:
            counts['to read'] += 1
        else:
            counts['arriving'] += 1
    return {state: counts[state] for state in STUDY_STATES}


def _calendar(days: int, zone: tzinfo) -> tuple[tuple[date, ...], datetime]:
    today = clock.now().astimezone(zone).date()
    calendar = tuple(today - timedelta(days=back) for back in range(days - 1, -1, -1))
    return calendar, datetime.combine(calendar[0], time(0, 0), tzinfo=zone).astimezone(UTC)


def _workload(reader_id: int, name: str, days: int) -> Workload:
    since = clock.now() - timedelta(days=days)
    with db.reading() as session:
        signed = session.exec(
            select(func.count()).where(
                Report.kind == 'report', Report.signed_by_id == reader_id, col(Report.signed_at) >= since
            )
        ).one()
        drafts = session.exec(
            select(func.count()).where(Report.kind == 'report', Report.state == 'draft', Report.author_id == reader_id)
        ).one()
        waiting = session.exec(select(func.count()).where(*UNREAD, Study.assigned_to_id == reader_id)).one()
    return Workload(reader_id, name, int(signed), int(drafts), int(waiting))


def _reader(by: Actor, reader_id: int | None) -> int | None:
    """Whose turnaround: an administrator's choice (None: everyone), a radiologist's own, a centre's of its studies
    (domain.centres limits the query to them)."""
    if by.role == Role.ADMIN.value:
        return reader_id
    if by.role == Role.CENTRE.value:
        require(by, Permission.VIEW_REPORTS)
        if reader_id is not None:
            raise NotAllowed('Only your centre’s figures')
        return None
    require(by, Permission.WRITE_REPORTS)
    if reader_id not in (None, by.user_id):
        raise NotAllowed('Only your own figures')
    return by.user_id
