"""two-factor login: a TOTP secret per user, single-use recovery codes, a company's requirement

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.add_column(sa.Column("require_two_factor", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])


def downgrade():
    op.drop_table("recovery_code")
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.drop_column("require_two_factor")
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
