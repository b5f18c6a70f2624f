"""billing: currencies, per-centre prices, charges frozen at finalisation, credit notes, exchange rates

Every install starts with USD, INR and AED (minor units as ISO 4217 gives them); an administrator adds any other
ISO 4217 currency. Money columns are Numeric, never float (domain.currencies).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED = {'USD': 2, 'INR': 2, 'AED': 2}  # as domain.currencies.SEEDED, copied: a migration stays as it was written


def upgrade() -> None:
    currency = op.create_table(
        'currency',
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('minor_units', sa.Integer(), nullable=False),
        sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code'),
    )
    op.create_table(
        'price',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=False),
        sa.Column('procedure_id', sa.Integer(), nullable=True),
        sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centre.id']),
        sa.ForeignKeyConstraint(['currency'], ['currency.code']),
        sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_price_centre_id'), 'price', ['centre_id'], unique=False)
    op.create_table(
        'charge',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('short_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=False),
        sa.Column('price_id', sa.Integer(), nullable=True),
        sa.Column('procedure_id', sa.Integer(), nullable=True),
        sa.Column('modality', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column('charged_on', sa.Date(), nullable=False),
        sa.Column('charged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centre.id']),
        sa.ForeignKeyConstraint(['currency'], ['currency.code']),
        sa.ForeignKeyConstraint(['price_id'], ['price.id']),
        sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('study_id'),
    )
    op.create_index(op.f('ix_charge_centre_id'), 'charge', ['centre_id'], unique=False)
    op.create_index(op.f('ix_charge_charged_on'), 'charge', ['charged_on'], unique=False)
    op.create_table(
        'credit_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=False),
        sa.Column('charge_id', sa.Integer(), nullable=True),
        sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centre.id']),
        sa.ForeignKeyConstraint(['charge_id'], ['charge.id']),
        sa.ForeignKeyConstraint(['currency'], ['currency.code']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_credit_note_centre_id'), 'credit_note', ['centre_id'], unique=False)
    op.create_index(op.f('ix_credit_note_charge_id'), 'credit_note', ['charge_id'], unique=False)
    op.create_index(op.f('ix_credit_note_month'), 'credit_note', ['month'], unique=False)
    op.create_table(
        'exchange_rate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('base', sa.String(length=3), nullable=False),
        sa.Column('rate', sa.Numeric(precision=20, scale=10), nullable=False),
        sa.Column('valid_on', sa.Date(), nullable=False),
        sa.Column('entered_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('entered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['base'], ['currency.code']),
        sa.ForeignKeyConstraint(['currency'], ['currency.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('currency', 'base', 'valid_on', name='uq_exchange_rate'),
    )
    op.create_index(op.f('ix_exchange_rate_valid_on'), 'exchange_rate', ['valid_on'], unique=False)
    now = datetime.now(UTC)
    op.bulk_insert(
        currency,
        [{'code': code, 'minor_units': units, 'added_by': 'system', 'added_at': now} for code, units in SEEDED.items()],
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_exchange_rate_valid_on'), table_name='exchange_rate')
    op.drop_table('exchange_rate')
    for index in ('ix_credit_note_month', 'ix_credit_note_charge_id', 'ix_credit_note_centre_id'):
        op.drop_index(op.f(index), table_name='credit_note')
    op.drop_table('credit_note')
    op.drop_index(op.f('ix_charge_charged_on'), table_name='charge')
    op.drop_index(op.f('ix_charge_centre_id'), table_name='charge')
    op.drop_table('charge')
    op.drop_index(op.f('ix_price_centre_id'), table_name='price')
    op.drop_table('price')
    op.drop_table('currency')
