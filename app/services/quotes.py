"""Quotes (Kostenvoranschläge): staff write and send them, the customer accepts or rejects.

The rules live here once; the backend, the portal, the REST API and the cron command call them.
Amounts are ``Decimal``: each line is rounded to the cent as on an invoice, the VAT is computed
on the net total and rounded once.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Iterable, Optional

from flask import current_app
from sqlalchemy import bindparam, func, inspect, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import (
    NOTIFY_NONE,
    QUOTE_ACCEPTED,
    QUOTE_DRAFT,
    QUOTE_REJECTED,
    QUOTE_REPLACED,
    QUOTE_SENT,
    REJECT_ACTIONS,
    Company,
    Order,
    OrderItem,
    OrderStatus,
    PortalUser,
    Quote,
    QuoteLine,
    storable_text,
    utcnow,
)
from app.security.roles import COMPANY_ADMIN
from app.services import audit, turnaround, webhooks
from app.services.mail import queue, staff_recipients
from app.services.orders import change_status

CENT = Decimal("0.01")
MAX_QUANTITY = Decimal("10000")
MAX_UNIT_PRICE = Decimal("1000000")
MAX_VAT_RATE = Decimal("100")

QUOTE_SENT_EVENT = "quote.sent"
QUOTE_ACCEPTED_EVENT = "quote.accepted"
QUOTE_REJECTED_EVENT = "quote.rejected"
QUOTE_AUTO_APPROVED_EVENT = "quote.auto_approved"


class QuoteConflict(Exception):
    """The quote cannot be decided (any more): decided, replaced or expired. HTTP 409."""

    def __init__(self, message: str, quote: Optional[Quote] = None):
        super().__init__(message)
        self.message = message
        self.quote = quote


class QuoteInvalid(ValueError):
    """Input a quote cannot hold; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# -- amounts ----------------------------------------------------------------------

def to_decimal(value, field: str) -> Decimal:
    """A finite decimal from a form or JSON value ("12,50" and "12.50" both read as 12.50).

    :raises QuoteInvalid: for anything else.
    """
    from flask_babel import lazy_gettext as _l

    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value if value is not None else "").strip().replace(" ", "")
        if "," in text and "." in text:  # 1.234,50 or 1,234.50: the last separator is the decimal one
            if text.rfind(",") > text.rfind("."):
                text = text.replace(".", "").replace(",", ".")
            else:
                text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            raise QuoteInvalid(field, str(_l("Please enter a number."))) from None
    if not number.is_finite():
        raise QuoteInvalid(field, str(_l("Please enter a number.")))
    return number


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def totals(amounts: Iterable[Decimal], vat_rate: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) of the line amounts at ``vat_rate`` percent."""
    net = sum((Decimal(a) for a in amounts), Decimal("0")).quantize(CENT)
    vat = (net * vat_rate / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, vat, net + vat


def default_vat_rate() -> Decimal:
    return Decimal(str(current_app.config.get("QUOTE_VAT_RATE", "19")))


def default_valid_until(today: Optional[dt.date] = None) -> dt.date:
    return (today or utcnow().date()) + dt.timedelta(days=int(current_app.config.get("QUOTE_VALID_DAYS", 14)))


def check_line(index: int, text: str, quantity, unit_price) -> tuple[str, Decimal, Decimal]:
    """One line as the quote stores it.

    :raises QuoteInvalid: for an empty text, a quantity that is not above 0 and at most 10,000,
        a unit price below 0 or above 1,000,000, or more than two decimals.
    """
    from flask_babel import lazy_gettext as _l

    prefix = f"lines-{index}-"
    text = (text or "").strip()
    if not text:
        raise QuoteInvalid(prefix + "text", str(_l("Please describe the line.")))
    if len(text) > 300:
        raise QuoteInvalid(prefix + "text", str(_l("At most %(count)s characters.", count=300)))
    if not storable_text(text):
        raise QuoteInvalid(prefix + "text", str(_l("Please remove the control characters.")))
    qty = to_decimal(quantity, prefix + "quantity")
    if qty <= 0 or qty > MAX_QUANTITY:
        raise QuoteInvalid(prefix + "quantity", str(_l("The quantity must be above 0 and at most 10,000.")))
    if qty != qty.quantize(CENT):
        raise QuoteInvalid(prefix + "quantity", str(_l("At most two decimal places.")))
    price = to_decimal(unit_price, prefix + "unit_price")
    if price < 0 or price > MAX_UNIT_PRICE:
        raise QuoteInvalid(prefix + "unit_price",
                           str(_l("The unit price must be between 0 and 1,000,000.")))
    if price != price.quantize(CENT):
        raise QuoteInvalid(prefix + "unit_price", str(_l("At most two decimal places.")))
    return text, qty, price


# -- reading -----------------------------------------------------------------------

def versions(order: Order) -> list[Quote]:
    """Every version of the order's quote, newest first."""
    return db.session.scalars(
        select(Quote).where(Quote.order_id == order.id).order_by(Quote.version.desc())
    ).all()


