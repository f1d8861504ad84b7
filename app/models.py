"""The portal's data model.

Every company-owned row (orders, articles, attachments, status changes) carries
``company_id`` so that scoping a query to one company is one column, never a join.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Optional

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (stored the same way on SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def storable_text(value: str) -> bool:
    """Text a column can hold: no NUL (PostgreSQL refuses it) and no lone surrogate
    (``"\\ud800"`` in JSON decodes to one; it has no UTF-8 form)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


LANGUAGES = ("de", "en")
NOTIFY_ALL, NOTIFY_FINAL, NOTIFY_NONE = "all", "final", "none"
NOTIFY_CHOICES = (NOTIFY_ALL, NOTIFY_FINAL, NOTIFY_NONE)
# messages from the service team: on all of the company's orders, only on the user's own
# orders (placed by them or where they wrote), or none
NOTIFY_MINE = "mine"
NOTIFY_MESSAGE_CHOICES = (NOTIFY_ALL, NOTIFY_MINE, NOTIFY_NONE)
PAGE_SIZES = (10, 25, 50, 100)

SOURCE_PORTAL = "portal"
SOURCE_FRONTEND = "frontend"
SOURCE_BACKEND = "backend"
SOURCES = (SOURCE_PORTAL, SOURCE_FRONTEND, SOURCE_BACKEND)

REQUEST_PENDING = "pending"
REQUEST_APPROVED = "approved"
REQUEST_REJECTED = "rejected"
REQUEST_STATES = (REQUEST_PENDING, REQUEST_APPROVED, REQUEST_REJECTED)

# The customer data of an order: copied from the company for portal orders and
# never changeable in the backend for them.
CUSTOMER_FIELDS = (
    "customer_name",
    "contact_person",
    "street",
    "postcode",
    "city",
    "country",
    "email",
    "phone",
)


class Company(Model):
    """A corporate customer with access to the key account portal."""

    __tablename__ = "company"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    street: Mapped[Optional[str]] = mapped_column(String(200))
    postcode: Mapped[Optional[str]] = mapped_column(String(20))
    city: Mapped[Optional[str]] = mapped_column(String(100))
    country: Mapped[Optional[str]] = mapped_column(String(100))
    phone: Mapped[Optional[str]] = mapped_column(String(50))
    email: Mapped[Optional[str]] = mapped_column(String(320))
    vat_id: Mapped[Optional[str]] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # quotes up to this gross amount are approved when they are sent (0 = every quote is decided)
    approval_limit: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"),
                                                    server_default="0")
    # accepting a quote needs the customer's purchase order number
    po_number_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                     server_default=sa_false())
    # the promised turnaround in working days (None: the portal's default, TURNAROUND_DAYS)
    turnaround_days: Mapped[Optional[int]] = mapped_column(Integer)
    # every user of the company logs in with a second factor (set by a company admin)
    require_two_factor: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                     server_default=sa_false())

    users: Mapped[list["PortalUser"]] = relationship(
        "PortalUser", back_populates="company", foreign_keys="PortalUser.company_id"
    )

    def __repr__(self) -> str:
        return f"{self.customer_number} {self.name}"


