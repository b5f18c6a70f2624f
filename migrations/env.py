"""Alembic environment: runs on the connection db.upgrade() hands over, or on the configured engine."""

from alembic import context
from sqlmodel import SQLModel

from domain import db, models  # noqa: F401 - registers the tables

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get('connection')
    if connection is None:
        with db.engine().begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == 'sqlite',
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
