"""heartbeats: each serve, worker and scp process writes a row every few seconds; /health counts the live workers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'process_heartbeat',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('host', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('jobs', sa.Boolean(), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('process_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_heartbeat_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('process_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_heartbeat_seen_at'))
    op.drop_table('process_heartbeat')