class PortalUser(User):
    """FAB's user with the portal's columns. Staff have no company."""

    __tablename__ = "ab_user"

    company_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("company.id"), nullable=True, index=True
    )
    phone: Mapped[Optional[str]] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(2), nullable=False, default="de", server_default="de")
    page_size: Mapped[int] = mapped_column(Integer, nullable=False, default=25, server_default="25")
    # which status changes of the company's orders are mailed to this user
    notify_status: Mapped[str] = mapped_column(String(5), nullable=False, default=NOTIFY_ALL,
                                               server_default=NOTIFY_ALL)
    # which messages of the service team on the company's orders are mailed to this user
    notify_messages: Mapped[str] = mapped_column(String(5), nullable=False, default=NOTIFY_ALL,
                                                 server_default=NOTIFY_ALL)
    # set for accounts created with a generated password: the user chooses their own first
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=sa_false()
    )
    # an employee their company admin allows to accept or reject quotes (admins always may)
    may_approve_quotes: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=sa_false()
    )

    # goes up when the password changes, the account is deactivated or the user logs out everywhere:
    # a session that logged in with another version ends at its next request (app/security/sessions.py)
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    # two-factor login (app/services/two_factor.py): the TOTP secret once confirmed, when it was turned
    # on, and the last time step whose code was accepted (a code is accepted once)
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    totp_enabled_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    totp_last_step: Mapped[Optional[int]] = mapped_column(BigInteger)

    company: Mapped[Optional[Company]] = relationship(
        Company, back_populates="users", foreign_keys=[company_id]
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def has_role(self, name: str) -> bool:
        return any(role.name == name for role in self.roles)

    def __repr__(self) -> str:
        return self.full_name or self.email


@event.listens_for(PortalUser, "before_insert")
@event.listens_for(PortalUser, "before_update")
def _login_is_lowercase_email(mapper, connection, user: PortalUser) -> None:
    """The login is the email: stored lower-case, so it is unique case-insensitively."""
    if user.email:
        user.email = user.email.strip().lower()
        user.username = user.email


class OrderStatus(Model):
    """A step of the repair workflow, editable by staff."""

    __tablename__ = "order_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    label_de: Mapped[str] = mapped_column(String(100), nullable=False)
    label_en: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_initial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_final: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    @property
    def label(self) -> str:
        """The label in the current request's language."""
        from app.i18n import get_locale

        try:
            locale = get_locale()
        except Exception:  # outside a request
            locale = None
        return self.label_en if locale is not None and locale.language == "en" else self.label_de

    def __repr__(self) -> str:
        return self.label


class Counter(Model):
    """Named counters, incremented atomically (RMA numbers per year)."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Order(Model):
    """A repair / return order from any source."""

    __tablename__ = "repair_order"
    __table_args__ = (
        CheckConstraint(f"source IN {SOURCES!r}", name="ck_order_source"),
        Index("ix_order_company_created", "company_id", "created_at"),
        Index("ix_order_status_created", "status_id", "created_at"),
        # open orders (completed_at IS NULL) newest first, with their due date in the index: the
        # overdue / due-soon lists read 25 rows in order without sorting every overdue order, and
        # their counts never touch the table
        Index("ix_order_open_due", "completed_at", "created_at", "due_date"),
        # a company's orders completed in a period: turnaround and on-time share of its statistics
        Index("ix_order_company_completed", "company_id", "completed_at"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rma_number: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    company_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("company.id"), nullable=True, index=True
    )
    source: Mapped[str] = mapped_column(String(10), nullable=False, default=SOURCE_BACKEND, index=True)
    reference: Mapped[Optional[str]] = mapped_column(String(100), index=True)

    customer_name: Mapped[Optional[str]] = mapped_column(String(200))
    contact_person: Mapped[Optional[str]] = mapped_column(String(200))
    street: Mapped[Optional[str]] = mapped_column(String(200))
    postcode: Mapped[Optional[str]] = mapped_column(String(20))
    city: Mapped[Optional[str]] = mapped_column(String(100))
    country: Mapped[Optional[str]] = mapped_column(String(100))
    email: Mapped[Optional[str]] = mapped_column(String(320))
    phone: Mapped[Optional[str]] = mapped_column(String(50))

    # the language the customer of a public-form order wrote in: their mails use it
    language: Mapped[Optional[str]] = mapped_column(String(2))

    status_id: Mapped[int] = mapped_column(Integer, ForeignKey("order_status.id"), nullable=False, index=True)
    # kept by the services that add or remove articles (sortable, no count per row)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    # the turnaround promise: the day the repair is due (received + the company's working days +
    # the working days spent waiting for the customer's quote decisions)
    due_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    # working days the order waited for the customer's quote decisions (they do not count)
    waiting_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # when the order first reached a final status
    completed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # when its personal data was removed after the retention period (app/services/retention.py)
    anonymised_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)

    company: Mapped[Optional[Company]] = relationship(Company)
    status: Mapped[OrderStatus] = relationship(OrderStatus)
    created_by: Mapped[Optional[PortalUser]] = relationship(PortalUser, foreign_keys=[created_by_id])
    items: Mapped[list["OrderItem"]] = relationship(
        "OrderItem", back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id",
        foreign_keys="OrderItem.order_id",
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        "Attachment", back_populates="order", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    status_changes: Mapped[list["StatusChange"]] = relationship(
        "StatusChange",
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="StatusChange.changed_at.desc(), StatusChange.id.desc()",
    )

    @property
    def order_attachments(self) -> list["Attachment"]:
        """Files of the whole order (not of one article)."""
        return [a for a in self.attachments if a.item_id is None]

    def __repr__(self) -> str:
        return self.rma_number or "?"


class OrderItem(Model):
    """An article on an order."""

    __tablename__ = "order_item"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="ck_order_item_quantity"),
        # one company's articles of one serial number: the service history, repeat repairs at every new
        # order (SQLite took the company index alone: 46 ms per article for a company of 30,000 articles)
        Index("ix_order_item_company_serial", "company_id", "serial_number"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("repair_order.id"), nullable=False, index=True)
    company_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("company.id"), nullable=True, index=True
    )
    article_number: Mapped[Optional[str]] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    serial_number: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    fault_description: Mapped[Optional[str]] = mapped_column(Text)
    # the warranty as it stood when the order was created (from the company's device register):
    # warranty_until None = unknown; in_warranty None = unknown
    warranty_until: Mapped[Optional[dt.date]] = mapped_column(Date)
    in_warranty: Mapped[Optional[bool]] = mapped_column(Boolean, index=True)
    # the earlier order of the same serial number that was completed within REPEAT_REPAIR_DAYS
    repeat_of_order_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("repair_order.id"),
                                                              nullable=True, index=True)

    order: Mapped[Order] = relationship(Order, back_populates="items", foreign_keys=[order_id])
    repeat_of: Mapped[Optional[Order]] = relationship(Order, foreign_keys=[repeat_of_order_id])
    attachments: Mapped[list["Attachment"]] = relationship(
        "Attachment", back_populates="item", order_by="Attachment.id"
    )

    def __repr__(self) -> str:
        return " ".join(p for p in (self.article_number, self.description) if p)


class Attachment(Model):
    """A file of an order or of one of its articles, stored under a random name."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("repair_order.id"), nullable=False, index=True)
    item_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("order_item.id"), nullable=True, index=True)
    company_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("company.id"), nullable=True, index=True
    )
    stored_name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    order: Mapped[Order] = relationship(Order, back_populates="attachments")
    item: Mapped[Optional[OrderItem]] = relationship(OrderItem, back_populates="attachments")
    uploaded_by: Mapped[Optional[PortalUser]] = relationship(PortalUser)

    def __repr__(self) -> str:
        return self.original_name


