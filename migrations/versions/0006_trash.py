"""trash: deleted studies and series kept for a while (their index rows as JSON, their files under trash/)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'trash_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('state_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=True),
        sa.Column('study_instance_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('series_instance_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('patient_ref_id', sa.Integer(), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('trashed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('trashed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('num_series', sa.Integer(), nullable=False),
        sa.Column('num_instances', sa.Integer(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('rows', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('trash_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trash_item_study_id'), ['study_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trash_item_study_instance_uid'), ['study_instance_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_trash_item_trashed_at'), ['trashed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trash_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trash_item_trashed_at'))
        batch_op.drop_index(batch_op.f('ix_trash_item_study_instance_uid'))
        batch_op.drop_index(batch_op.f('ix_trash_item_study_id'))
    op.drop_table('trash_item')
