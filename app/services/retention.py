"""Storage limitation (DSGVO Art. 5 (1) e): personal data of orders closed long ago is anonymised.

An order that reached a final status more than ``RETENTION_MONTHS`` ago (public-form orders of
senders without an account: ``RETENTION_PUBLIC_MONTHS``) loses its customer data (name, contact
person, address, email, phone), the text of its messages, its files and the mails sent about it;
the audit entries of its customer data lose their values. The RMA number, articles, serial numbers,
statuses, dates and figures stay, so statistics, service histories and warranty answers still work.
Audit entries older than ``AUDIT_RETENTION_MONTHS`` are deleted.

``run()`` works in batches of orders (one transaction each, by id, so a run that stops half-way
goes on where it stopped when started again) and is idempotent: an anonymised order is marked
(``anonymised_at``) and never touched again. Files are deleted from storage after their rows are
gone (a file left by a failure is collected by ``flask portal storage prune``). The run is audited
with its counts only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Callable, Optional

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from app.extensions import db
from app.models import (
    CUSTOMER_FIELDS,
    SOURCE_FRONTEND,
    Attachment,
    AuditEvent,
    DataExport,
    Order,
    OrderMessage,
    OutgoingMail,
    utcnow,
)

#: what an anonymised message says instead of its text
REMOVED = "–"
RETENTION_RUN = "retention.run"
BATCH = 1000


@dataclass
class RetentionCounts:
    orders: int = 0
    public_orders: int = 0
    messages: int = 0
    files: int = 0
    mails: int = 0
    audit_values: int = 0
    audit_pruned: int = 0
    exports: int = 0  # data exports past their download period


@dataclass
class Cutoffs:
    orders: dt.datetime
    public_orders: dt.datetime
    audit: dt.datetime


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day where the
    day does not exist: 31 March - 1 month = 28/29 February)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def cutoffs(now: Optional[dt.datetime] = None) -> Cutoffs:
    now = now or utcnow()
    config = current_app.config
    return Cutoffs(
        orders=months_before(now, int(config.get("RETENTION_MONTHS", 24))),
        public_orders=months_before(now, int(config.get("RETENTION_PUBLIC_MONTHS", 12))),
        audit=months_before(now, int(config.get("AUDIT_RETENTION_MONTHS", 36))),
    )


def _due(limits: Cutoffs):
    """Orders whose personal data is due: closed before their cutoff, not anonymised yet."""
    return and_(
        Order.anonymised_at.is_(None),
        Order.completed_at.isnot(None),
        or_(
            and_(Order.source == SOURCE_FRONTEND, Order.completed_at < limits.public_orders),
            and_(Order.source != SOURCE_FRONTEND, Order.completed_at < limits.orders),
        ),
    )


def plan(now: Optional[dt.datetime] = None) -> RetentionCounts:
    """What :func:`run` would do now, counted (``--dry-run``): nothing is changed."""
    limits = cutoffs(now)
    due = select(Order.id).where(_due(limits))
    counts = RetentionCounts()
    counts.public_orders = db.session.scalar(
        select(func.count()).select_from(Order).where(_due(limits), Order.source == SOURCE_FRONTEND)) or 0
    counts.orders = (db.session.scalar(select(func.count()).select_from(Order).where(_due(limits))) or 0) \
        - counts.public_orders
    counts.messages = db.session.scalar(
        select(func.count()).select_from(OrderMessage).where(OrderMessage.order_id.in_(due))) or 0
    counts.files = db.session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.order_id.in_(due))) or 0
    counts.mails = db.session.scalar(
        select(func.count()).select_from(OutgoingMail).where(OutgoingMail.order_id.in_(due))) or 0
    counts.audit_values = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        *_order_audit(due))) or 0
    counts.audit_pruned = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.at < limits.audit)) or 0
    counts.exports = db.session.scalar(
        select(func.count()).select_from(DataExport).where(DataExport.expires_at <= (now or utcnow()))) or 0
    return counts


def _order_audit(order_ids):
    """The audit entries that hold an order's customer data (old and new values)."""
    from app.services import audit

    return (AuditEvent.object_type == Order.__name__, AuditEvent.object_id.in_(order_ids),
            AuditEvent.action == audit.ORDER_CUSTOMER_DATA)


def anonymise_orders(ids: list[int], now: dt.datetime, counts: RetentionCounts) -> list[str]:
    """Remove the personal data of the orders ``ids`` in the current transaction (not committed):
    customer data, message texts, file rows, mails, the values of their customer-data audit entries.
    Returns the stored names of the files, to delete with :func:`delete_files` after the commit."""
    names = list(db.session.scalars(select(Attachment.stored_name).where(Attachment.order_id.in_(ids))))
    db.session.execute(delete(Attachment).where(Attachment.order_id.in_(ids))
                       .execution_options(synchronize_session=False))
    counts.messages += db.session.execute(
        update(OrderMessage).where(OrderMessage.order_id.in_(ids)).values(body=REMOVED)
        .execution_options(synchronize_session=False)).rowcount
    counts.mails += db.session.execute(delete(OutgoingMail).where(OutgoingMail.order_id.in_(ids))
                                       .execution_options(synchronize_session=False)).rowcount
    counts.audit_values += db.session.execute(
        update(AuditEvent).where(*_order_audit(ids)).values(old_values=None, new_values=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.execute(
        update(Order).where(Order.id.in_(ids))
        .values(**{field: None for field in CUSTOMER_FIELDS}, anonymised_at=now)
        .execution_options(synchronize_session=False))
    return names


def delete_files(names: list[str], storage=None) -> None:
    """Delete stored files whose rows are gone (after the commit: a rollback never leaves a row
    without its file; a file a failure leaves is collected by ``flask portal storage prune``)."""
    from app.services.storage import get_storage

    storage = storage or get_storage()
    for name in names:
        storage.delete(name)


def run(now: Optional[dt.datetime] = None, batch: int = BATCH,
        progress: Optional[Callable[[RetentionCounts], None]] = None) -> RetentionCounts:
    """Anonymise every order that is due and prune the audit log; returns what was done."""
    from app.services import audit
    from app.services.storage import get_storage

    now = now or utcnow()
    limits = cutoffs(now)
    counts = RetentionCounts()
    storage = get_storage()
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Order.id, Order.source).where(_due(limits), Order.id > last_id).order_by(Order.id).limit(batch)
        ).all()
        if not rows:
            break
        ids = [order_id for order_id, _source in rows]
        last_id = ids[-1]
        names = anonymise_orders(ids, now, counts)
        db.session.commit()
        delete_files(names, storage)
        counts.files += len(names)
        public = sum(1 for _id, source in rows if source == SOURCE_FRONTEND)
        counts.public_orders += public
        counts.orders += len(rows) - public
        if progress:
            progress(counts)
    while True:  # the audit log's own limit, in batches too
        old = list(db.session.scalars(select(AuditEvent.id).where(AuditEvent.at < limits.audit).limit(batch * 5)))
        if not old:
            break
        counts.audit_pruned += db.session.execute(delete(AuditEvent).where(AuditEvent.id.in_(old))).rowcount
        db.session.commit()
    from app.services import data_export

    counts.exports = data_export.expire(now)
    event = audit.record(RETENTION_RUN, RetentionRun(), actor=None, new=asdict(counts))
    event.object_label = "retention"
    db.session.commit()
    return counts


class RetentionRun:
    """The audited object of a run: no row of its own, no personal data."""

    id = None

    def __str__(self) -> str:
        return "retention"
