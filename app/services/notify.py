"""Who is told about what, by mail, in their own language."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import NOTIFY_ALL, NOTIFY_FINAL, NOTIFY_NONE, Company, Order, OrderMessage, PortalUser, \
    RegistrationRequest, StatusChange
from app.security.tokens import make_token
from app.services.mail import queue, staff_recipients


def _company_users(company_id: int):
    return db.session.scalars(
        select(PortalUser).join(Company, PortalUser.company_id == Company.id)
        .where(PortalUser.company_id == company_id, PortalUser.active.is_(True), Company.active.is_(True))
    ).all()


def order_created(order: Order) -> None:
    """Staff hear of every new order from the portal and from the public order form."""
    queue("order_created", staff_recipients(), order_id=order.id, order=order,
          link=f"/backend/orders/show/{order.id}")


def status_changed(order: Order, change: StatusChange) -> None:
    """The ordering company's users, as each chose in their settings."""
    if order.company_id is None:
        return
    final = bool(change.to_status.is_final)
    recipients = [
        (u.email, u.language) for u in _company_users(order.company_id)
        if u.notify_status == NOTIFY_ALL or (u.notify_status == NOTIFY_FINAL and final)
    ]
    queue("status_changed", recipients, order_id=order.id, order=order, change=change,
          link=f"/cc/orders/{order.id}")


def message_posted(message: OrderMessage) -> None:
    """A customer's message goes to staff; a staff message (not an internal note) to the company."""
    order = message.order
    if message.internal:
        return
    if not message.from_staff:
        queue("message_to_staff", staff_recipients(), order_id=order.id, order=order, message=message,
              link=f"/backend/orders/show/{order.id}")
    elif order.company_id is not None:
        recipients = [(u.email, u.language) for u in _company_users(order.company_id)
                      if u.notify_status != NOTIFY_NONE]
        queue("message_to_customer", recipients, order_id=order.id, order=order, message=message,
              link=f"/cc/orders/{order.id}")


def account_created(user: PortalUser, *, approved: bool) -> None:
    """A new company admin (approved registration) or employee: a link to set their password.

    The mail carries no password: a mailbox keeps mail for years, a link is spent once used
    and expires after a week.
    """
    queue("registration_approved" if approved else "employee_created", [(user.email, user.language)],
          user=user, company=user.company, link=f"/cc/set-password/{make_token(user)}")


def registration_rejected(req: RegistrationRequest) -> None:
    queue("registration_rejected", [(req.email, req.language)], req=req)


def public_order_received(order: Order, language: str) -> None:
    """The sender of the public order form: the RMA number and where to see the status."""
    queue("public_order_received", [(order.email, language)], order_id=order.id, order=order,
          link=f"/repair/status/?rma={order.rma_number}")
