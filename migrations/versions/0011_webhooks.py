"""webhooks: the companies' endpoints and their deliveries (an outbox with claims)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'webhook_endpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('company.id'), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('events', sa.String(length=200), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('paused_reason', sa.String(length=20), nullable=True),
        sa.Column('paused_at', sa.DateTime(), nullable=True),
        sa.Column('failing_since', sa.DateTime(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('ab_user.id'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_endpoint_company_id', 'webhook_endpoint', ['company_id'])
    op.create_table(
        'webhook_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=36), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), sa.ForeignKey('webhook_endpoint.id'), nullable=False),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('company.id'), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('given_up_at', sa.DateTime(), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uid', name='uq_webhook_delivery_uid'),
    )
    op.create_index('ix_webhook_delivery_next_attempt_at', 'webhook_delivery', ['next_attempt_at'])
    op.create_index('ix_webhook_delivery_company_id', 'webhook_delivery', ['company_id'])
    op.create_index('ix_webhook_delivery_endpoint_id_id', 'webhook_delivery', ['endpoint_id', 'id'])


def downgrade():
    op.drop_index('ix_webhook_delivery_endpoint_id_id', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_company_id', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_next_attempt_at', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_index('ix_webhook_endpoint_company_id', table_name='webhook_endpoint')
    op.drop_table('webhook_endpoint')