class StatusChange(Model):
    """One step in an order's processing status history."""

    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("repair_order.id"), nullable=False, index=True)
    company_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("company.id"), nullable=True, index=True
    )
    from_status_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("order_status.id"))
    to_status_id: Mapped[int] = mapped_column(Integer, ForeignKey("order_status.id"), nullable=False)
    changed_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    note: Mapped[Optional[str]] = mapped_column(Text)

    order: Mapped[Order] = relationship(Order, back_populates="status_changes")
    from_status: Mapped[Optional[OrderStatus]] = relationship(OrderStatus, foreign_keys=[from_status_id])
    to_status: Mapped[OrderStatus] = relationship(OrderStatus, foreign_keys=[to_status_id])
    changed_by: Mapped[Optional[PortalUser]] = relationship(PortalUser)


class RegistrationRequest(Model):
    """A company's request for portal access, decided by staff."""

    __tablename__ = "registration_request"
    __table_args__ = (
        CheckConstraint(f"state IN {REQUEST_STATES!r}", name="ck_registration_state"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200), nullable=False)
    street: Mapped[Optional[str]] = mapped_column(String(200))
    postcode: Mapped[Optional[str]] = mapped_column(String(20))
    city: Mapped[Optional[str]] = mapped_column(String(100))
    country: Mapped[Optional[str]] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(64), nullable=False)
    last_name: Mapped[str] = mapped_column(String(64), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False, index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(50))
    message: Mapped[Optional[str]] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), nullable=False, default="de", server_default="de")
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=REQUEST_PENDING, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    decided_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    company_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("company.id"))

    decided_by: Mapped[Optional[PortalUser]] = relationship(PortalUser)
    company: Mapped[Optional[Company]] = relationship(Company)

    def __repr__(self) -> str:
        return self.company_name


