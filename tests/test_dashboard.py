"""The staff dashboard on known data."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import OrderStatus, utcnow
from app.seed import STATUSES
from app.services.orders import change_status
from tests.factories import make_order
from tests.helpers import text


def _status(code):
    return db.session.scalars(select(OrderStatus).where(OrderStatus.code == code)).one()


def test_dashboard_figures(app, staff_client, staff_user, company_a, customer_a):
    now = utcnow()
    old = make_order(company_a, customer_a, reference="OLD")
    old.created_at = now - dt.timedelta(days=30)
    mid = make_order(company_a, customer_a, reference="MID")
    mid.created_at = now - dt.timedelta(days=10)
    new = make_order(company_a, customer_a, reference="NEW")
    done = make_order(company_a, customer_a, reference="DONE")
    done.created_at = now - dt.timedelta(days=6)
    db.session.commit()
    change_status(mid, _status("in_repair"), staff_user)
    change = change_status(done, _status("shipped_back"), staff_user)
    db.session.flush()
    change.changed_at = done.created_at + dt.timedelta(days=4)  # 4 days from receipt to shipping back
    change_status(done, _status("closed"), staff_user)
    db.session.commit()

    from app.views import dashboard
    per_status = {s.code: n for s, n in dashboard.orders_per_status()}
    assert per_status["received"] == 2 and per_status["in_repair"] == 1 and per_status["closed"] == 1
    assert per_status["rejected"] == 0
    weeks = dashboard.new_orders_per_week(now)
    assert len(weeks) == 12 and sum(n for _, n in weeks) == 4  # all four within 12 weeks
    assert weeks[-1][1] >= 1  # NEW, created now, is in the current week
    assert weeks[0][1] == 0
    days, sample = dashboard.average_turnaround_days()
    assert sample == 1 and abs(days - 4) < 0.01
    oldest = dashboard.oldest_open_orders()
    assert [o.reference for o in oldest] == ["OLD", "MID", "NEW"]  # DONE is closed

    page = staff_client.get("/backend/dashboard/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="bar"') == len(STATUSES) + 12
    assert "<script" not in html[html.index('id="chart-status"'):html.index('id="oldest-open"')]
    visible = text(page)
    assert "4,0 Tage" in visible  # German decimal comma
    table = visible[visible.index("Älteste offene Aufträge"):]
    assert table.index(old.rma_number) < table.index(mid.rma_number) < table.index(new.rma_number)
    assert done.rma_number not in table


def test_dashboard_is_for_staff_only(customer_client):
    assert customer_client.get("/backend/dashboard/").status_code == 403
