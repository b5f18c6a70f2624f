"""Alembic owns the schema: the migrations must build exactly what the models declare."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from domain import db, models  # noqa: F401 - registers the tables
from domain.settings import Settings
from tests.conftest import PG_URL


def _differences() -> list:
    with db.engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={'compare_type': True})
        return compare_metadata(context, SQLModel.metadata)


def test_migrations_on_sqlite_match_the_models(tmp_path: Path) -> None:
    db.configure(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    try:
        db.upgrade()
        differences = _differences()
    finally:
        db.dispose()
    assert not differences, f'run `make migration`: {differences}'


def test_migrations_on_postgresql_match_the_models(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip('PostgreSQL variant off: set PACS_TEST_DATABASE_URL')
    schema = 'migration_check'
    admin = create_engine(PG_URL, isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS {schema} CASCADE'))
        connection.execute(text(f'CREATE SCHEMA {schema}'))
    db.configure(
        Settings(_env_file=None, data_dir=tmp_path, database_url=PG_URL),  # type: ignore[call-arg]
        connect_args={'options': f'-csearch_path={schema}'},
    )
    try:
        db.upgrade()
        differences = _differences()
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA {schema} CASCADE'))
        admin.dispose()
    assert not differences, f'run `make migration`: {differences}'
