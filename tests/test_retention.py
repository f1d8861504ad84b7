"""Storage limitation: `flask portal retention` anonymises orders closed long ago and prunes the audit log."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, AuditEvent, Order, OrderItem, OrderMessage, OutgoingMail, utcnow
from app.services import audit, retention
from tests.factories import make_order
from tests.helpers import new_order_data, stored_files, text, upload


def _close(order: Order, months_ago: int, days: int = 3) -> None:
    order.completed_at = retention.months_before(utcnow(), months_ago) - dt.timedelta(days=days)
    db.session.commit()


def _portal_order_with_everything(client, company, user) -> Order:
    """A portal order with a file, a message, a mail about it and an audit entry of its customer data."""
    data = new_order_data(reference="PO-OLD", files=[upload("report.pdf")])
    assert client.post("/cc/orders/new", data=data, content_type="multipart/form-data").status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "PO-OLD")).one()
    db.session.add(OrderMessage(order_id=order.id, company_id=order.company_id, author_id=user.id,
                                from_staff=False, internal=False, body="Bitte an Frau Berger, Tel. 0171 555"))
    db.session.add(OutgoingMail(recipient="berger@example.com", subject="Auftrag", body="Hallo Frau Berger",
                                kind="order_created", language="de", order_id=order.id, sent_at=utcnow()))
    audit.record(audit.ORDER_CUSTOMER_DATA, order, actor=user, company_id=order.company_id,
                 old={"phone": "0171 555"}, new={"phone": "0171 666"})
    db.session.commit()
    return order


def test_dry_run_counts_what_is_due_and_changes_nothing_then_the_run_anonymises_only_that(
        app, customer_client, company_a, customer_a):
    old = _portal_order_with_everything(customer_client, company_a, customer_a)
    _close(old, 24)
    public_old = make_order(None, source="frontend", customer_name="Praxis Dr. Lang", email="lang@example.com",
                            phone="089 1234", street="Hauptstr. 1", city="München")
    _close(public_old, 12)
    recent = make_order(company_a, customer_a, reference="PO-RECENT")
    _close(recent, 23)  # closed 23 months ago: kept
    public_recent = make_order(None, source="frontend", customer_name="Werkstatt Ost")
    _close(public_recent, 11)
    still_open = make_order(company_a, customer_a, reference="PO-OPEN")
    still_open.created_at = utcnow() - dt.timedelta(days=1000)  # old, but not closed: kept
    db.session.commit()
    files_before = stored_files(app)
    assert len(files_before) == 1
    mails = db.session.scalar(select(func.count()).select_from(OutgoingMail).where(OutgoingMail.order_id == old.id))
    assert mails >= 2  # the confirmation of the new order and the one added above

    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert ("would anonymise 1 orders and 1 public-form orders (1 messages, 1 files, "
            f"{mails} mails, 1 audit entries' values)") in result.output
    db.session.expire_all()
    assert db.session.get(Order, old.id).customer_name and db.session.get(Order, old.id).anonymised_at is None
    assert stored_files(app) == files_before

    result = runner.invoke(args=["portal", "retention"])
    assert result.exit_code == 0, result.output
    assert f"anonymised 1 orders and 1 public-form orders (1 messages, 1 files, {mails} mails" in result.output
    db.session.expire_all()
    for order_id in (old.id, public_old.id):
        order = db.session.get(Order, order_id)
        assert order.anonymised_at is not None
        assert all(getattr(order, f) is None for f in ("customer_name", "contact_person", "street", "postcode",
                                                        "city", "email", "phone"))
        # what statistics and service histories need stays
        assert order.rma_number and order.status_id and order.completed_at and order.items
    assert db.session.get(Order, old.id).reference == "PO-OLD"
    assert db.session.scalars(select(OrderItem.serial_number).where(OrderItem.order_id == old.id)).all()
    assert db.session.scalars(select(OrderMessage.body).where(OrderMessage.order_id == old.id)).all() == ["–"]
    assert db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.order_id == old.id)) == 0
    assert stored_files(app) == []
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail).where(OutgoingMail.order_id == old.id)) == 0
    change = db.session.scalars(select(AuditEvent).where(AuditEvent.action == audit.ORDER_CUSTOMER_DATA)).one()
    assert change.old_values is None and change.new_values is None
    for kept in (recent, public_recent, still_open):
        order = db.session.get(Order, kept.id)
        assert order.anonymised_at is None and order.customer_name
    # the run itself is audited with its counts, without personal data
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == retention.RETENTION_RUN)).one()
    assert json.loads(run.new_values)["orders"] == 1 and "Berger" not in run.new_values


def test_a_second_run_changes_nothing_and_the_company_still_sees_its_anonymised_order(
        app, customer_client, company_a, customer_a):
    old = make_order(company_a, customer_a, reference="PO-OLD-2")
    _close(old, 30)
    first = retention.run()
    assert (first.orders, first.public_orders) == (1, 0)
    stamp = db.session.get(Order, old.id).anonymised_at
    second = retention.run()
    assert (second.orders, second.public_orders, second.messages, second.files) == (0, 0, 0, 0)
    db.session.expire_all()
    assert db.session.get(Order, old.id).anonymised_at == stamp
    page = customer_client.get(f"/cc/orders/{old.id}")
    assert page.status_code == 200 and old.rma_number in page.get_data(as_text=True)
    assert "Die personenbezogenen Daten dieses Auftrags wurden am" in text(page)
    assert retention.plan().orders == 0


def test_staff_see_that_an_order_was_anonymised(app, staff_client, company_a, customer_a):
    old = make_order(company_a, customer_a)
    _close(old, 25)
    retention.run()
    page = text(staff_client.get(f"/backend/orders/show/{old.id}"))
    assert "Die personenbezogenen Daten dieses Auftrags wurden am" in page and "Aufbewahrungsfrist" in page


def test_audit_entries_older_than_their_limit_are_deleted(app, company_a, customer_a):
    order = make_order(company_a, customer_a)
    ancient = audit.record(audit.ORDER_STATUS, order, actor=customer_a, company_id=company_a.id)
    ancient.at = retention.months_before(utcnow(), 36) - dt.timedelta(days=1)
    young = audit.record(audit.ORDER_STATUS, order, actor=customer_a, company_id=company_a.id)
    young.at = retention.months_before(utcnow(), 35)
    db.session.commit()
    ancient_id, young_id = ancient.id, young.id
    assert retention.plan().audit_pruned == 1
    assert retention.run().audit_pruned == 1
    assert db.session.get(AuditEvent, ancient_id) is None and db.session.get(AuditEvent, young_id) is not None


def test_the_periods_come_from_the_configuration(app, company_a, customer_a):
    order = make_order(company_a, customer_a)
    _close(order, 3)
    assert retention.plan().orders == 0
    app.config["RETENTION_MONTHS"] = 3
    try:
        assert retention.plan().orders == 1
        assert retention.run(batch=1).orders == 1
    finally:
        app.config["RETENTION_MONTHS"] = 24


def test_months_before_keeps_the_day_or_takes_the_months_last():
    assert retention.months_before(dt.datetime(2026, 3, 31, 5), 1) == dt.datetime(2026, 2, 28, 5)
    assert retention.months_before(dt.datetime(2024, 2, 29), 12) == dt.datetime(2023, 2, 28)
    assert retention.months_before(dt.datetime(2026, 1, 15), 1) == dt.datetime(2025, 12, 15)
    assert retention.months_before(dt.datetime(2026, 12, 2), 24) == dt.datetime(2024, 12, 2)
