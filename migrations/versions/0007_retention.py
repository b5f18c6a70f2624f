"""retention: legal holds on patients and studies, retention rules and the runs an administrator confirmed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('patient') as batch:
        batch.add_column(sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('study') as batch:
        batch.add_column(sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'retention_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('min_age_months', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'retention_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=True),
        sa.Column('rule_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('removed', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('freed_bytes', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['rule_id'], ['retention_rule.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_run_rule_id'), ['rule_id'], unique=False)
    op.create_table(
        'retention_run_study',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['retention_run.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'study_id', name='uq_retention_run_study'),
    )
    with op.batch_alter_table('retention_run_study', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_run_study_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('retention_run_study', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_run_study_run_id'))
    op.drop_table('retention_run_study')
    with op.batch_alter_table('retention_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_run_rule_id'))
    op.drop_table('retention_run')
    op.drop_table('retention_rule')
    with op.batch_alter_table('study') as batch:
        batch.drop_column('legal_hold')
    with op.batch_alter_table('patient') as batch:
        batch.drop_column('legal_hold')
