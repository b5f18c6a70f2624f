"""viewer: hanging protocols (shared and per radiologist) and each user's viewer shortcuts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'hanging_protocol',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('pattern', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('priors', sa.Integer(), nullable=False),
        sa.Column('stages', sa.JSON(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('hanging_protocol', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hanging_protocol_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hanging_protocol_modality'), ['modality'], unique=False)
    op.create_table(
        'viewer_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('shortcuts', sa.JSON(), nullable=False),
        sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
        sa.PrimaryKeyConstraint('user_id'),
    )


def downgrade() -> None:
    op.drop_table('viewer_preference')
    with op.batch_alter_table('hanging_protocol', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hanging_protocol_modality'))
        batch_op.drop_index(batch_op.f('ix_hanging_protocol_owner_id'))
    op.drop_table('hanging_protocol')
