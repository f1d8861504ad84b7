"""Who is told about what: by mail, in their own language, and the company's webhooks."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import NOTIFY_ALL, NOTIFY_FINAL, NOTIFY_MINE, SOURCE_FRONTEND, Company, Order, OrderMessage, \
    OutgoingMail, PortalUser, RegistrationRequest, StatusChange
from app.security.tokens import make_token
from app.services import webhooks
from app.services.mail import queue, staff_recipients


def _company_users(company_id: int):
    return db.session.scalars(
        select(PortalUser).join(Company, PortalUser.company_id == Company.id)
        .where(PortalUser.company_id == company_id, PortalUser.active.is_(True), Company.active.is_(True))
    ).all()


def order_created(order: Order) -> None:
    """Staff hear of every new order from the portal and from the public order form; the company's
    webhooks of one from the portal, the file import or the API."""
    webhooks.order_created(order)
    queue("order_created", staff_recipients(), order_id=order.id, order=order,
          link=f"/backend/orders/show/{order.id}")


def _public_customer(order: Order) -> list[tuple[str, str]]:
    """The sender of a public-form order (no account: the address and language of the form)."""
    if order.source != SOURCE_FRONTEND or not order.email:
        return []
    return [(order.email, order.language or "de", order.contact_person or order.customer_name)]


def _public_status_link(order: Order) -> str:
    return f"/repair/status/?rma={order.rma_number}"


def status_changed(order: Order, change: StatusChange) -> list[OutgoingMail]:
    """The ordering company's users, as each chose in their settings; the sender of a public-form order;
    the company's webhooks."""
    webhooks.status_changed(order, change)
    if order.company_id is None:
        return queue("status_changed", _public_customer(order), order_id=order.id, order=order, change=change,
                     link=_public_status_link(order), public=True)
    final = bool(change.to_status.is_final)
    recipients = [
        (u.email, u.language, u.full_name) for u in _company_users(order.company_id)
        if u.notify_status == NOTIFY_ALL or (u.notify_status == NOTIFY_FINAL and final)
    ]
    return queue("status_changed", recipients, order_id=order.id, order=order, change=change,
                 link=f"/cc/orders/{order.id}", public=False)


def _involved(order: Order) -> set[int]:
    """The users whose own business an order is: who placed it and who wrote on it."""
    authors = db.session.scalars(
        select(OrderMessage.author_id).where(OrderMessage.order_id == order.id, OrderMessage.from_staff.is_(False))
    ).all()
    return {order.created_by_id, *authors} - {None}


def message_posted(message: OrderMessage) -> list[OutgoingMail]:
    """A customer's message goes to staff; a staff message (not an internal note) to the company's
    users as each chose in their settings (all orders, only their own, none), or to the sender of a
    public-form order. Returns the mails queued."""
    order = message.order
    if message.internal:
        return []
    webhooks.message_posted(message)  # a message from staff only
    if not message.from_staff:
        return queue("message_to_staff", staff_recipients(), order_id=order.id, order=order, message=message,
                     link=f"/backend/orders/show/{order.id}")
    if order.company_id is None:
        return queue("message_to_customer", _public_customer(order), order_id=order.id, order=order,
                     message=message, link=_public_status_link(order), public=True)
    users = _company_users(order.company_id)
    involved = _involved(order) if any(u.notify_messages == NOTIFY_MINE for u in users) else set()
    recipients = [(u.email, u.language, u.full_name) for u in users
                  if u.notify_messages == NOTIFY_ALL or (u.notify_messages == NOTIFY_MINE and u.id in involved)]
    return queue("message_to_customer", recipients, order_id=order.id, order=order, message=message,
                 link=f"/cc/orders/{order.id}", public=False)


def registration_approved(user: PortalUser) -> None:
    """A new company admin (approved registration): a link to choose their password.

    Nobody at their company knows a password yet; the mail carries none (a mailbox keeps mail for
    years), only a link that is spent once used and expires after a week.
    """
    queue("registration_approved", [(user.email, user.language, user.full_name)], user=user,
          company=user.company, link=f"/cc/set-password/{make_token(user)}", login_link="/login/")


def employee_created(user: PortalUser, admin: PortalUser) -> None:
    """A new employee: welcome, in the language the admin chose for them, and where to log in.

    The company admin got the access data (shown once) and passes them on; the mail carries no
    link that would replace that password, only the way in.
    """
    queue("employee_created", [(user.email, user.language, user.full_name)], user=user, company=user.company,
          admin_name=admin.full_name, admin_email=admin.email, login_link="/login/")


def registration_rejected(req: RegistrationRequest) -> None:
    queue("registration_rejected", [(req.email, req.language)], req=req)


def public_order_received(order: Order) -> None:
    """The sender of the public order form: the RMA number and where to see the status."""
    queue("public_order_received", _public_customer(order), order_id=order.id, order=order,
          link=_public_status_link(order))
