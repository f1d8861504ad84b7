"""the language of a public-form order, for the customer's mails

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('repair_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table('repair_order', schema=None) as batch_op:
        batch_op.drop_column('language')
