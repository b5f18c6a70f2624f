"""Migration 0003 folds the names and descriptions already in the index, on SQLite and PostgreSQL."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Date, DateTime, Integer, create_engine, inspect, text
from sqlalchemy.types import Boolean

from domain import db
from domain.settings import Settings
from tests.conftest import PG_URL


@pytest.fixture
def at_0002(backend: str, settings: Settings) -> Iterator[Config]:
    """An empty database migrated to revision 0002 (a schema of its own on PostgreSQL)."""
    schema = f't_{uuid.uuid4().hex[:12]}'
    if backend == 'postgres':
        admin = create_engine(PG_URL, isolation_level='AUTOCOMMIT')
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA {schema}'))
        db.configure(
            settings.model_copy(update={'database_url': PG_URL}), connect_args={'options': f'-csearch_path={schema}'}
        )
    else:
        db.configure(settings)
    config = Config()
    config.set_main_option('script_location', str(db.MIGRATIONS_DIR))
    _migrate(config, '0002')
    try:
        yield config
    finally:
        db.dispose()
        if backend == 'postgres':
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA {schema} CASCADE'))
            admin.dispose()


def test_upgrading_folds_the_names_already_stored(at_0002: Config) -> None:
    batch = 1005  # more rows than one batch of the migration
    with db.engine().begin() as connection:
        patient = _insert(connection, 'patient', patient_id='P1', family_name='Ёлкина', given_name='Анна')
        for n in range(batch):
            _insert(
                connection,
                'study',
                study_instance_uid=f'1.2.3.{n}',
                patient_ref_id=patient,
                patient_name='ΔΙΟΝΥΣΙΟΣ' if n else 'Yamada^Tarou^^=山田^太郎',
                referring_physician='MÜLLER^Jürgen',
                description='КТ ГРУДИ',
            )
        _insert(connection, 'series', study_id=1, series_instance_uid='1.2.3.0.1', description='Épaule')
    _migrate(at_0002, '0003')
    with db.engine().connect() as connection:
        studies = connection.execute(
            text('SELECT patient_name_folded, referring_physician_folded, description_folded FROM study ORDER BY id')
        ).all()
        assert studies[0] == ('yamada^tarou=山田^太郎', 'muller^jurgen', 'кт груди')
        assert {row[0] for row in studies[1:]} == {'διονυσιοσ'} and len(studies) == batch
        assert connection.execute(text('SELECT dicom_name_folded FROM patient')).scalar_one() == 'елкина^анна'
        assert connection.execute(text('SELECT description_folded FROM series')).scalar_one() == 'epaule'


def test_downgrading_removes_the_columns_again(at_0002: Config) -> None:
    _migrate(at_0002, '0003')
    _migrate(at_0002, '0002', down=True)
    with db.engine().connect() as connection:
        columns = {column['name'] for column in inspect(connection).get_columns('study')}
    assert 'patient_name_folded' not in columns


def _migrate(config: Config, revision: str, *, down: bool = False) -> None:
    with db.engine().begin() as connection:
        config.attributes['connection'] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _insert(connection: Connection, table: str, **values: Any) -> int:
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
            else {}
            if 'JSON' in str(kind).upper()
            else ''
        )
    names = ', '.join(values)
    marks = ', '.join(f':{name}' for name in values)
    return int(
        connection.execute(text(f'INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id'), values).scalar_one()
    )
