"""serial-number search: the company's active devices by serial number, read from the index alone

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # a serial number that contains the typed text somewhere is found by walking one company's active
    # serial numbers; with the id in the index that walk never reads the table
    op.create_index("ix_device_active_serial", "device", ["company_id", "serial_number", "id"],
                    postgresql_where=sa.text("active"), sqlite_where=sa.text("active = 1"))


def downgrade():
    op.drop_index("ix_device_active_serial", table_name="device")