def draft_of(order: Order) -> Optional[Quote]:
    return db.session.scalars(
        select(Quote).where(Quote.order_id == order.id, Quote.state == QUOTE_DRAFT)
    ).first()


@cache
def _current_quote_statement(scoped: bool, with_lines: bool, articles_loaded: bool):
    """The statement of :func:`current_quote`, built once per process for each way it is asked (an
    order page read it anew on every request). ``order_id`` and, when ``scoped``, ``company_id``
    are parameters."""
    stmt = select(Quote).where(Quote.order_id == bindparam("order_id"), Quote.state != QUOTE_DRAFT)
    if scoped:
        stmt = stmt.where(Quote.company_id == bindparam("company_id"))
    stmt = stmt.order_by(Quote.version.desc()).limit(1)
    if with_lines:
        lines = joinedload(Quote.lines)
        stmt = stmt.options(lines if articles_loaded else lines.joinedload(QuoteLine.item))
    return stmt


def current_quote(order_id: int, company_id: Optional[int] = None, with_lines: bool = False,
                  articles: Optional[Iterable[OrderItem]] = None) -> Optional[Quote]:
    """The newest quote the customer has been sent (never a draft). With ``company_id``, only
    when the order belongs to that company (the portal's and the API's scoping); ``with_lines``
    loads the lines with it, in the same statement. A line's article comes with it too, unless the
    caller passes the order's ``articles`` it holds already (the order page): the lines are handed
    theirs from those. Who decided is read when asked for, from the session when it is the reader."""
    stmt = _current_quote_statement(company_id is not None, with_lines, with_lines and articles is not None)
    params = {"order_id": order_id} if company_id is None else {"order_id": order_id, "company_id": company_id}
    result = db.session.scalars(stmt, params)
    if not with_lines:
        return result.first()
    quote = result.unique().first()
    if quote is not None and articles is not None:
        _hand_articles_to_lines(quote, articles)
    return quote


def _hand_articles_to_lines(quote: Quote, items: Iterable[OrderItem]) -> None:
    """Give each line of ``quote`` its article from ``items``: a line would otherwise look its
    article up on first use, one lookup per line. A line whose article is not among them keeps
    looking it up itself."""
    by_id = {item.id: item for item in items}
    for line in quote.lines:
        if line.item_id is None:
            set_committed_value(line, "item", None)
        elif line.item_id in by_id:
            set_committed_value(line, "item", by_id[line.item_id])


def may_decide(user) -> bool:
    """Company admins decide quotes; employees when their admin allows them to."""
    if user is None or not getattr(user, "company_id", None):
        return False
    return bool(user.may_approve_quotes) or user.has_role(COMPANY_ADMIN)


def decidable(quote: Optional[Quote], today: Optional[dt.date] = None) -> bool:
    return quote is not None and quote.state == QUOTE_SENT and not quote.expired(today)


# -- staff: write and send ---------------------------------------------------------

