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


def test_an_install_with_data_upgrades_from_the_first_release(tmp_path: Path) -> None:
    """SQLite: Alembic copies a changed table and drops the original while other tables' rows point at it."""
    from alembic import command
    from alembic.config import Config

    from tests.migration_fixtures import insert

    db.configure(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    try:
        config = Config()
        config.set_main_option('script_location', str(db.MIGRATIONS_DIR))
        with db.engine().begin() as connection:
            config.attributes['connection'] = connection
            command.upgrade(config, '0001')
        with db.engine().begin() as connection:
            user = insert(connection, 'user', username='u', role='admin', password_hash='x')
            insert(connection, 'user_session', token_hash='t', user_id=user)
            patient = insert(connection, 'patient', patient_id='P1', family_name='A')
            modality = insert(connection, 'modality', ae_title='CT1')
            booked = insert(connection, 'appointment', patient_id=patient, modality_id=modality, accession_number='A1')
            for uid in ('1.2', '1.3'):
                study = insert(
                    connection, 'study', study_instance_uid=uid, patient_ref_id=patient, appointment_id=booked
                )
            insert(connection, 'series', study_id=study, series_instance_uid='1.3.1')
        db.upgrade()
        with db.engine().connect() as connection:
            counts = {
                table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in ('user', 'user_session', 'patient', 'modality', 'appointment', 'study', 'series')
            }
            foreign_keys = connection.execute(text('PRAGMA foreign_keys')).scalar_one()
            booked_code = connection.execute(text('SELECT short_id FROM appointment')).scalar_one()
            study_codes = connection.execute(text('SELECT short_id FROM study ORDER BY id')).scalars().all()
        assert counts == {**dict.fromkeys(counts, 1), 'study': 2}
        # 0013: a short study ID on every row; the first study of a booking takes the booking's, the second its own
        assert len(booked_code) == 8 and study_codes[0] == booked_code
        assert len(study_codes[1]) == 8 and study_codes[1] != booked_code
        assert foreign_keys == 1, 'foreign keys are checked again after the migration'
        assert not _differences()
    finally:
        db.dispose()
