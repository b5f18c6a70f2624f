"""matching: folded person names and descriptions (case- and accent-insensitive C-FIND, QIDO-RS)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from domain.folding import fold, fold_person_name

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000

# NOTE: the same folding as domain/models.py's write-time listeners (_fold_patient, _fold_study, _fold_series)
# table: (folded column, the SQL it is folded from, how)
COLUMNS = {
    'study': (
        ('patient_name_folded', 'patient_name', fold_person_name),
        ('referring_physician_folded', 'referring_physician', fold_person_name),
        ('description_folded', 'description', fold),
    ),
    'series': (('description_folded', 'description', fold),),
    'patient': (('dicom_name_folded', "family_name || '^' || given_name", fold_person_name),),
}
INDEXED = (('study', 'patient_name_folded'), ('study', 'referring_physician_folded'), ('patient', 'dicom_name_folded'))


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch copy: SQLite cannot drop and rebuild `study` while series and reports point
    # at it (foreign keys are on). The columns keep their server default '' for the same reason.
    for table, columns in COLUMNS.items():
        for column, _, _ in columns:
            op.add_column(
                table,
                sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False, server_default=''),
            )
    for table, columns in COLUMNS.items():
        _fill(table, columns)
    for table, column in INDEXED:
        op.create_index(f'ix_{table}_{column}', table, [column], postgresql_ops={column: 'varchar_pattern_ops'})


def downgrade() -> None:
    for table, column in INDEXED:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
    for table, columns in COLUMNS.items():
        for column, _, _ in reversed(columns):
            op.drop_column(table, column)  # SQLite 3.35 or later drops a column in place


def _fill(table: str, columns: tuple[tuple[str, str, Callable[[str], str]], ...]) -> None:
    """Fold what the rows already hold, a batch of rows at a time (the folding is Python's, as at write time)."""
    connection = op.get_bind()
    sources = ', '.join(f'{source} AS source_{n}' for n, (_, source, _) in enumerate(columns))
    assignments = ', '.join(f'{column} = :value_{n}' for n, (column, _, _) in enumerate(columns))
    read = sa.text(f'SELECT id, {sources} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}')
    write = sa.text(f'UPDATE {table} SET {assignments} WHERE id = :row_id')
    after = 0
    while rows := connection.execute(read, {'after': after}).all():
        updates = []
        for row in rows:
            values = {f'value_{n}': how(_source(table, row[1 + n])) for n, (_, _, how) in enumerate(columns)}
            updates.append({'row_id': row[0], **values})
        connection.execute(write, updates)
        after = rows[-1][0]


def _source(table: str, text: str | None) -> str:
    # NOTE: a patient's DICOM name is Family^Given without a trailing ^ (models.Patient.dicom_name)
    return (text or '').rstrip('^') if table == 'patient' else (text or '')