def save_draft(order: Order, user: Optional[PortalUser], *, lines: list[dict], vat_rate: Decimal,
               valid_until: dt.date, note: Optional[str], currency: Optional[str] = None,
               today: Optional[dt.date] = None) -> Quote:
    """Write the order's draft quote (a new version when there is none): the lines replace the
    draft's, the totals are computed. Flushed, not committed.

    A line is a dict with ``text``, ``quantity``, ``unit_price`` and optionally ``item_id``
    (one of the order's articles).

    :raises QuoteInvalid: for bad lines, no lines, more than ``QUOTE_MAX_LINES``, a VAT rate
        outside 0-100, a validity date in the past, or an article of another order.
    """
    from flask_babel import lazy_gettext as _l

    today = today or utcnow().date()
    max_lines = int(current_app.config.get("QUOTE_MAX_LINES", 100))
    if not lines:
        raise QuoteInvalid("lines", str(_l("A quote needs at least one line.")))
    if len(lines) > max_lines:
        raise QuoteInvalid("lines", str(_l("A quote has at most %(count)s lines.", count=max_lines)))
    rate = to_decimal(vat_rate, "vat_rate")
    if rate < 0 or rate > MAX_VAT_RATE or rate != rate.quantize(CENT):
        raise QuoteInvalid("vat_rate", str(_l("The VAT rate must be between 0 and 100 %.")))
    if valid_until is None or valid_until < today:
        raise QuoteInvalid("valid_until", str(_l("The date must not be in the past.")))
    if valid_until > today + dt.timedelta(days=366):
        raise QuoteInvalid("valid_until", str(_l("At most one year ahead.")))
    item_ids = {item.id for item in order.items}
    checked = []
    for index, line in enumerate(lines):
        text, qty, price = check_line(index, line.get("text"), line.get("quantity"), line.get("unit_price"))
        item_id = line.get("item_id") or None
        if item_id is not None and item_id not in item_ids:
            raise QuoteInvalid(f"lines-{index}-item_id", str(_l("Not an article of this order.")))
        checked.append((text, qty, price, item_id))

    quote = draft_of(order)
    if quote is None:
        last = db.session.scalar(select(func.max(Quote.version)).where(Quote.order_id == order.id)) or 0
        quote = Quote(order=order, order_id=order.id, company_id=order.company_id, version=last + 1,
                      state=QUOTE_DRAFT, created_by_id=user.id if user else None, created_at=utcnow())
        db.session.add(quote)
    quote.currency = (currency or current_app.config.get("QUOTE_CURRENCY") or "EUR")[:3].upper()
    quote.vat_rate = rate
    quote.valid_until = valid_until
    quote.note = (note or "").strip() or None
    quote.lines = [
        QuoteLine(company_id=order.company_id, position=pos, text=text, quantity=qty, unit_price=price,
                  amount=line_amount(qty, price), item_id=item_id)
        for pos, (text, qty, price, item_id) in enumerate(checked, start=1)
    ]
    quote.net, quote.vat, quote.gross = totals((line.amount for line in quote.lines), rate)
    db.session.flush()
    return quote


def _status(code_key: str, order: Optional[Order] = None) -> Optional[OrderStatus]:
    """The status named by ``code_key``; with ``order``, its current status is read along with it
    (one statement; the history entry names both)."""
    code = current_app.config.get(code_key)
    if not code:
        return None
    wanted = OrderStatus.code == code
    if order is not None and order.status_id is not None:
        wanted = or_(wanted, OrderStatus.id == order.status_id)
    with db.session.no_autoflush:  # statuses do not depend on the change being made
        found = db.session.scalars(select(OrderStatus).where(wanted)).all()
    if order is not None and "status" in inspect(order).unloaded:
        current = next((status for status in found if status.id == order.status_id), None)
        if current is not None:
            set_committed_value(order, "status", current)
    return next((status for status in found if status.code == code), None)


def _move(order: Order, code_key: str, user: Optional[PortalUser], note: Optional[str]) -> None:
    status = _status(code_key, order)
    if status is not None:
        change = change_status(order, status, user, note=note)
        if change is not None:  # the quote's mails speak of it; the company's systems hear of every change
            webhooks.status_changed(order, change)


def _company_recipients(company_id: int) -> list[tuple]:
    """The company's active users who want mails."""
    users = db.session.scalars(
        select(PortalUser).join(Company, PortalUser.company_id == Company.id)
        .where(PortalUser.company_id == company_id, PortalUser.active.is_(True), Company.active.is_(True))
    ).all()
    return [(u.email, u.language, u.full_name) for u in users if u.notify_status != NOTIFY_NONE]


def _deciders(company_id: int) -> list[tuple]:
    """The company's active users who may decide quotes (for reminders)."""
    users = db.session.scalars(
        select(PortalUser).join(Company, PortalUser.company_id == Company.id)
        .where(PortalUser.company_id == company_id, PortalUser.active.is_(True), Company.active.is_(True))
    ).all()
    return [(u.email, u.language, u.full_name) for u in users if may_decide(u)]


