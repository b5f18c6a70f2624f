"""retention: legal holds on patients and studies (and, from its owner, the retention rules)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
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


def downgrade() -> None:
    with op.batch_alter_table('study') as batch:
        batch.drop_column('legal_hold')
    with op.batch_alter_table('patient') as batch:
        batch.drop_column('legal_hold')
