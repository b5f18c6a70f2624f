"""diagnostic centres: a centre owns its patients, appointments and studies (domain.centres)

Every install gets one centre, the clinic itself (named as the clinic's settings name it); every row already there
belongs to it, so with one centre nothing changes. Staff get a centre only when they work for one; the modalities
of a centre push into it; a reading-group radiologist may be limited to the centres they read for (served_centre).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 21:00:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNED = ('patient', 'appointment', 'study')  # rows that always belong to a centre
OPTIONAL = ('user', 'modality')  # rows that may name one


def upgrade() -> None:
    op.create_table(
        'centre',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('logo', sa.Text(), server_default='', nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'served_centre',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centre.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('user_id', 'centre_id'),
    )
    _first_centre()
    for table in (*OWNED, *OPTIONAL):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_centre_id', 'centre', ['centre_id'], ['id'])
            if table != 'modality':
                batch_op.create_index(batch_op.f(f'ix_{table}_centre_id'), ['centre_id'], unique=False)
    for table in OWNED:
        op.execute(sa.text(f'UPDATE {table} SET centre_id = 1'))


def downgrade() -> None:
    for table in (*OPTIONAL, *OWNED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table != 'modality':
                batch_op.drop_index(batch_op.f(f'ix_{table}_centre_id'))
            batch_op.drop_constraint(f'fk_{table}_centre_id', type_='foreignkey')
            batch_op.drop_column('centre_id')
    op.drop_table('served_centre')
    op.drop_table('centre')


def _first_centre() -> None:
    connection = op.get_bind()
    asked = sa.text("SELECT key, value FROM setting WHERE key IN ('clinic_name', 'clinic_address', 'clinic_logo')")
    settings = dict(connection.execute(asked).all())

    def setting(key: str, default: str) -> str:
        value = settings.get(key)
        if isinstance(value, str):  # a JSON column may come back as its text
            try:
                value = json.loads(value)
            except ValueError:
                pass
        return value if isinstance(value, str) and value else default

    centre = sa.table(
        'centre',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('address', sa.String),
        sa.column('contact', sa.String),
        sa.column('currency', sa.String),
        sa.column('logo', sa.Text),
        sa.column('active', sa.Boolean),
        sa.column('created_at', sqlmodel.sql.sqltypes.UTCDateTime),
    )
    op.bulk_insert(
        centre,
        [
            {
                'id': 1,
                'name': setting('clinic_name', 'ClinicPACS')[:120],
                'address': setting('clinic_address', '')[:500],
                'contact': '',
                'currency': 'USD',
                'logo': setting('clinic_logo', ''),
                'active': True,
                'created_at': datetime.now(UTC),
            }
        ],
    )
    if connection.dialect.name == 'postgresql':
        op.execute(sa.text("SELECT setval(pg_get_serial_sequence('centre', 'id'), 1)"))
