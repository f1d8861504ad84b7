"""one sender per mail (claims with a lease); a notification setting for messages

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_messages', sa.String(length=5), server_default='all', nullable=False))
    # "none" used to silence replies to a user's own messages too, though the setting spoke only
    # of status changes: those users now hear of replies on their own orders, nothing more.
    op.execute("UPDATE ab_user SET notify_messages = 'mine' WHERE notify_status = 'none'")


def downgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_column('notify_messages')
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
