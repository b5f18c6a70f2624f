"""Migration 0016 marks the studies whose report was already signed, so they stay off the reading worklist."""

from collections.abc import Iterator

import pytest
from alembic.config import Config
from sqlalchemy import inspect, text

from domain import db
from domain.settings import Settings
from tests.migration_fixtures import at_revision, insert, migrate


@pytest.fixture
def at_0015(backend: str, settings: Settings) -> Iterator[Config]:
    with at_revision(backend, settings, '0015') as config:
        yield config


def test_upgrading_marks_the_studies_with_a_final_or_addended_report(at_0015: Config) -> None:
    reports = {'1.1': 'final', '1.2': 'addended', '1.3': 'draft', '1.4': None}
    with db.engine().begin() as connection:
        author = insert(connection, 'user', username='doctor', role='radiologist', password_hash='x')
        template = insert(connection, 'report_template', code='t', name='t')
        for uid, state in reports.items():
            study = insert(connection, 'study', study_instance_uid=uid, state='ready')
            if state:
                insert(connection, 'report', study_id=study, template_id=template, state=state, author_id=author)
    db.upgrade()  # as an install does: on SQLite, foreign keys off while Alembic copies the study table
    with db.engine().connect() as connection:
        marked = dict(connection.execute(text('SELECT study_instance_uid, reported FROM study')).all())
    assert {uid: bool(value) for uid, value in marked.items()} == {'1.1': True, '1.2': True, '1.3': False, '1.4': False}


def test_downgrading_removes_the_mark_again(at_0015: Config) -> None:
    migrate(at_0015, '0016')
    migrate(at_0015, '0015', down=True)
    with db.engine().connect() as connection:
        columns = {column['name'] for column in inspect(connection).get_columns('study')}
        indexes = {index['name'] for index in inspect(connection).get_indexes('study')}
    assert 'reported' not in columns and 'ix_study_unread' not in indexes
