"""Turnaround promises: working days, due dates, completion.

A working day is Monday to Friday. An order is due ``turnaround_days`` working days after it came
in (the company's own promise, else ``TURNAROUND_DAYS``); working days spent waiting for the
customer's quote decision move the due date on, since they are not the service's time.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import QUOTE_SENT, Company, Order, OrderStatus, Quote, utcnow


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself when ``days`` is 0)."""
    day = start
    if days > 0 and day.weekday() >= 5:
        # from a Saturday or Sunday count on from the Friday before: the weekend adds no working
        # day, and the whole-weeks step below must start on a working day
        day -= dt.timedelta(days=day.weekday() - 4)
    # whole weeks at once: 5 working days are 7 calendar days
    weeks, days = divmod(max(days, 0), 5)
    day += dt.timedelta(weeks=weeks)
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    if end <= start:
        return 0
    total = (end - start).days
    weeks, rest = divmod(total, 7)
    count = weeks * 5
    day = start + dt.timedelta(weeks=weeks)
    for _ in range(rest):
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count += 1
    return count


def target_days(company: Optional[Company]) -> int:
    """The promised turnaround in working days for orders of ``company``."""
    if company is not None and company.turnaround_days:
        return company.turnaround_days
    return int(current_app.config.get("TURNAROUND_DAYS", 10))


def set_due_date(order: Order, company: Optional[Company] = None) -> None:
    """Give a new order its due date."""
    received = (order.created_at or utcnow()).date()
    order.due_date = add_working_days(received, target_days(company or order.company))


def add_waiting(order: Order, since: dt.datetime, until: dt.datetime) -> int:
    """The order waited for the customer from ``since`` to ``until``: those working days move
    its due date on. Returns the working days added."""
    waited = working_days_between(since.date(), until.date())
    if waited:
        order.waiting_days = (order.waiting_days or 0) + waited
        if order.due_date is not None:
            order.due_date = add_working_days(order.due_date, waited)
    return waited


def status_reached(order: Order, status: OrderStatus, at: dt.datetime) -> None:
    """An order is completed the first time it reaches a final status (reopening keeps that date
    only while it stays final)."""
    if status.is_final:
        if order.completed_at is None:
            order.completed_at = at
    else:
        order.completed_at = None


def turnaround_of(order: Order) -> Optional[int]:
    """Working days from receipt to completion, without the days waiting for the customer."""
    if order.completed_at is None:
        return None
    return max(working_days_between(order.created_at.date(), order.completed_at.date())
               - (order.waiting_days or 0), 0)


def overdue(order: Order, today: Optional[dt.date] = None) -> bool:
    """An open order past its due date."""
    return order.completed_at is None and order.due_date is not None and \
        order.due_date < (today or utcnow().date())


OVERDUE = "overdue"
DUE_SOON = "due_soon"
DUE_SOON_DAYS = 2  # calendar days: "due within 2 days" = due today, tomorrow or the day after


def due_condition(kind: str, today: Optional[dt.date] = None):
    """SQL condition for open orders (not completed) past their due date (``OVERDUE``) or due
    within ``DUE_SOON_DAYS`` calendar days (``DUE_SOON``); None for anything else. The index
    ix_order_open_due (completed_at, created_at, due_date) answers both, and gives the
    newest first without sorting."""
    today = today or utcnow().date()
    still_open = Order.completed_at.is_(None)
    if kind == OVERDUE:
        return still_open & (Order.due_date < today)
    if kind == DUE_SOON:
        return still_open & Order.due_date.between(today, today + dt.timedelta(days=DUE_SOON_DAYS))
    return None


def waiting_for_decision_column():
    """True for an order with a quote sent and not yet decided, as a column of a query of orders
    (the list reads it with its rows instead of asking again for the page's orders)."""
    return select(Quote.id).where(Quote.order_id == Order.id, Quote.state == QUOTE_SENT).exists()


def waiting_for_decision(order_ids) -> set[int]:
    """Those of ``order_ids`` with a quote sent and not yet decided: their due date moves on by
    the working days until the customer decides."""
    ids = list(order_ids)
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Quote.order_id).where(Quote.order_id.in_(ids), Quote.state == QUOTE_SENT)).all())
