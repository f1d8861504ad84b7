"""The companies' device registers: search by serial number, warranty of an order's articles,
service history and repeat repairs.

Every function takes the company it works for (``None`` only where staff read every company);
the views and the API pass the caller's company from :mod:`app.security.scoping`.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask import current_app
from sqlalchemy import or_, select

from app.extensions import db
from app.models import Device, Order, OrderItem, OrderStatus, StatusChange, utcnow

SEARCH_LIMIT = 10


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(company_id: int, text: str, limit: int = SEARCH_LIMIT) -> list[Device]:
    """The company's active devices whose serial number contains ``text`` (case-insensitive),
    those starting with it first; at most ``limit``."""
    text = (text or "").strip()[:100]
    if not text or not company_id:
        return []
    like = f"%{_like_escape(text)}%"
    starts = f"{_like_escape(text)}%"
    stmt = (
        select(Device)
        .where(Device.company_id == company_id, Device.active.is_(True),
               Device.serial_number.ilike(like, escape="\\"))
        .order_by(Device.serial_number.ilike(starts, escape="\\").desc(), Device.serial_number)
        .limit(limit)
    )
    return db.session.scalars(stmt).all()


def device_or_none(company_id: int, serial_number: str) -> Optional[Device]:
    if not company_id or not serial_number:
        return None
    return db.session.scalars(
        select(Device).where(Device.company_id == company_id, Device.serial_number == serial_number.strip())
    ).first()


def history(serial_number: str, company_id: Optional[int]) -> list[tuple[OrderItem, Order]]:
    """Every article with this serial number and its order, newest first: of one company, or of
    every company and source when ``company_id`` is None (staff)."""
    serial_number = (serial_number or "").strip()
    if not serial_number:
        return []
    stmt = (
        select(OrderItem, Order)
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.serial_number == serial_number)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    if company_id is not None:
        stmt = stmt.where(OrderItem.company_id == company_id, Order.company_id == company_id)
    return db.session.execute(stmt).all()


def repeat_days() -> int:
    return int(current_app.config.get("REPEAT_REPAIR_DAYS", 90))


def _returned_within(company_id: int, serial_number: str, since: dt.datetime, exclude_order_id) -> Optional[int]:
    """The latest earlier order of this company and serial number that was shipped back (or
    completed) at or after ``since``."""
    stmt = (
        select(Order.id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .join(StatusChange, StatusChange.order_id == Order.id)
        .join(OrderStatus, OrderStatus.id == StatusChange.to_status_id)
        .where(OrderItem.company_id == company_id, OrderItem.serial_number == serial_number,
               Order.company_id == company_id, StatusChange.changed_at >= since,
               or_(OrderStatus.code == current_app.config.get("REPEAT_REPAIR_STATUS", "shipped_back"),
                   OrderStatus.is_final.is_(True)))
        .order_by(StatusChange.changed_at.desc())
        .limit(1)
    )
    if exclude_order_id is not None:
        stmt = stmt.where(Order.id != exclude_order_id)
    return db.session.scalar(stmt)


def mark_articles(order: Order, now: Optional[dt.datetime] = None) -> None:
    """Give the articles of a new company order their warranty as the register has it today, and
    flag those whose serial number came back within ``REPEAT_REPAIR_DAYS`` of being shipped back."""
    if not order.company_id:
        return
    now = now or utcnow()
    since = now - dt.timedelta(days=repeat_days())
    with db.session.no_autoflush:  # the new order is not complete yet
        _mark(order, now, since)


def _mark(order: Order, now: dt.datetime, since: dt.datetime) -> None:
    for item in order.items:
        serial = (item.serial_number or "").strip()
        if not serial:
            continue
        device = device_or_none(order.company_id, serial)
        if device is not None:
            item.warranty_until = device.warranty_until
            item.in_warranty = device.warranty_state(now.date())
        item.repeat_of_order_id = _returned_within(order.company_id, serial, since, order.id)


def register_entries(serial_number: str, company_id: Optional[int]) -> list[Device]:
    """The register's devices with this serial number: the company's one (at most one), or every
    company's when ``company_id`` is None (staff)."""
    serial_number = (serial_number or "").strip()
    if not serial_number:
        return []
    stmt = select(Device).where(Device.serial_number == serial_number).order_by(Device.company_id).limit(50)
    if company_id is not None:
        stmt = stmt.where(Device.company_id == company_id)
    return db.session.scalars(stmt).all()


def warranty_words(until: Optional[dt.date], on: Optional[dt.date] = None) -> str:
    """The warranty state in words: in warranty until …, expired since …, unknown."""
    from flask_babel import format_date, gettext as _

    if until is None:
        return _("Warranty unknown")
    if until >= (on or utcnow().date()):
        return _("In warranty until %(date)s", date=format_date(until, "medium"))
    return _("Expired since %(date)s", date=format_date(until, "medium"))
