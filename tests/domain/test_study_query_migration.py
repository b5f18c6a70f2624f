"""Migration 0003 folds the names and descriptions already in the index, on SQLite and PostgreSQL."""

from collections.abc import Iterator

import pytest
from alembic.config import Config
from sqlalchemy import inspect, text

from domain import db
from domain.settings import Settings
from tests.migration_fixtures import at_revision, insert, migrate


@pytest.fixture
def at_0002(backend: str, settings: Settings) -> Iterator[Config]:
    with at_revision(backend, settings, '0002') as config:
        yield config


def test_upgrading_folds_the_names_already_stored(at_0002: Config) -> None:
    batch = 1005  # more rows than one batch of the migration
    with db.engine().begin() as connection:
        patient = insert(connection, 'patient', patient_id='P1', family_name='Ёлкина', given_name='Анна')
        for n in range(batch):
            insert(
                connection,
                'study',
                study_instance_uid=f'1.2.3.{n}',
                patient_ref_id=patient,
                patient_name='ΔΙΟΝΥΣΙΟΣ' if n else 'Yamada^Tarou^^=山田^太郎',
                referring_physician='MÜLLER^Jürgen',
                description='КТ ГРУДИ',
            )
        insert(connection, 'series', study_id=1, series_instance_uid='1.2.3.0.1', description='Épaule')
    migrate(at_0002, '0003')
    with db.engine().connect() as connection:
        studies = connection.execute(
            text('SELECT patient_name_folded, referring_physician_folded, description_folded FROM study ORDER BY id')
        ).all()
        assert studies[0] == ('yamada^tarou=山田^太郎', 'muller^jurgen', 'кт груди')
        assert {row[0] for row in studies[1:]} == {'διονυσιοσ'} and len(studies) == batch
        assert connection.execute(text('SELECT dicom_name_folded FROM patient')).scalar_one() == 'елкина^анна'
        assert connection.execute(text('SELECT description_folded FROM series')).scalar_one() == 'epaule'


def test_downgrading_removes_the_columns_again(at_0002: Config) -> None:
    migrate(at_0002, '0003')
    migrate(at_0002, '0002', down=True)
    with db.engine().connect() as connection:
        columns = {column['name'] for column in inspect(connection).get_columns('study')}
    assert 'patient_name_folded' not in columns
