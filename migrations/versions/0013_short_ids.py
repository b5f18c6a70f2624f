"""short study IDs: eight unambiguous characters on every appointment and study (domain.short_ids)

Rows already there get a code here: an appointment its own, a study its appointment's where no other study of
that appointment took it first, otherwise its own.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # as domain.short_ids, copied: a migration stays as it was written


def upgrade() -> None:
    for table in ('appointment', 'study'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('short_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
    _fill()
    for table in ('appointment', 'study'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_short_id'), ['short_id'], unique=True)


def downgrade() -> None:
    for table in ('study', 'appointment'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_short_id'))
            batch_op.drop_column('short_id')


def _fill() -> None:
    connection = op.get_bind()
    used: set[str] = set()

    def fresh() -> str:
        while (code := ''.join(secrets.choice(ALPHABET) for _ in range(8))) in used:
            pass
        used.add(code)
        return code

    booked: dict[int, str] = {}
    for (appointment_id,) in connection.execute(sa.text('SELECT id FROM appointment ORDER BY id')):
        booked[appointment_id] = fresh()
        connection.execute(
            sa.text('UPDATE appointment SET short_id = :code WHERE id = :id'),
            {'code': booked[appointment_id], 'id': appointment_id},
        )
    taken: set[str] = set()
    for study_id, appointment_id in connection.execute(sa.text('SELECT id, appointment_id FROM study ORDER BY id')):
        code = booked.get(appointment_id) if appointment_id is not None else None
        if code is None or code in taken:
            code = fresh()
        taken.add(code)
        connection.execute(sa.text('UPDATE study SET short_id = :code WHERE id = :id'), {'code': code, 'id': study_id})
