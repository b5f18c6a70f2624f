"""interop: storage commitment requests, forwarding rules and the studies they forwarded

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'commitment_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transaction_uid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('calling_ae', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('called_ae', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('referenced', sa.JSON(), nullable=False),
        sa.Column('failed', sa.JSON(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reported_how', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('reported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('commitment_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_request_transaction_uid'), ['transaction_uid'], unique=False)
    op.create_table(
        'forwarding_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('calling_ae', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('destination_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['destination_id'], ['modality.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('forwarding_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forwarding_rule_destination_id'), ['destination_id'], unique=False)
    op.create_table(
        'forward',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=True),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('destination_id', sa.Integer(), nullable=False),
        sa.Column('ready_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['destination_id'], ['modality.id']),
        sa.ForeignKeyConstraint(['rule_id'], ['forwarding_rule.id']),
        sa.ForeignKeyConstraint(['study_id'], ['study.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rule_id', 'study_id', name='uq_forward_rule_study'),
    )
    with op.batch_alter_table('forward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forward_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_forward_study_id'), ['study_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('forward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forward_study_id'))
        batch_op.drop_index(batch_op.f('ix_forward_rule_id'))
    op.drop_table('forward')
    with op.batch_alter_table('forwarding_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forwarding_rule_destination_id'))
    op.drop_table('forwarding_rule')
    with op.batch_alter_table('commitment_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_request_transaction_uid'))
    op.drop_table('commitment_request')
