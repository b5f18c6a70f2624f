"""associations: each association a DICOM peer opened (accepted or rejected, with what it did) for the modality page

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'dicom_association',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('ae_title', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('tls', sa.Boolean(), nullable=False),
        sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('images', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('queries', sa.Integer(), nullable=False),
        sa.Column('echoes', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('dicom_association', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dicom_association_at'), ['at'], unique=False)
        batch_op.create_index('ix_dicom_association_ae_title_at', ['ae_title', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dicom_association', schema=None) as batch_op:
        batch_op.drop_index('ix_dicom_association_ae_title_at')
        batch_op.drop_index(batch_op.f('ix_dicom_association_at'))
    op.drop_table('dicom_association')
