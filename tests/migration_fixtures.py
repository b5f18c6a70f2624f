"""Databases at an older Alembic revision for the migration tests, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Date, DateTime, Integer, inspect, text
from sqlalchemy.types import Boolean

from domain import db
from domain.settings import Settings
from tests.conftest import own_database


@contextmanager
def at_revision(backend: str, settings: Settings, revision: str) -> Iterator[Config]:
    """An empty database migrated to `revision` (a schema of its own on PostgreSQL)."""
    with own_database(backend, settings):
        config = Config()
        config.set_main_option('script_location', str(db.MIGRATIONS_DIR))
        migrate(config, revision)
        yield config


def migrate(config: Config, revision: str, *, down: bool = False) -> None:
    with db.engine().begin() as connection:
        config.attributes['connection'] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def insert(connection: Connection, table: str, **values: Any) -> int:
    """A row with the given values and a plain value in every other required column; its id."""
    for column in inspect(connection).get_columns(table):
        if column['nullable'] or column['name'] in values or column['name'] == 'id' or column.get('default'):
            continue
        kind = column['type']
        values[column['name']] = (
            False
            if isinstance(kind, Boolean)
            else 0
            if isinstance(kind, Integer)
            else datetime.now(UTC)
            if isinstance(kind, DateTime)
            else date(2026, 1, 1)
            if isinstance(kind, Date)
            else '{}'  # JSON, as text
            if 'JSON' in str(kind).upper()
            else ''
        )
    names = ', '.join(f'"{name}"' for name in values)  # quoted: report has a column named "values"
    marks = ', '.join(f':{name}' for name in values)
    return int(
        connection.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING id'), values).scalar_one()
    )
