"""reported studies: a mark on the study, set when its report is signed, so the reading worklist reads only the unread

The worklist asked every ready study whether a final report of it existed: a walk over every study ever read, which
grows by the day. Studies already there are marked by the reports they have.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        sa.text(
            'UPDATE study SET reported = :yes WHERE EXISTS (SELECT 1 FROM report WHERE report.study_id = study.id'
            " AND report.state IN ('final', 'addended'))"
        ).bindparams(yes=True)
    )
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.create_index('ix_study_unread', ['reported', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_index('ix_study_unread')
        batch_op.drop_column('reported')
