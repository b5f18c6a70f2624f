"""trust: multi-factor sign-in, sign-in tickets, modality host and TLS checks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mfa_secret', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('mfa_enabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('ticket_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='staff')
        )
        batch_op.create_unique_constraint('uq_user_session_ticket_hash', ['ticket_hash'])
    with op.batch_alter_table('modality', schema=None) as batch_op:
        # a modality entered without a host keeps being accepted from anywhere until the admin enters one
        batch_op.add_column(sa.Column('any_host', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('tls_required', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE modality SET any_host = (host = '')")
    with op.batch_alter_table('modality', schema=None) as batch_op:
        batch_op.alter_column('any_host', server_default=None)
        batch_op.alter_column('tls_required', server_default=None)
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('modality', schema=None) as batch_op:
        batch_op.drop_column('tls_required')
        batch_op.drop_column('any_host')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('kind')
        batch_op.drop_constraint('uq_user_session_ticket_hash', type_='unique')
        batch_op.drop_column('ticket_expires_at')
        batch_op.drop_column('ticket_hash')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('mfa_enabled_at')
        batch_op.drop_column('mfa_secret')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
