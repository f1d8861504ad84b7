"""The one tenant filter: everything a portal user reads or writes goes through here."""
from __future__ import annotations

from collections import defaultdict
from functools import cache

from flask import abort, g
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import QUOTE_DRAFT, Attachment, Order, OrderMessage, PortalUser, Quote, StatusChange

NO_COMPANY = -1  # never a real id: a user without a company matches nothing


def current_company_id() -> int:
    """The logged-in user's company id, or a sentinel that matches no row."""
    user = getattr(g, "user", None)
    company_id = getattr(user, "company_id", None) if user is not None else None
    return company_id if company_id else NO_COMPANY


def require_company() -> None:
    """Portal actions that create company data need a company (staff and admins have none).

    :raises Forbidden: for a user without a company.
    """
    if current_company_id() == NO_COMPANY:
        abort(403)


def company_orders() -> Select:
    return select(Order).where(Order.company_id == current_company_id())


def order_or_404(pk: int) -> Order:
    """The current company's order ``pk``.

    :raises NotFound: for an order of another company, as for one that does not exist.
    """
    order = db.session.scalars(company_orders().where(Order.id == pk)).first()
    if order is None:
        abort(404)
    return order


def with_creator_name():
    """Who created the order, as far as a page or an export shows it: the name (the e-mail address
    where there is none). Not the creator's password hash, 2FA secret and twenty other columns."""
    return joinedload(Order.created_by).load_only(PortalUser.first_name, PortalUser.last_name, PortalUser.email)


@cache
def _order_page_statement() -> Select:
    """The statement of :func:`order_page_or_404`, built once per process: building and keying it
    anew took longer than the database takes to answer it. The company is a parameter like the
    order: ``company_id`` must be :func:`current_company_id`."""
    has_messages = select(OrderMessage.id).where(
        OrderMessage.order_id == Order.id, OrderMessage.internal.is_(False)).exists()
    has_quote = select(Quote.id).where(Quote.order_id == Order.id, Quote.state != QUOTE_DRAFT).exists()
    return (
        select(Order).where(Order.company_id == bindparam("company_id"), Order.id == bindparam("pk"))
        .add_columns(has_messages, has_quote).options(
            joinedload(Order.status), with_creator_name(), joinedload(Order.items),
            selectinload(Order.attachments),
            selectinload(Order.status_changes).joinedload(StatusChange.to_status),
        )
    )


def order_page_or_404(pk: int) -> Order:
    """The current company's order ``pk`` with what its page shows: status, creator and articles
    in one query, files and status history in one each (loaded one by one, an order with four
    articles took nine). The files are read once and handed to their articles. Whether the order has
    messages for the customer and a quote sent comes with the order (``page_has_messages``,
    ``page_has_quote``): most orders have neither, and the page then asks for neither.

    :raises NotFound: as :func:`order_or_404`.
    """
    # the articles are joined: unique() folds the order's rows into one
    row = db.session.execute(
        _order_page_statement(), {"company_id": current_company_id(), "pk": pk}).unique().first()
    if row is None:
        abort(404)
    order, order.page_has_messages, order.page_has_quote = row
    by_item = defaultdict(list)
    for attachment in order.attachments:  # in id order, as the relationship sorts them
        if attachment.item_id is not None:
            by_item[attachment.item_id].append(attachment)
    for item in order.items:
        set_committed_value(item, "attachments", by_item[item.id])
    return order


def attachment_or_404(order_id: int, attachment_id: int) -> Attachment:
    """A file of the current company's order.

    :raises NotFound: for a file of another company or another order.
    """
    attachment = db.session.scalars(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.order_id == order_id,
            Attachment.company_id == current_company_id(),
        )
    ).first()
    if attachment is None:
        abort(404)
    return attachment


# -- the REST API ---------------------------------------------------------------
# The API serves company users (their own company's orders) and staff (every
# order, read-only). Who counts as staff is the same permission as the backend's
# order list, so the roles stay the one place that decides.
ALL_COMPANIES = "all"


def api_user():
    """The caller of an API request: by API key, JWT or (for the OpenAPI view) session."""
    from flask import current_app

    return current_app.appbuilder.sm.current_user


def api_scope():
    """``ALL_COMPANIES`` for staff, else the caller's company id (or a sentinel matching nothing)."""
    from flask import current_app

    user = api_user()
    if user is None:
        return NO_COMPANY
    if getattr(user, "company_id", None):
        return user.company_id
    if current_app.appbuilder.sm.has_access("can_list", "StaffOrders"):
        return ALL_COMPANIES
    return NO_COMPANY


def scope_orders(stmt: Select, scope=None) -> Select:
    """Restrict an order query to what the API caller may see."""
    scope = api_scope() if scope is None else scope
    if scope == ALL_COMPANIES:
        return stmt
    return stmt.where(Order.company_id == scope)
