"""quotes (cost estimates) with lines; approval settings; turnaround promises

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:40:00

"""
import datetime as dt
import os

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _add_working_days(start: dt.date, days: int) -> dt.date:
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def upgrade():
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_limit', sa.Numeric(12, 2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('po_number_required', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('turnaround_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('may_approve_quotes', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('repair_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('waiting_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_order_open_due', ['completed_at', 'created_at', 'due_date'], unique=False)
        batch_op.create_index('ix_order_company_completed', ['company_id', 'completed_at'], unique=False)

    op.create_table(
        'quote',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('repair_order.id'), nullable=False),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('company.id'), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('vat_rate', sa.Numeric(5, 2), nullable=False),
        sa.Column('net', sa.Numeric(12, 2), nullable=False),
        sa.Column('vat', sa.Numeric(12, 2), nullable=False),
        sa.Column('gross', sa.Numeric(12, 2), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('ab_user.id'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('sent_by_id', sa.Integer(), sa.ForeignKey('ab_user.id'), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), sa.ForeignKey('ab_user.id'), nullable=True),
        sa.Column('po_number', sa.String(length=50), nullable=True),
        sa.Column('reject_action', sa.String(length=10), nullable=True),
        sa.Column('auto_approved_limit', sa.Numeric(12, 2), nullable=True),
        sa.Column('reminded_at', sa.DateTime(), nullable=True),
        sa.Column('expiry_notified_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_id', 'version', name='uq_quote_order_version'),
        sa.CheckConstraint("state IN ('draft', 'sent', 'accepted', 'rejected', 'replaced')",
                           name='ck_quote_state'),
    )
    op.create_index('ix_quote_order_id', 'quote', ['order_id'])
    op.create_index('ix_quote_company_id', 'quote', ['company_id'])
    op.create_index('ix_quote_state_valid', 'quote', ['state', 'valid_until'])
    op.create_table(
        'quote_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('quote_id', sa.Integer(), sa.ForeignKey('quote.id'), nullable=False),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('company.id'), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('quantity', sa.Numeric(10, 2), nullable=False),
        sa.Column('unit_price', sa.Numeric(12, 2), nullable=False),
        sa.Column('amount', sa.Numeric(12, 2), nullable=False),
        sa.Column('item_id', sa.Integer(), sa.ForeignKey('order_item.id'), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.CheckConstraint('quantity > 0', name='ck_quote_line_quantity'),
        sa.CheckConstraint('unit_price >= 0', name='ck_quote_line_price'),
    )
    op.create_index('ix_quote_line_quote_id', 'quote_line', ['quote_id'])

    # a status for the orders whose quote the customer rejected (staff then return or dispose)
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT COUNT(*) FROM order_status")).scalar():
        if not conn.execute(sa.text("SELECT id FROM order_status WHERE code = 'quote_rejected'")).first():
            position = conn.execute(sa.text(
                "SELECT position FROM order_status WHERE code = 'estimate_sent'")).scalar() or 30
            conn.execute(sa.text(
                "INSERT INTO order_status (code, label_de, label_en, position, is_initial, is_final) "
                "VALUES ('quote_rejected', 'Kostenvoranschlag abgelehnt', 'Quote rejected', :p, :f, :f)"),
                {"p": position + 5, "f": False})

    # orders that reached a final status are completed; every order gets its due date
    # (the default promise, TURNAROUND_DAYS working days after it came in)
    conn.execute(sa.text(
        "UPDATE repair_order SET completed_at = (SELECT MIN(sc.changed_at) FROM status_change sc "
        "JOIN order_status s ON s.id = sc.to_status_id WHERE sc.order_id = repair_order.id AND s.is_final = :t) "
        "WHERE status_id IN (SELECT id FROM order_status WHERE is_final = :t)"), {"t": True})
    days = int(os.environ.get("TURNAROUND_DAYS") or 10)
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, created_at FROM repair_order WHERE id > :last ORDER BY id LIMIT 5000"),
            {"last": last}).all()
        if not rows:
            break
        values = []
        for pk, created in rows:
            if isinstance(created, str):
                created = dt.datetime.fromisoformat(created)
            values.append({"pk": pk, "due": _add_working_days(created.date(), days)})
        conn.execute(sa.text("UPDATE repair_order SET due_date = :due WHERE id = :pk"), values)
        last = rows[-1][0]


def downgrade():
    op.drop_index('ix_quote_line_quote_id', table_name='quote_line')
    op.drop_table('quote_line')
    op.drop_index('ix_quote_state_valid', table_name='quote')
    op.drop_index('ix_quote_company_id', table_name='quote')
    op.drop_index('ix_quote_order_id', table_name='quote')
    op.drop_table('quote')
    op.execute("DELETE FROM order_status WHERE code = 'quote_rejected' AND id NOT IN "
               "(SELECT status_id FROM repair_order) AND id NOT IN (SELECT to_status_id FROM status_change)")
    with op.batch_alter_table('repair_order', schema=None) as batch_op:
        batch_op.drop_index('ix_order_company_completed')
        batch_op.drop_index('ix_order_open_due')
        batch_op.drop_column('completed_at')
        batch_op.drop_column('waiting_days')
        batch_op.drop_column('due_date')
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_column('may_approve_quotes')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('turnaround_days')
        batch_op.drop_column('po_number_required')
        batch_op.drop_column('approval_limit')

