"""The staff dashboard: orders per status, new orders per week, turnaround, overdue and due-soon
orders, oldest open orders."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OrderItem, OrderStatus, StatusChange, utcnow
from app.services.turnaround import DUE_SOON, OVERDUE, due_condition

WEEKS = 12
TURNAROUND_SAMPLE = 1000


def orders_per_status() -> list[tuple[OrderStatus, int]]:
    counts = dict(db.session.execute(select(Order.status_id, func.count()).group_by(Order.status_id)).all())
    statuses = db.session.scalars(select(OrderStatus).order_by(OrderStatus.position)).all()
    return [(s, counts.get(s.id, 0)) for s in statuses]


def new_orders_per_week(now: dt.datetime, weeks: int = WEEKS) -> list[tuple[dt.date, int]]:
    """Orders created in each of the last ``weeks`` weeks (Monday to Sunday), oldest first."""
    monday = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    result = []
    for back in range(weeks - 1, -1, -1):
        start = monday - dt.timedelta(weeks=back)
        end = start + dt.timedelta(weeks=1)
        count = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.created_at >= start, Order.created_at < end)
        )
        result.append((start.date(), count))
    return result


def average_turnaround_days(sample: int = TURNAROUND_SAMPLE):
    """Days from receipt (the order's creation) to its first "shipped back", over the latest ``sample``."""
    shipped = db.session.scalars(select(OrderStatus.id).where(OrderStatus.code == "shipped_back")).first()
    if shipped is None:
        return None, 0
    rows = db.session.execute(
        select(StatusChange.changed_at, Order.created_at)
        .join(Order, Order.id == StatusChange.order_id)
        .where(StatusChange.to_status_id == shipped)
        .order_by(StatusChange.changed_at.desc())
        .limit(sample)
    ).all()
    if not rows:
        return None, 0
    days = [(changed - created).total_seconds() / 86400 for changed, created in rows]
    return sum(days) / len(days), len(days)


def due_counts(today: dt.date) -> dict[str, int]:
    """Open orders overdue and due within two days (two index range counts)."""
    return {key: db.session.scalar(select(func.count()).select_from(Order).where(due_condition(key, today)))
            for key in (OVERDUE, DUE_SOON)}


def open_repeat_repairs() -> int:
    """Open (not completed) orders with at least one repeat-repair article (from the articles' repeat_of_order_id index)."""
    return db.session.scalar(
        select(func.count(func.distinct(OrderItem.order_id)))
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.repeat_of_order_id.isnot(None), Order.completed_at.is_(None))
    )


def oldest_open_orders(limit: int = 10) -> list[Order]:
    open_ids = select(OrderStatus.id).where(OrderStatus.is_final.is_(False))
    return db.session.scalars(
        select(Order).where(Order.status_id.in_(open_ids)).order_by(Order.created_at, Order.id).limit(limit)
    ).all()


class StaffDashboardView(BaseView):
    route_base = "/backend/dashboard"
    class_permission_name = "StaffDashboard"
    method_permission_name = {"index": "show"}
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        now = utcnow()
        per_status = orders_per_status()
        per_week = new_orders_per_week(now)
        turnaround, sample = average_turnaround_days()
        return self.render_template(
            "backend/dashboard.html",
            per_status=per_status, status_max=max([n for _, n in per_status] + [1]),
            per_week=per_week, week_max=max([n for _, n in per_week] + [1]),
            turnaround=turnaround, sample=sample, oldest=oldest_open_orders(), now=now,
            due=due_counts(now.date()), overdue_key=OVERDUE, due_soon_key=DUE_SOON,
            repeat_repairs=open_repeat_repairs(),
        )
