"""A company's own figures: orders per month, turnaround, on time, quotes, top articles.

Every figure covers the last 12 months (from the first day of the month eleven months ago)
and is aggregated in SQL with the company's id as the first condition, so the work grows with
that company's orders only, never with other companies'. The turnaround is computed in SQL from
dates with the same working-day rule as :func:`app.services.turnaround.turnaround_of`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import Integer, Numeric, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models import QUOTE_ACCEPTED, QUOTE_REJECTED, Order, OrderItem, Quote, utcnow

MONTHS = 12
TOP_ARTICLES = 10


# -- SQL pieces that SQLite and PostgreSQL spell differently ---------------------------------

class day_number(FunctionElement):
    """Days since 1970-01-01 of a date or a timestamp's date (an integer)."""

    type = Integer()
    inherit_cache = True


@compiles(day_number)
def _day_number_pg(element, compiler, **kw):
    return "(CAST(%s AS DATE) - DATE '1970-01-01')" % compiler.process(element.clauses, **kw)


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw):
    return "CAST(julianday(date(%s)) - 2440587.5 AS INTEGER)" % compiler.process(element.clauses, **kw)


class year_month(FunctionElement):
    """A timestamp's month as text, "2026-03"."""

    inherit_cache = True


@compiles(year_month)
def _year_month_pg(element, compiler, **kw):
    return "to_char(%s, 'YYYY-MM')" % compiler.process(element.clauses, **kw)


@compiles(year_month, "sqlite")
def _year_month_sqlite(element, compiler, **kw):
    return "strftime('%%Y-%%m', %s)" % compiler.process(element.clauses, **kw)


class hours_between(FunctionElement):
    """Hours from the first timestamp to the second (a fraction)."""

    type = Numeric()
    inherit_cache = True


@compiles(hours_between)
def _hours_between_pg(element, compiler, **kw):
    start, end = list(element.clauses)
    return "(EXTRACT(EPOCH FROM (%s - %s)) / 3600.0)" % (compiler.process(end, **kw), compiler.process(start, **kw))


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return "((julianday(%s) - julianday(%s)) * 24.0)" % (compiler.process(end, **kw), compiler.process(start, **kw))


def _working_days_through(day):
    """Working days (Monday to Friday) from Monday 1969-12-29 up to and including ``day``:
    the difference of two of these is turnaround.working_days_between."""
    n = day_number(day) + 4  # 1970-01-01 was a Thursday (3 days after a Monday), +1 to include ``day``
    return (n // 7) * 5 + case((n % 7 > 5, 5), else_=n % 7)


def turnaround_sql(created, completed, waiting):
    """SQL for turnaround.turnaround_of: working days after receipt up to completion, less waiting."""
    between = _working_days_through(completed) - _working_days_through(created) - waiting
    return case((between < 0, 0), else_=between)


# -- the figures ----------------------------------------------------------------------------------

@dataclass
class Figures:
    since: dt.date
    per_month: list[tuple[dt.date, int]] = field(default_factory=list)
    orders: int = 0
    completed: int = 0
    turnaround: Optional[float] = None  # average working days
    with_due_date: int = 0
    on_time: int = 0
    quotes_decided: int = 0
    quotes_accepted: int = 0
    decision_hours: Optional[float] = None  # average, without the automatically approved
    decisions_timed: int = 0
    top_articles: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def on_time_share(self) -> Optional[float]:
        return self.on_time / self.with_due_date if self.with_due_date else None

    @property
    def accepted_share(self) -> Optional[float]:
        return self.quotes_accepted / self.quotes_decided if self.quotes_decided else None

    @property
    def month_max(self) -> int:
        return max([n for _, n in self.per_month] + [1])


def window_start(today: dt.date, months: int = MONTHS) -> dt.date:
    """The first day of the month ``months - 1`` months before ``today``'s month."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def company_figures(company_id: int, today: Optional[dt.date] = None) -> Figures:
    """The figures of one company over the last 12 months (five aggregate queries)."""
    today = today or utcnow().date()
    since = window_start(today)
    start = dt.datetime.combine(since, dt.time())
    figures = Figures(since=since)

    counts = dict(db.session.execute(
        select(year_month(Order.created_at), func.count())
        .where(Order.company_id == company_id, Order.created_at >= start)
        .group_by(year_month(Order.created_at))
    ).all())
    month = since
    for _ in range(MONTHS):
        figures.per_month.append((month, int(counts.get(f"{month:%Y-%m}", 0))))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    figures.orders = sum(n for _, n in figures.per_month)

    days = turnaround_sql(Order.created_at, Order.completed_at, Order.waiting_days)
    completed, average, with_due, on_time = db.session.execute(
        select(func.count(), func.avg(days), func.count(Order.due_date),
               func.sum(case((day_number(Order.completed_at) <= day_number(Order.due_date), 1), else_=0)))
        .where(Order.company_id == company_id, Order.completed_at >= start)
    ).one()
    figures.completed = completed or 0
    figures.turnaround = float(average) if average is not None else None
    figures.with_due_date = with_due or 0
    figures.on_time = int(on_time or 0)

    decided = Quote.state.in_((QUOTE_ACCEPTED, QUOTE_REJECTED))
    timed = and_(Quote.auto_approved_limit.is_(None), Quote.sent_at.isnot(None))
    n_decided, n_accepted, hours, n_timed = db.session.execute(
        select(func.count(), func.sum(case((Quote.state == QUOTE_ACCEPTED, 1), else_=0)),
               func.avg(case((timed, hours_between(Quote.sent_at, Quote.decided_at)))),
               func.count(case((timed, 1))))
        .where(Quote.company_id == company_id, decided, Quote.decided_at >= start)
    ).one()
    figures.quotes_decided = n_decided or 0
    figures.quotes_accepted = int(n_accepted or 0)
    figures.decision_hours = float(hours) if hours is not None else None
    figures.decisions_timed = n_timed or 0

    quantity = func.sum(OrderItem.quantity)
    figures.top_articles = [
        (number or "", description, int(count)) for number, description, count in db.session.execute(
            # from the company's orders of the period (ix_order_company_created) to their articles
            # (ix_order_item_order_id): a condition on order_item.company_id would make the database
            # read all of the company's articles ever first
            select(OrderItem.article_number, OrderItem.description, quantity)
            .select_from(Order)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(Order.company_id == company_id, Order.created_at >= start)
            .group_by(OrderItem.article_number, OrderItem.description)
            .order_by(quantity.desc(), OrderItem.article_number, OrderItem.description)
            .limit(TOP_ARTICLES)
        ).all()
    ]
    return figures
