"""The operations dashboard's figures: arrivals per day of the clinic's calendar, growth per day, days of disk left."""

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from domain import clock, db, ops_figures
from domain.errors import NotAllowed
from domain.models import Study
from domain.ops_figures import Daily, Day, Disk
from tests.conftest import Clinic

EAST = timezone(timedelta(hours=3))  # a clinic three hours ahead of UTC


def _arrived(uid: str, when: datetime, images: int, size_bytes: int) -> None:
    with db.transaction() as session:
        session.add(
            Study(
                study_instance_uid=uid,
                num_instances=images,
                size_bytes=size_bytes,
                first_arrival=when.astimezone(UTC),
                last_arrival=when.astimezone(UTC),
            )
        )


def test_a_study_counts_on_the_clinics_day_its_first_image_arrived(clinic: Clinic) -> None:
    midnight = datetime.combine(clock.now().astimezone(EAST).date(), time(0, 0), tzinfo=EAST)
    _arrived('1.1', midnight + timedelta(minutes=1), images=4, size_bytes=400)
    _arrived('1.2', midnight - timedelta(minutes=1), images=2, size_bytes=200)  # late yesterday, local time
    _arrived('1.3', midnight - timedelta(days=29, minutes=-1), images=7, size_bytes=700)  # the first day shown
    _arrived('1.4', midnight - timedelta(days=29, minutes=1), images=9, size_bytes=900)  # the day before it
    figures = ops_figures.daily(by=clinic.admin.actor, zone=EAST)
    assert len(figures.days) == 30 and figures.days[-1].day == midnight.date()
    assert figures.days[-1] == Day(midnight.date(), 1, 4, 400)
    assert figures.days[-2] == Day(midnight.date() - timedelta(days=1), 1, 2, 200)
    assert figures.days[0] == Day(midnight.date() - timedelta(days=29), 1, 7, 700)
    assert sum(day.studies for day in figures.days) == 3


def test_growth_is_averaged_from_the_first_day_with_arrivals_and_gives_the_days_left() -> None:
    today = clock.now().date()
    quiet = [Day(today - timedelta(days=back), 0, 0, 0) for back in range(5, 2, -1)]
    busy = [Day(today - timedelta(days=2), 1, 10, 300), Day(today - timedelta(days=1), 0, 0, 0), Day(today, 1, 5, 0)]
    figures = Daily((*quiet, *busy))
    assert figures.growth_per_day == 100  # 300 bytes over the last three days, not over six
    assert Daily(tuple(quiet)).growth_per_day == 0
    assert Disk(10_000, 1_000).days_left(100) == 10
    assert Disk(10_000, 1_000).days_left(0) is None


@pytest.mark.parametrize('role', ['receptionist', 'technician', 'radiologist'])
def test_only_an_administrator_reads_the_figures(clinic: Clinic, role: str) -> None:
    with pytest.raises(NotAllowed):
        ops_figures.daily(by=clinic.account(role).actor)
