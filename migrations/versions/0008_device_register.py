"""the companies' device registers; warranty and repeat repairs on the articles of orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('company.id'), nullable=False),
        sa.Column('serial_number', sa.String(length=100), nullable=False),
        sa.Column('article_number', sa.String(length=100), nullable=True),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('delivered_on', sa.Date(), nullable=True),
        sa.Column('warranty_until', sa.Date(), nullable=True),
        sa.Column('location', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('company_id', 'serial_number', name='uq_device_company_serial'),
    )
    op.create_index('ix_device_company_id', 'device', ['company_id'])
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warranty_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('in_warranty', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('repeat_of_order_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_order_item_in_warranty', ['in_warranty'], unique=False)
        batch_op.create_index('ix_order_item_repeat_of_order_id', ['repeat_of_order_id'], unique=False)
        batch_op.create_index('ix_order_item_company_serial', ['company_id', 'serial_number'], unique=False)
        batch_op.create_foreign_key('fk_order_item_repeat_of_order', 'repair_order', ['repeat_of_order_id'], ['id'])


def downgrade():
    with op.batch_alter_table('order_item', schema=None) as batch_op:
        batch_op.drop_constraint('fk_order_item_repeat_of_order', type_='foreignkey')
        batch_op.drop_index('ix_order_item_company_serial')
        batch_op.drop_index('ix_order_item_repeat_of_order_id')
        batch_op.drop_index('ix_order_item_in_warranty')
        batch_op.drop_column('repeat_of_order_id')
        batch_op.drop_column('in_warranty')
        batch_op.drop_column('warranty_until')
    op.drop_index('ix_device_company_id', table_name='device')
    op.drop_table('device')