class AuditEvent(Model):
    """Who changed what and when: status, customer data, employees, registrations."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    actor_name: Mapped[Optional[str]] = mapped_column(String(200))
    company_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("company.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(40), nullable=False)
    object_id: Mapped[Optional[int]] = mapped_column(Integer)
    object_label: Mapped[Optional[str]] = mapped_column(String(200))
    old_values: Mapped[Optional[str]] = mapped_column(Text)
    new_values: Mapped[Optional[str]] = mapped_column(Text)

    actor: Mapped[Optional[PortalUser]] = relationship(PortalUser)
    company: Mapped[Optional[Company]] = relationship(Company)

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, old value, new value) for every field the event names, in a stable order."""
        old = json.loads(self.old_values) if self.old_values else {}
        new = json.loads(self.new_values) if self.new_values else {}
        return [(name, old.get(name), new.get(name)) for name in sorted(set(old) | set(new))]


class OrderMessage(Model):
    """A message on an order between the customer and staff, or a staff-internal note."""

    __tablename__ = "order_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("repair_order.id"), nullable=False, index=True)
    company_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("company.id"), index=True)
    author_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    from_staff: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    order: Mapped[Order] = relationship(Order)
    author: Mapped[Optional[PortalUser]] = relationship(PortalUser)


class OutgoingMail(Model):
    """A mail to send: queued with the change that caused it, sent after commit, retried."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    language: Mapped[str] = mapped_column(String(2), nullable=False, default="de")
    order_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("repair_order.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    # the sender that took this mail (one per mail); a claim older than MAIL_CLAIM_LEASE is
    # taken as abandoned (the sender died) and the mail is claimed again
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


QUOTE_DRAFT = "draft"
QUOTE_SENT = "sent"
QUOTE_ACCEPTED = "accepted"
QUOTE_REJECTED = "rejected"
QUOTE_REPLACED = "replaced"
QUOTE_STATES = (QUOTE_DRAFT, QUOTE_SENT, QUOTE_ACCEPTED, QUOTE_REJECTED, QUOTE_REPLACED)
REJECT_RETURN = "return"
REJECT_DISPOSE = "dispose"
REJECT_ACTIONS = (REJECT_RETURN, REJECT_DISPOSE)


class Quote(Model):
    """A cost estimate (Kostenvoranschlag) for an order, one row per version.

    Staff edit a draft; sending freezes it. Exactly one decision per version: the state moves
    from ``sent`` to ``accepted`` or ``rejected`` by one conditional UPDATE (see services.quotes).
    """

    __tablename__ = "quote"
    __table_args__ = (
        UniqueConstraint("order_id", "version", name="uq_quote_order_version"),
        CheckConstraint(f"state IN {QUOTE_STATES!r}", name="ck_quote_state"),
        Index("ix_quote_state_valid", "state", "valid_until"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, ForeignKey("repair_order.id"), nullable=False, index=True)
    company_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("company.id"), nullable=True,
                                                      index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=QUOTE_DRAFT)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False, default=Decimal("19"))
    net: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    vat: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    gross: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    valid_until: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[Optional[str]] = mapped_column(Text)
    created_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    sent_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    decided_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    po_number: Mapped[Optional[str]] = mapped_column(String(50))
    reject_action: Mapped[Optional[str]] = mapped_column(String(10))
    # approved at sending because the gross total was within the company's approval limit
    auto_approved_limit: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 2))
    # the cron command's marks, so that it mails each reminder and expiry once
    reminded_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    expiry_notified_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(Order)
    lines: Mapped[list["QuoteLine"]] = relationship(
        "QuoteLine", back_populates="quote", cascade="all, delete-orphan", order_by="QuoteLine.position"
    )
    created_by: Mapped[Optional[PortalUser]] = relationship(PortalUser, foreign_keys=[created_by_id])
    sent_by: Mapped[Optional[PortalUser]] = relationship(PortalUser, foreign_keys=[sent_by_id])
    decided_by: Mapped[Optional[PortalUser]] = relationship(PortalUser, foreign_keys=[decided_by_id])

    def expired(self, today: Optional[dt.date] = None) -> bool:
        """A sent quote past its validity can no longer be decided."""
        return self.state == QUOTE_SENT and self.valid_until < (today or utcnow().date())

    def __repr__(self) -> str:
        return f"{self.order.rma_number if self.order else '?'} v{self.version}"


class QuoteLine(Model):
    """One line of a quote: text, quantity, unit price net, optionally one of the order's articles."""

    __tablename__ = "quote_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_quote_line_quantity"),
        CheckConstraint("unit_price >= 0", name="ck_quote_line_price"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quote_id: Mapped[int] = mapped_column(Integer, ForeignKey("quote.id"), nullable=False, index=True)
    company_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("company.id"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    text: Mapped[str] = mapped_column(String(300), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False, default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    # quantity x unit price, rounded to the cent as on an invoice
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    item_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("order_item.id"), nullable=True)

    quote: Mapped[Quote] = relationship(Quote, back_populates="lines")
    item: Mapped[Optional[OrderItem]] = relationship(OrderItem)


class Device(Model):
    """A device in a company's register: one serial number per company, with its warranty."""

    __tablename__ = "device"
    __table_args__ = (
        UniqueConstraint("company_id", "serial_number", name="uq_device_company_serial"),
        # the serial-number search's walk through a company's active devices (app/services/devices.py)
        Index("ix_device_active_serial", "company_id", "serial_number", "id",
              postgresql_where=text("active"), sqlite_where=text("active = 1")),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer, ForeignKey("company.id"), nullable=False, index=True)
    serial_number: Mapped[str] = mapped_column(String(100), nullable=False)
    article_number: Mapped[Optional[str]] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    delivered_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    warranty_until: Mapped[Optional[dt.date]] = mapped_column(Date)
    location: Mapped[Optional[str]] = mapped_column(String(100))  # location or cost centre
    note: Mapped[Optional[str]] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    company: Mapped[Company] = relationship(Company)

    def warranty_state(self, on: Optional[dt.date] = None) -> Optional[bool]:
        """True in warranty, False expired, None unknown (no warranty end known)."""
        if self.warranty_until is None:
            return None
        return self.warranty_until >= (on or utcnow().date())

    def __repr__(self) -> str:
        return f"{self.serial_number} {self.description}"


class IdempotencyKey(Model):
    """A request that creates an order, remembered for a while under the key its sender chose.

    A retry with the same key (the API's ``Idempotency-Key`` header, a form's one-time token)
    gets the first result instead of a second order. Keys belong to one user; the public order
    form's tokens have no user. The row is written in the transaction of the order it names, so
    a key without its order (or an order without its key) is never committed.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_key"),
        # NULLs are distinct in a unique constraint: the public form's tokens need their own index
        Index("uq_idempotency_key_public", "key", unique=True,
              sqlite_where=text("user_id IS NULL"), postgresql_where=text("user_id IS NULL")),
        Index("ix_idempotency_key_created", "created_at"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    # SHA-256 of what the request asked for: the same key with another request is refused
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("repair_order.id", ondelete="CASCADE"), index=True
    )
    # the API's first answer, sent again to a retry
    response_status: Mapped[Optional[int]] = mapped_column(Integer)
    response_body: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class ImportPreview(Model):
    """The checked rows of an uploaded file between its preview and the user's confirmation: in the
    database, so that any app server can confirm what another one previewed. Only a hash of the
    token is kept; the token itself stays with the browser."""

    __tablename__ = "import_preview"
    __table_args__ = {"extend_existing": True}

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False)
    company_id: Mapped[int] = mapped_column(Integer, ForeignKey("company.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    rows: Mapped[str] = mapped_column(Text, nullable=False)


WEBHOOK_EVENTS = ("order.created", "order.status_changed", "order.message", "quote.sent", "quote.decided")
WEBHOOK_PING = "ping"  # the "Send test event" button; never subscribed to
WEBHOOK_PAUSED_MANUALLY = "manual"
WEBHOOK_PAUSED_FAILING = "failing"


class WebhookEndpoint(Model):
    """A company's address that hears of its own events (signed with its secret)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer, ForeignKey("company.id"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    events: Mapped[str] = mapped_column(String(200), nullable=False)  # comma-separated, of WEBHOOK_EVENTS
    # kept readable (not hashed): the server signs every delivery with it; shown to the admin once
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    paused_reason: Mapped[Optional[str]] = mapped_column(String(20))  # manual / failing
    paused_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # the first failed delivery since the last one accepted; None while the endpoint answers
    failing_since: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    created_by_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    created_by: Mapped[Optional[PortalUser]] = relationship(PortalUser)

    @property
    def event_list(self) -> list[str]:
        return [e for e in (self.events or "").split(",") if e]

    def __repr__(self) -> str:
        return self.url


class WebhookDelivery(Model):
    """One event for one endpoint: queued with the change, claimed and sent by one sender, retried."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_endpoint_id_id", "endpoint_id", "id"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)  # X-Portal-Delivery, "id"
    endpoint_id: Mapped[int] = mapped_column(Integer, ForeignKey("webhook_endpoint.id"), nullable=False)
    company_id: Mapped[int] = mapped_column(Integer, ForeignKey("company.id"), nullable=False, index=True)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # the JSON body, exactly as sent
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # when it is due; None once delivered or given up (the due query reads this index only)
    next_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, index=True)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    delivered_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    given_up_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_status_code: Mapped[Optional[int]] = mapped_column(Integer)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship(WebhookEndpoint)


EXPORT_USER, EXPORT_COMPANY = "user", "company"
EXPORT_SCOPES = (EXPORT_USER, EXPORT_COMPANY)
EXPORT_PENDING, EXPORT_READY, EXPORT_FAILED = "pending", "ready", "failed"


class RecoveryCode(Model):
    """A single-use recovery code of a user's two-factor login, stored as its SHA-256 (the codes are
    random, 80 bits: a slow hash would add nothing but time)."""

    __tablename__ = "recovery_code"
    __table_args__ = ({"extend_existing": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class DataExport(Model):
    """A "Data export" (Datenauskunft): a ZIP of a user's or a company's data, built in the
    background and offered for download until ``expires_at``."""

    __tablename__ = "data_export"
    __table_args__ = (
        CheckConstraint(f"scope IN {EXPORT_SCOPES!r}", name="ck_data_export_scope"),
        Index("ix_data_export_user_id_id", "user_id", "id"),
        Index("ix_data_export_company_id_id", "company_id", "id"),
        {"extend_existing": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False)  # who asked
    company_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("company.id"))
    scope: Mapped[str] = mapped_column(String(10), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=EXPORT_PENDING, index=True)
    stored_name: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    size: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    ready_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    expires_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, index=True)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    error: Mapped[Optional[str]] = mapped_column(Text)

    user: Mapped[PortalUser] = relationship(PortalUser)
