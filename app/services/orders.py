"""Orders: RMA numbers, creation, status changes."""
from __future__ import annotations

from typing import Iterable, Optional

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services import audit, devices, turnaround
from app.models import (
    CUSTOMER_FIELDS,
    LANGUAGES,
    SOURCE_FRONTEND,
    SOURCE_PORTAL,
    Company,
    Counter,
    Order,
    OrderItem,
    OrderStatus,
    PortalUser,
    StatusChange,
    utcnow,
)


class NoInitialStatus(RuntimeError):
    """The status table has no initial status (run ``flask portal setup``)."""


def next_rma_number(year: Optional[int] = None) -> str:
    """Draw the next RMA number of the year, e.g. ``RMA-2026-000042``.

    One atomic ``UPDATE … RETURNING`` on a counter row: concurrent writers are
    serialised by the row lock (PostgreSQL) or the write lock (SQLite), so no
    two orders ever get the same number. Runs inside the caller's transaction.
    """
    year = year or utcnow().year
    name = f"rma-{year}"
    session = db.session
    stmt = update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    value = session.execute(stmt).scalar()
    if value is None:
        try:
            with session.begin_nested():
                session.execute(insert(Counter).values(name=name, value=0))
        except IntegrityError:
            pass  # another writer created the row first
        value = session.execute(stmt).scalar()
    return f"RMA-{year}-{value:06d}"


def initial_status() -> OrderStatus:
    status = db.session.scalars(
        select(OrderStatus).where(OrderStatus.is_initial.is_(True)).order_by(OrderStatus.position)
    ).first()
    if status is None:
        raise NoInitialStatus("no initial order status")
    return status


def copy_customer_data(order: Order, company: Company, user: Optional[PortalUser]) -> None:
    """Portal orders carry the company's data as it was when the order was created."""
    order.customer_name = company.name
    order.contact_person = user.full_name if user else None
    order.street = company.street
    order.postcode = company.postcode
    order.city = company.city
    order.country = company.country
    order.email = (user.email if user else None) or company.email
    order.phone = (user.phone if user and user.phone else None) or company.phone


def prepare_new_order(order: Order, created_by: Optional[PortalUser]) -> Order:
    """Give a new order its RMA number, initial status and first history entry."""
    order.item_count = len(order.items)
    status = initial_status()
    order.rma_number = next_rma_number()
    order.status = status
    order.created_by_id = created_by.id if created_by else None
    now = utcnow()
    order.created_at = order.created_at or now
    order.updated_at = now
    company = order.company or (db.session.get(Company, order.company_id) if order.company_id else None)
    turnaround.set_due_date(order, company)
    devices.mark_articles(order, now)
    order.status_changes.append(
        StatusChange(
            company_id=order.company_id,
            from_status_id=None,
            to_status=status,
            changed_by_id=created_by.id if created_by else None,
            changed_at=now,
        )
    )
    return order


def _add_order(order: Order, items: Iterable[dict], created_by: Optional[PortalUser]) -> Order:
    for data in items:
        order.items.append(OrderItem(company_id=order.company_id, **data))
    prepare_new_order(order, created_by)
    db.session.add(order)
    db.session.flush()
    return order


def create_portal_order(
    company: Company, user: PortalUser, reference: str, items: Iterable[dict]
) -> Order:
    """Create a portal order with its articles (flushed, not committed)."""
    order = Order(source=SOURCE_PORTAL, company_id=company.id, reference=reference)
    copy_customer_data(order, company, user)
    return _add_order(order, items, user)


def create_frontend_order(customer: dict, reference: Optional[str], items: Iterable[dict],
                          language: str = "de") -> Order:
    """Create an order sent through the public order form: no company, no user, the customer
    data as entered, the language of the form for the customer's mails (flushed, not committed)."""
    order = Order(source=SOURCE_FRONTEND, company_id=None, reference=reference or None,
                  language=language if language in LANGUAGES else "de",
                  **{name: customer.get(name) or None for name in CUSTOMER_FIELDS})
    return _add_order(order, items, None)


def change_status(
    order: Order, status: OrderStatus, user: Optional[PortalUser], note: Optional[str] = None
) -> Optional[StatusChange]:
    """Move an order to ``status`` and record it in the history (not committed).

    Returns None when the order already has that status and there is no note.
    """
    note = (note or "").strip() or None
    if status.id == order.status_id and not note:
        return None
    old_status = order.status
    change = StatusChange(
        order=order,
        company_id=order.company_id,
        from_status_id=order.status_id,
        to_status=status,
        changed_by_id=user.id if user else None,
        changed_at=utcnow(),
        note=note,
    )
    order.status = status
    order.updated_at = change.changed_at
    turnaround.status_reached(order, status, change.changed_at)
    db.session.add(change)
    audit.record(
        audit.ORDER_STATUS, order, actor=user, company_id=order.company_id,
        old={"status": old_status.code if old_status else None},
        new={"status": status.code, "note": note},
    )
    return change


def keep_customer_data(order: Order, submitted: Optional[set] = None) -> list[str]:
    """Undo any change to the customer data of ``order`` made in this session.

    Returns the fields where a different value had been submitted (an attempt to
    change them); fields a form simply left out (not in ``submitted``) are kept
    without counting as an attempt.
    """
    from sqlalchemy import inspect

    state = inspect(order)
    attempted = []
    for name in CUSTOMER_FIELDS:
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if (new or None) != (old or None) and (submitted is None or name in submitted):
            attempted.append(name)
        setattr(order, name, old)
    return attempted
