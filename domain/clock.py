"""The clinic's clock: aware UTC datetimes everywhere (SQLModel stores them as UTC); tests may move it."""

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC) + _offset


def as_utc(moment: datetime) -> datetime:
    """A datetime read from the database as an aware UTC datetime (SQLite hands back naive UTC, PostgreSQL aware)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests of timeouts and lockouts)."""
    global _offset
    _offset += delta


def reset() -> None:
    """Back to the real time."""
    global _offset
    _offset = timedelta(0)