def send(quote: Quote, user: Optional[PortalUser], today: Optional[dt.date] = None) -> Quote:
    """Freeze the draft and give it to the customer: earlier open versions are replaced, the
    order moves to ``QUOTE_STATUS_SENT``, the company's users who want mails are told. A quote
    within the company's approval limit is accepted at once. Not committed.

    :raises QuoteConflict: when the quote is no draft (sent twice) or already expired.
    """
    from flask_babel import lazy_gettext as _l

    today = today or utcnow().date()
    now = utcnow()
    if quote.valid_until < today:
        raise QuoteConflict(str(_l("The quote's validity date has passed: set a new one before sending.")), quote)
    sent = db.session.execute(
        update(Quote).where(Quote.id == quote.id, Quote.state == QUOTE_DRAFT)
        .values(state=QUOTE_SENT, sent_at=now, sent_by_id=user.id if user else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if sent != 1:
        raise QuoteConflict(str(_l("This quote has already been sent.")), quote)
    db.session.refresh(quote)
    order = quote.order
    db.session.execute(
        update(Quote).where(Quote.order_id == order.id, Quote.id != quote.id, Quote.state == QUOTE_SENT)
        .values(state=QUOTE_REPLACED).execution_options(synchronize_session=False)
    )
    audit.record(QUOTE_SENT_EVENT, quote, actor=user, company_id=order.company_id,
                 new={"version": quote.version, "gross": str(quote.gross), "currency": quote.currency,
                      "valid_until": quote.valid_until.isoformat()})
    webhooks.quote_sent(quote)
    _move(order, "QUOTE_STATUS_SENT", user, None)

    company = order.company
    limit = company.approval_limit if company is not None else None
    if limit and limit > 0 and quote.gross <= limit:
        db.session.execute(
            update(Quote).where(Quote.id == quote.id, Quote.state == QUOTE_SENT)
            .values(state=QUOTE_ACCEPTED, decided_at=now, auto_approved_limit=limit)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(quote)
        audit.record(QUOTE_AUTO_APPROVED_EVENT, quote, actor=user, company_id=order.company_id,
                     new={"version": quote.version, "gross": str(quote.gross), "approval_limit": str(limit)})
        webhooks.quote_decided(quote)
        _move(order, "QUOTE_STATUS_ACCEPTED", user, None)
    if order.company_id is not None:
        queue("quote_sent", _company_recipients(order.company_id), order_id=order.id, order=order, quote=quote,
              link=f"/cc/orders/{order.id}")
    return quote


# -- the customer: decide ------------------------------------------------------------

def _refusal(quote: Quote, today: dt.date) -> str:
    from flask_babel import lazy_gettext as _l

    if quote.state in (QUOTE_ACCEPTED, QUOTE_REJECTED):
        who = quote.decided_by.full_name if quote.decided_by else None
        if quote.state == QUOTE_ACCEPTED:
            return str(_l("This quote has already been accepted by %(name)s.", name=who)) if who else \
                str(_l("This quote has already been accepted."))
        return str(_l("This quote has already been rejected by %(name)s.", name=who)) if who else \
            str(_l("This quote has already been rejected."))
    if quote.state == QUOTE_REPLACED:
        return str(_l("This quote has been replaced by a newer version: please decide on that one."))
    if quote.state == QUOTE_SENT and quote.valid_until < today:
        return str(_l("This quote expired on %(date)s: please ask us for a new one.",
                      date=_format_date(quote.valid_until)))
    return str(_l("This quote cannot be decided."))


def _format_date(value: dt.date) -> str:
    from flask_babel import format_date

    return format_date(value)


def decide(quote: Quote, user: PortalUser, *, accept: bool, po_number: Optional[str] = None,
           reject_action: Optional[str] = None, today: Optional[dt.date] = None) -> Quote:
    """Record the customer's decision on ``quote`` (exactly once per version) and move the order
    on: accepted to ``QUOTE_STATUS_ACCEPTED``, rejected to ``QUOTE_STATUS_REJECTED``; staff are
    told, the decision is audited, the waiting time moves the due date. Not committed.

    The caller has checked that the quote belongs to the user's company and that the user may
    decide. One conditional UPDATE takes the decision: of two users (or a double click) at the
    same moment, one wins and the other gets :class:`QuoteConflict`.

    :raises QuoteInvalid: for a missing PO number where the company requires one, or a rejection
        without a valid action.
    :raises QuoteConflict: for a quote already decided, replaced or expired.
    """
    from flask_babel import lazy_gettext as _l

    today = today or utcnow().date()
    po_number = (po_number or "").strip() or None
    company = db.session.get(Company, quote.company_id) if quote.company_id else None
    if accept:
        if po_number is None and company is not None and company.po_number_required:
            raise QuoteInvalid("po_number", str(_l("Please enter your purchase order number.")))
        if po_number is not None and len(po_number) > 50:
            raise QuoteInvalid("po_number", str(_l("At most %(count)s characters.", count=50)))
        reject_action = None
    else:
        if reject_action not in REJECT_ACTIONS:
            raise QuoteInvalid("reject_action", str(_l("Please choose what should happen to the devices.")))
        po_number = None
    now = utcnow()
    decision = dict(state=QUOTE_ACCEPTED if accept else QUOTE_REJECTED, decided_at=now, decided_by_id=user.id,
                    po_number=po_number, reject_action=reject_action)
    taken = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.state == QUOTE_SENT, Quote.valid_until >= today)
        .values(**decision)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.refresh(quote)  # as another user's decision or a newer version left it
        raise QuoteConflict(_refusal(quote, today), quote)
    # the row is as it was read, plus the decision: no need to read it again
    for name, value in decision.items():
        set_committed_value(quote, name, value)
    db.session.expire(quote, ["decided_by"])
    order = quote.order
    if quote.sent_at is not None:
        turnaround.add_waiting(order, quote.sent_at, now)
    if accept:
        audit.record(QUOTE_ACCEPTED_EVENT, quote, actor=user, company_id=quote.company_id,
                     new={"version": quote.version, "po_number": po_number, "gross": str(quote.gross)})
        _move(order, "QUOTE_STATUS_ACCEPTED", user, None)
    else:
        audit.record(QUOTE_REJECTED_EVENT, quote, actor=user, company_id=quote.company_id,
                     new={"version": quote.version, "reject_action": reject_action})
        _move(order, "QUOTE_STATUS_REJECTED", user, None)
    webhooks.quote_decided(quote)
    queue("quote_decided", staff_recipients(), order_id=order.id, order=order, quote=quote, user=user,
          link=f"/backend/orders/show/{order.id}")
    return quote


# -- deadlines (cron) --------------------------------------------------------------

def _claimed(candidates, mark, now):
    """The quotes of ``candidates`` (a select of ids) whose ``mark`` this run set: a conditional
    UPDATE claims each one first, so two runs at once never both mail it. A quote another run
    claimed is skipped (its empty claim committed); the caller commits after each one it gets."""
    for quote_id in db.session.scalars(candidates).all():
        claimed = db.session.execute(
            update(Quote).where(Quote.id == quote_id, mark.is_(None), Quote.state == QUOTE_SENT)
            .values({mark.key: now}).execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            yield db.session.get(Quote, quote_id)
        else:
            db.session.commit()


def run_deadlines(today: Optional[dt.date] = None) -> dict[str, int]:
    """Remind the deciders of quotes that expire within ``QUOTE_REMINDER_DAYS``, and tell staff of
    quotes that expired undecided. Each quote is reminded and reported once (a conditional
    UPDATE marks it first, so two runs at once do not mail twice). Commits per quote."""
    today = today or utcnow().date()
    days = int(current_app.config.get("QUOTE_REMINDER_DAYS", 3))
    counts = {"reminded": 0, "expired": 0}
    now = utcnow()
    if days > 0:
        due = select(Quote.id).where(Quote.state == QUOTE_SENT, Quote.reminded_at.is_(None),
                                     Quote.valid_until >= today, Quote.valid_until <= today + dt.timedelta(days=days))
        for quote in _claimed(due, Quote.reminded_at, now):
            if quote.company_id is not None:
                queue("quote_reminder", _deciders(quote.company_id), order_id=quote.order.id, order=quote.order,
                      quote=quote, link=f"/cc/orders/{quote.order.id}")
            counts["reminded"] += 1
            db.session.commit()
    expired = select(Quote.id).where(Quote.state == QUOTE_SENT, Quote.expiry_notified_at.is_(None),
                                     Quote.valid_until < today)
    for quote in _claimed(expired, Quote.expiry_notified_at, now):
        queue("quote_expired", staff_recipients(), order_id=quote.order.id, order=quote.order, quote=quote,
              link=f"/backend/orders/show/{quote.order.id}")
        counts["expired"] += 1
        db.session.commit()
    return counts
