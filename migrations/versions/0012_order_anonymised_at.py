"""retention: when an order's personal data was removed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_order") as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("repair_order") as batch_op:
        batch_op.drop_column("anonymised_at")
