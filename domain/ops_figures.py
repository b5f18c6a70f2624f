"""Figures for the administrator's operations dashboard: what arrived per day, the data disk, the listener processes.

Each is one aggregated query (or one file-system call), cheap enough to build the admin home with on every visit.
"""

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

from sqlalchemy import case, func
from sqlmodel import col, select

from . import appointments, clock, db, heartbeats
from .access import Actor, Permission, require
from .models import ProcessHeartbeat, Study

log = logging.getLogger(__name__)

DAYS = 30
LISTENER_ROLE = 'scp'  # NOTE: the heartbeat role main.py's `scp` command starts with (jobs/heartbeat.py)


@dataclass(frozen=True)
class Day:
    """What arrived on one day of the clinic's calendar."""

    day: date
    studies: int
    images: int
    size_bytes: int


@dataclass(frozen=True)
class Daily:
    """The last days, oldest first, today last (days without arrivals included, as zeros)."""

    days: tuple[Day, ...]

    @property
    def growth_per_day(self) -> int:
        """Bytes stored per day on average, from the first day with arrivals in the period to today."""
        first = next((index for index, day in enumerate(self.days) if day.studies), None)
        if first is None:
            return 0
        counted = self.days[first:]
        return sum(day.size_bytes for day in counted) // len(counted)


@dataclass(frozen=True)
class Disk:
    """The file system holding the data directory."""

    total_bytes: int
    free_bytes: int

    def days_left(self, growth_per_day: int) -> int | None:
        """Days until the disk is full at this growth; None when nothing grows."""
        return self.free_bytes // growth_per_day if growth_per_day > 0 else None


def daily(*, by: Actor, days: int = DAYS, zone: tzinfo | None = None) -> Daily:
    """Studies, images and bytes received per day of the clinic's calendar over the last `days` days, in one query.

    A study counts on the day its first image arrived, with all its images: one row per study rather than one per
    image keeps this cheap on a year of images (and the image table has no index on its arrival time).
    """
    require(by, Permission.MANAGE_JOBS)
    zone = zone or appointments.local_zone()
    today = clock.now().astimezone(zone).date()
    calendar = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]  # oldest first
    starts = [datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC) for day in calendar]
    arrived = col(Study.first_arrival)
    bucket = case(*[(arrived >= start, index) for index, start in reversed(list(enumerate(starts)))], else_=-1)
    rows = (
        select(bucket.label('day'), col(Study.num_instances).label('images'), col(Study.size_bytes).label('size'))
        .where(arrived >= starts[0])
        .subquery()  # grouped outside: PostgreSQL cannot tell that two CASEs with bound values are the same
    )
    query = select(rows.c.day, func.count(), func.sum(rows.c.images), func.sum(rows.c.size)).group_by(rows.c.day)
    with db.reading() as session:
        found = {index: (studies, images, size) for index, studies, images, size in session.exec(query).all()}
    figures = []
    for index, day in enumerate(calendar):
        studies, images, size = found.get(index, (0, 0, 0))
        figures.append(Day(day, int(studies), int(images or 0), int(size or 0)))
    return Daily(tuple(figures))


def disk(data_dir: Path) -> Disk:
    """Size and free space of the file system the data directory is on."""
    usage = shutil.disk_usage(data_dir if data_dir.exists() else Path('.'))
    return Disk(usage.total, usage.free)


def listener_processes(now: datetime | None = None) -> int:
    """How many separate DICOM listener (`scp`) processes beat within heartbeats.ALIVE_SECONDS."""
    moment = now or clock.now()
    with db.reading() as session:
        return session.exec(
            select(func.count()).where(
                ProcessHeartbeat.role == LISTENER_ROLE,
                ProcessHeartbeat.seen_at >= moment - timedelta(seconds=heartbeats.ALIVE_SECONDS),
            )
        ).one()
