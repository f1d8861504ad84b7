"""The rules of quotes and turnaround promises, below the views: amounts, versions, one decision
per version, deadlines, due dates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OrderItem, OutgoingMail, Quote
from app.services import quotes, turnaround
from app.services.quotes import QuoteConflict, QuoteInvalid
from tests import factories
from tests.helpers import statements_seen, today


def _lines(*rows):
    return [dict(text=text, quantity=qty, unit_price=price) for text, qty, price in rows]


def _draft(order, staff, rows=(("Diagnosis", "1", "49.00"),), **kw):
    kw.setdefault("vat_rate", Decimal("19"))
    kw.setdefault("valid_until", today() + dt.timedelta(days=14))
    kw.setdefault("note", None)
    return quotes.save_draft(order, staff, lines=_lines(*rows), **kw)


def test_totals_are_rounded_per_line_then_vat_once(app, company_a, customer_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    quote = _draft(order, staff_user, rows=(("Display", "3", "19.99"), ("Labour 0.5 h", "0,5", "85.55"),
                                             ("Screws", "7", "0.125")[:2] + ("0.13",)))
    db.session.commit()
    assert [line.amount for line in quote.lines] == [Decimal("59.97"), Decimal("42.78"), Decimal("0.91")]
    assert quote.net == Decimal("103.66")
    assert quote.vat == Decimal("19.70")  # 19.6954 rounded once
    assert quote.gross == Decimal("123.36")
    assert (quote.version, quote.state, quote.currency) == (1, "draft", "EUR")


@pytest.mark.parametrize("row, field", [
    (("", "1", "10"), "lines-0-text"),
    (("Part", "0", "10"), "lines-0-quantity"),
    (("Part", "-2", "10"), "lines-0-quantity"),
    (("Part", "1e9", "10"), "lines-0-quantity"),
    (("Part", "nan", "10"), "lines-0-quantity"),
    (("Part", "1", "-5"), "lines-0-unit_price"),
    (("Part", "1", "99999999"), "lines-0-unit_price"),
    (("Part", "1", "1.005"), "lines-0-unit_price"),
    (("Part", "1", "abc"), "lines-0-unit_price"),
])
def test_bad_lines_are_refused_at_their_field_and_nothing_is_saved(app, company_a, customer_a, staff_user,
                                                                      row, field):
    order = factories.make_order(company_a, customer_a)
    with pytest.raises(QuoteInvalid) as refused:
        _draft(order, staff_user, rows=(row,))
    db.session.rollback()
    assert refused.value.field == field and refused.value.message
    assert db.session.scalars(select(Quote)).all() == []


def test_limits_of_a_quote(app, company_a, customer_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    with pytest.raises(QuoteInvalid) as too_many:
        _draft(order, staff_user, rows=[("Part", "1", "1")] * 101)
    assert too_many.value.field == "lines"
    with pytest.raises(QuoteInvalid) as past:
        _draft(order, staff_user, valid_until=today() - dt.timedelta(days=1))
    assert past.value.field == "valid_until"
    with pytest.raises(QuoteInvalid) as rate:
        _draft(order, staff_user, vat_rate=Decimal("150"))
    assert rate.value.field == "vat_rate"
    other = factories.make_order(company_a, customer_a)
    with pytest.raises(QuoteInvalid) as foreign_item:
        quotes.save_draft(order, staff_user, lines=[dict(text="x", quantity=1, unit_price=1,
                                                         item_id=other.items[0].id)],
                          vat_rate=Decimal("19"), valid_until=today(), note=None)
    assert foreign_item.value.field == "lines-0-item_id"
    db.session.rollback()
    assert db.session.scalars(select(Quote)).all() == []
    assert len(_draft(order, staff_user, rows=[("Part", "1", "1")] * 100).lines) == 100


def test_sending_freezes_replaces_and_moves_the_order(app, company_a, customer_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    first = _draft(order, staff_user)
    quotes.send(first, staff_user)
    db.session.commit()
    assert first.state == "sent" and order.status.code == "estimate_sent"
    mails = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "quote_sent")).all()
    assert [m.recipient for m in mails] == [customer_a.email]
    assert "Kostenvoranschlag" in mails[0].body or "quote" in mails[0].body.lower()
    with pytest.raises(QuoteConflict):
        quotes.send(first, staff_user)  # a double click
    db.session.rollback()

    second = _draft(order, staff_user, rows=(("Diagnosis", "1", "39.00"),))
    assert second.version == 2 and quotes.current_quote(order.id).id == first.id  # a draft is not shown
    quotes.send(second, staff_user)
    db.session.commit()
    db.session.refresh(first)
    assert first.state == "replaced" and quotes.current_quote(order.id, company_a.id).id == second.id
    assert [q.version for q in quotes.versions(order)] == [2, 1]


def test_the_current_quote_is_only_ever_the_asking_companys(app, company_a, company_b, customer_a, staff_user):
    """The statement is built once per way of asking; the company stays a parameter of each call."""
    order = factories.make_order(company_a, customer_a, items=2)
    quote = quotes.send(_draft(order, staff_user, rows=(("Diagnosis", "1", "49.00"), ("Repair", "2", "10.00"))),
                        staff_user)
    db.session.commit()
    for with_lines in (False, True):
        for articles in (None, order.items):
            ask = dict(with_lines=with_lines, articles=articles)
            assert quotes.current_quote(order.id, company_b.id, **ask) is None
            assert quotes.current_quote(order.id, company_a.id, **ask).id == quote.id
            assert quotes.current_quote(order.id, **ask).id == quote.id  # staff: unscoped
            assert quotes.current_quote(order.id + 1000, company_a.id, **ask) is None
    db.session.expire_all()
    read = quotes.current_quote(order.id, company_a.id, with_lines=True)
    assert [line.text for line in read.lines] == ["Diagnosis", "Repair"]


def test_lines_take_their_articles_from_the_order_read_already(app, company_a, customer_a, staff_user):
    order = factories.make_order(company_a, customer_a, items=2)
    first, second = order.items
    rows = [dict(text="Display", quantity="1", unit_price="10.00", item_id=first.id),
            dict(text="Akku", quantity="1", unit_price="20.00", item_id=second.id),
            dict(text="Diagnose", quantity="1", unit_price="30.00")]
    quotes.send(quotes.save_draft(order, staff_user, lines=rows, vat_rate=Decimal("19"),
                                  valid_until=today() + dt.timedelta(days=14), note=None), staff_user)
    db.session.commit()
    db.session.expire_all()
    items = db.session.scalars(select(OrderItem).where(OrderItem.id == first.id)).all()  # the second not among them
    quote = quotes.current_quote(order.id, company_a.id, with_lines=True, articles=items)
    display, akku, diagnose = quote.lines
    # handed over: loaded already, nothing left for the line to look up
    assert "item" not in sa_inspect(display).unloaded and "item" not in sa_inspect(diagnose).unloaded
    with statements_seen() as statements:
        assert display.item is items[0] and diagnose.item is None
    assert statements == []
    assert "item" in sa_inspect(akku).unloaded  # not among the articles: it looks its own up
    assert akku.item.id == second.id and akku.item.serial_number == second.serial_number


def test_one_decision_per_version(app, company_a, customer_a, company_admin_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    quote = quotes.send(_draft(order, staff_user), staff_user)
    db.session.commit()
    quotes.decide(quote, company_admin_a, accept=True, po_number="PO-4711")
    db.session.commit()
    assert (quote.state, quote.po_number, quote.decided_by_id) == ("accepted", "PO-4711", company_admin_a.id)
    assert order.status.code == "in_repair"
    with pytest.raises(QuoteConflict) as second:
        quotes.decide(quote, customer_a, accept=False, reject_action="dispose")
    db.session.rollback()
    assert company_admin_a.full_name in second.value.message
    db.session.refresh(quote)
    assert quote.state == "accepted" and quote.reject_action is None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Quote")).all()
    assert sorted(actions) == ["quote.accepted", "quote.sent"]
    staff_mails = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "quote_decided")).all()
    assert len(staff_mails) == 1 and "PO-4711" in staff_mails[0].body


def test_replaced_and_expired_versions_cannot_be_decided(app, company_a, customer_a, company_admin_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    old = quotes.send(_draft(order, staff_user), staff_user)
    quotes.send(_draft(order, staff_user), staff_user)
    db.session.commit()
    with pytest.raises(QuoteConflict) as replaced:
        quotes.decide(old, company_admin_a, accept=True)
    db.session.rollback()
    assert "neuere Version" in replaced.value.message  # German, the default language
    current = quotes.current_quote(order.id)
    with pytest.raises(QuoteConflict) as expired:
        quotes.decide(current, company_admin_a, accept=True, today=current.valid_until + dt.timedelta(days=1))
    db.session.rollback()
    assert "abgelaufen" in expired.value.message
    db.session.refresh(current)
    assert current.state == "sent" and current.expired(current.valid_until + dt.timedelta(days=1))


def test_po_number_required_and_reject_action(app, company_a, customer_a, company_admin_a, staff_user):
    company_a.po_number_required = True
    db.session.commit()
    order = factories.make_order(company_a, customer_a)
    quote = quotes.send(_draft(order, staff_user), staff_user)
    db.session.commit()
    with pytest.raises(QuoteInvalid) as missing:
        quotes.decide(quote, company_admin_a, accept=True, po_number="  ")
    assert missing.value.field == "po_number"
    with pytest.raises(QuoteInvalid) as no_action:
        quotes.decide(quote, company_admin_a, accept=False, reject_action="burn")
    assert no_action.value.field == "reject_action"
    db.session.rollback()
    db.session.refresh(quote)
    assert quote.state == "sent"
    quotes.decide(quote, company_admin_a, accept=False, reject_action="return")
    db.session.commit()
    assert quote.state == "rejected" and order.status.code == "quote_rejected"


def test_approval_limit_approves_at_sending(app, company_a, customer_a, staff_user):
    company_a.approval_limit = Decimal("100.00")
    db.session.commit()
    small = factories.make_order(company_a, customer_a)
    quote = quotes.send(_draft(small, staff_user, rows=(("Part", "1", "84.03"),)), staff_user)  # 99.9957 → 100.00
    db.session.commit()
    assert quote.gross == Decimal("100.00")
    assert (quote.state, quote.auto_approved_limit, quote.decided_by_id) == ("accepted", Decimal("100.00"), None)
    assert small.status.code == "in_repair"
    big = factories.make_order(company_a, customer_a)
    over = quotes.send(_draft(big, staff_user, rows=(("Part", "1", "84.04"),)), staff_user)
    db.session.commit()
    assert over.state == "sent" and big.status.code == "estimate_sent"


def test_may_decide(app, company_a, customer_a, company_admin_a, staff_user):
    assert quotes.may_decide(company_admin_a)
    assert not quotes.may_decide(customer_a)
    assert not quotes.may_decide(staff_user)
    customer_a.may_approve_quotes = True
    assert quotes.may_decide(customer_a)
    customer_a.may_approve_quotes = False
    assert not quotes.may_decide(customer_a)


def test_deadlines_remind_and_report_once(app, company_a, customer_a, company_admin_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    quote = quotes.send(_draft(order, staff_user, valid_until=today() + dt.timedelta(days=10)), staff_user)
    db.session.commit()
    assert quotes.run_deadlines(today()) == {"reminded": 0, "expired": 0}
    soon = quote.valid_until - dt.timedelta(days=2)
    assert quotes.run_deadlines(soon) == {"reminded": 1, "expired": 0}
    assert quotes.run_deadlines(soon) == {"reminded": 0, "expired": 0}
    reminders = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "quote_reminder")).all()
    assert [m.recipient for m in reminders] == [company_admin_a.email]  # who may decide
    later = quote.valid_until + dt.timedelta(days=1)
    assert quotes.run_deadlines(later) == {"reminded": 0, "expired": 1}
    assert quotes.run_deadlines(later) == {"reminded": 0, "expired": 0}
    assert db.session.scalar(select(db.func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.kind == "quote_expired")) == 1


def test_working_days():
    friday = dt.date(2026, 11, 27)
    assert friday.weekday() == 4
    assert turnaround.add_working_days(friday, 1) == dt.date(2026, 11, 30)  # Monday
    assert turnaround.add_working_days(friday, 5) == dt.date(2026, 12, 4)
    assert turnaround.add_working_days(dt.date(2026, 11, 28), 1) == dt.date(2026, 11, 30)  # Saturday
    assert turnaround.add_working_days(friday, 0) == friday
    assert turnaround.working_days_between(friday, dt.date(2026, 11, 30)) == 1
    assert turnaround.working_days_between(friday, dt.date(2026, 12, 11)) == 10
    assert turnaround.working_days_between(friday, friday) == 0
    for start in (dt.date(2026, 11, 23) + dt.timedelta(days=n) for n in range(7)):
        for days in range(0, 23):
            end = turnaround.add_working_days(start, days)
            assert turnaround.working_days_between(start, end) == days or start.weekday() >= 5


def test_due_date_and_waiting_for_the_customer(app, company_a, customer_a, company_admin_a, staff_user):
    company_a.turnaround_days = 5
    db.session.commit()
    order = factories.make_order(company_a, customer_a)
    assert order.due_date == turnaround.add_working_days(order.created_at.date(), 5)
    due = order.due_date
    quote = quotes.send(_draft(order, staff_user), staff_user)
    db.session.commit()
    quote.sent_at = quote.sent_at - dt.timedelta(days=7)  # the customer took a week to decide
    db.session.commit()
    quotes.decide(quote, company_admin_a, accept=True)
    db.session.commit()
    assert order.waiting_days == 5 and order.due_date == turnaround.add_working_days(due, 5)


def test_the_cron_command_mails_each_reminder_once(app, company_a, customer_a, company_admin_a, staff_user):
    order = factories.make_order(company_a, customer_a)
    quote = quotes.send(_draft(order, staff_user, valid_until=today() + dt.timedelta(days=10)), staff_user)
    db.session.commit()
    soon = (quote.valid_until - dt.timedelta(days=1)).isoformat()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["portal", "quotes", "--today", soon])
    again = runner.invoke(args=["portal", "quotes", "--today", soon])
    assert first.exit_code == 0 and "1 reminded" in first.output, first.output
    assert again.exit_code == 0 and "0 reminded" in again.output
    reminder = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "quote_reminder")).one()
    assert reminder.recipient == company_admin_a.email and reminder.sent_at is not None  # delivered by the run
    assert order.rma_number in reminder.subject
    bad = runner.invoke(args=["portal", "quotes", "--today", "yesterday"])
    assert bad.exit_code != 0 and "--today" in bad.output and "yesterday" in bad.output
