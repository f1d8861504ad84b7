"""idempotency keys: a retried new order returns the first order instead of a second one

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotency_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('ab_user.id', ondelete='CASCADE'), nullable=True),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('repair_order.id', ondelete='CASCADE'), nullable=True),
        sa.Column('response_status', sa.Integer(), nullable=True),
        sa.Column('response_body', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_key_user_key'),
    )
    op.create_index('uq_idempotency_key_public', 'idempotency_key', ['key'], unique=True,
                    sqlite_where=sa.text('user_id IS NULL'), postgresql_where=sa.text('user_id IS NULL'))
    op.create_index('ix_idempotency_key_created', 'idempotency_key', ['created_at'])
    op.create_index('ix_idempotency_key_order_id', 'idempotency_key', ['order_id'])


def downgrade():
    op.drop_index('ix_idempotency_key_order_id', table_name='idempotency_key')
    op.drop_index('ix_idempotency_key_created', table_name='idempotency_key')
    op.drop_index('uq_idempotency_key_public', table_name='idempotency_key')
    op.drop_table('idempotency_key')
