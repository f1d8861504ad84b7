"""The customer's decision on a quote in the portal: who sees what, who may decide, one decision
per version (also when two come at once), and the company admin's quote settings."""
from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditEvent, Company, OutgoingMail, PortalUser, Quote, StatusChange, utcnow
from app.security import roles
from tests.conftest import _client_for
from tests.factories import make_order, make_sent_quote, make_user
from tests.helpers import html_text, statements_seen, text


def audit_actions():
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def quote_row(quote_id):
    db.session.expire_all()
    q = db.session.get(Quote, quote_id)
    return (q.state, q.decided_by_id, q.po_number, q.reject_action)


@pytest.fixture
def order(app, company_a, customer_a):
    return make_order(company_a, customer_a, items=1, reference="Q-REF")


@pytest.fixture
def quote(app, order, staff_user):
    return make_sent_quote(order, staff_user)


# -- what the order page shows -----------------------------------------------------

def test_employee_without_the_right_sees_the_quote_but_no_buttons(customer_client, order, quote):
    response = customer_client.get(f"/cc/orders/{order.id}")
    page = text(response)
    assert response.status_code == 200
    assert "Kostenvoranschlag" in page and "Version 1" in page
    assert "Display tauschen" in page and "Arbeitszeit" in page
    # 120.00 + 1.5 x 80.00 = 240.00 net, 19 % VAT 45.60, gross 285.60, in the reader's format
    assert "240,00 €" in page and "45,60 €" in page and "285,60 €" in page and "19 %" in page
    assert "Wartet auf Ihre Entscheidung." in page and "Inkl. Versand" in page
    html = response.get_data(as_text=True)
    assert "accept-quote-form" not in html and "reject-quote-form" not in html


def test_company_admin_sees_the_buttons_in_english_too(app, company_admin_a, order, quote):
    company_admin_a.language = "en"
    db.session.commit()
    page = text(_client_for(app, company_admin_a).get(f"/cc/orders/{order.id}"))
    assert "Accept quote" in page and "Reject quote" in page and "Return unrepaired" in page
    assert "€240.00" in page and "€285.60" in page and "Waiting for your decision." in page


def test_the_order_page_reads_the_quote_with_its_lines_at_once(app, customer_client, company_a, customer_a,
                                                             company_admin_a, staff_user):
    """A long quote costs the page no more reads than a short one: the lines come with the quote in
    one statement and find their articles among the order's; each line still names its article,
    and an employee sees who accepted it."""
    from app.services import quotes

    def page_statements(order):
        with statements_seen() as statements:
            response = customer_client.get(f"/cc/orders/{order.id}")
        return response, statements

    short_order = make_order(company_a, customer_a, items=2)
    make_sent_quote(short_order, staff_user)
    long_order = make_order(company_a, customer_a, items=2)
    make_sent_quote(long_order, staff_user, lines=[
        dict(text=f"Schritt {n}", quantity="1", unit_price=f"{n}.50",
             item_id=long_order.items[n % 3].id if n % 3 < 2 else None) for n in range(12)])
    _, short_statements = page_statements(short_order)
    db.session.expire_all()
    response, long_statements = page_statements(long_order)
    html = response.get_data(as_text=True)
    lines_table = html[html.index('id="quote-lines"'):].split("</table>")[0]
    table = html_text(lines_table)

    assert len(long_statements) == len(short_statements), (short_statements, long_statements)
    # the statements that read the quote or its lines (the order's own read only asks whether it has one)
    quote_reads = [s for s in long_statements if "quote_line" in s or re.search(r"\bquote\.state\b", s.split(" FROM ")[0])]
    assert len(quote_reads) == 1 and re.search(r"JOIN quote_line", quote_reads[0]), quote_reads
    assert not [s for s in long_statements if re.search(r"FROM order_item WHERE order_item\.id =", s)]
    first, second = long_order.items
    for n in range(12):
        assert f"Schritt {n}" in table and f"{n},50 €" in table
    # each line with its article: article number, description, serial number
    assert table.count(f"{first.article_number} · {first.description} · {first.serial_number}") == 4
    assert table.count(f"{second.article_number} · {second.description} · {second.serial_number}") == 4

    quote = quotes.current_quote(long_order.id)
    quotes.decide(quote, company_admin_a, accept=True, po_number="PO-77")
    db.session.commit()
    db.session.expire_all()
    page = text(page_statements(long_order)[0])
    assert f"Angenommen von {company_admin_a.full_name}" in page and "PO-77" in page


def test_a_draft_is_never_shown(customer_client, order, staff_user):
    from app.services import quotes

    quotes.save_draft(order, staff_user, lines=[dict(text="GEHEIMER ENTWURF", quantity="1", unit_price="9")],
                      vat_rate=Decimal("19"), valid_until=utcnow().date() + dt.timedelta(days=3), note=None)
    db.session.commit()
    page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert "GEHEIMER ENTWURF" not in page and "Kostenvoranschlag" not in page


# -- deciding ------------------------------------------------------------------------

def test_forged_post_of_an_employee_without_the_right_is_403_and_changes_nothing(customer_client, order, quote):
    before = quote_row(quote.id)
    for path, data in (("accept", {"version": "1", "po_number": "PO-1"}),
                       ("reject", {"version": "1", "reject_action": "dispose"})):
        response = customer_client.post(f"/cc/orders/{order.id}/quote/{path}", data=data)
        assert response.status_code == 403
    assert quote_row(quote.id) == before
    assert "quote.accepted" not in audit_actions()


def test_admin_accepts_with_po_number(app, company_admin_client, company_admin_a, order, quote):
    mails_before = db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.kind == "quote_decided"))
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/accept",
                                         data={"version": "1", "po_number": " PO-4711 "})
    assert response.status_code == 302
    page = text(company_admin_client.get(response.headers["Location"]))
    assert "Sie haben den Kostenvoranschlag angenommen" in page
    assert f"Angenommen von {company_admin_a.full_name}" in page and "PO-4711" in page
    assert "In Reparatur" in page  # the order's status
    assert quote_row(quote.id) == ("accepted", company_admin_a.id, "PO-4711", None)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "quote.accepted")).one()
    assert event.actor_id == company_admin_a.id and "PO-4711" in event.new_values
    mails = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "quote_decided")).all()
    assert len(mails) == mails_before + 1 and mails[-1].recipient == app.config["MAIL_STAFF_ADDRESS"]
    assert mails[-1].sent_at is not None  # delivered after the commit
    html = company_admin_client.get(f"/cc/orders/{order.id}").get_data(as_text=True)
    assert "accept-quote-form" not in html  # decided: no buttons any more
    # the history names the step from "quote sent" to "in repair", and so does the audit trail
    change = db.session.scalars(select(StatusChange).where(StatusChange.order_id == order.id)
                                .order_by(StatusChange.id.desc())).first()
    assert (change.from_status.code, change.to_status.code, change.changed_by_id) == \
        ("estimate_sent", "in_repair", company_admin_a.id)
    moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "order.status")
                               .order_by(AuditEvent.id.desc())).first()
    assert '"estimate_sent"' in moved.old_values and '"in_repair"' in moved.new_values


def test_the_thanks_are_in_the_deciders_language(app, company_admin_a, order, quote):
    company_admin_a.language = "en"
    db.session.commit()
    client = _client_for(app, company_admin_a)
    response = client.post(f"/cc/orders/{order.id}/quote/accept", data={"version": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cc/orders/{order.id}#quote")
    page = text(client.get(response.headers["Location"]))
    assert "Thank you: you accepted the quote." in page and "Accepted by" in page


def test_employee_with_the_right_may_decide(app, company_a, order, quote):
    allowed = make_user(company_a, roles.CUSTOMER, email="buyer@alpha.example")
    allowed.may_approve_quotes = True
    db.session.commit()
    client = _client_for(app, allowed)
    assert "accept-quote-form" in client.get(f"/cc/orders/{order.id}").get_data(as_text=True)
    response = client.post(f"/cc/orders/{order.id}/quote/reject", data={"version": "1", "reject_action": "return"})
    assert response.status_code == 302
    assert quote_row(quote.id) == ("rejected", allowed.id, None, "return")


def test_po_number_required_and_missing_is_a_message_at_the_field(company_admin_client, company_a, order, quote):
    company_a.po_number_required = True
    db.session.commit()
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/accept", data={"version": "1", "po_number": " "})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="po_number-error"' in html
    assert "Bitte geben Sie Ihre Bestellnummer ein." in text(response)
    assert quote_row(quote.id) == ("sent", None, None, None)
    assert "quote.accepted" not in audit_actions()


def test_reject_without_a_choice_is_a_message_at_the_field(company_admin_client, order, quote):
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/reject", data={"version": "1"})
    assert response.status_code == 400 and 'id="reject_action-error"' in response.get_data(as_text=True)
    assert quote_row(quote.id) == ("sent", None, None, None)


def test_reject_with_dispose_moves_the_order_to_quote_rejected(company_admin_client, order, quote):
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/reject",
                                         data={"version": "1", "reject_action": "dispose"})
    assert response.status_code == 302
    page = text(company_admin_client.get(f"/cc/orders/{order.id}"))
    assert "Kostenvoranschlag abgelehnt" in page and "Entsorgen" in page
    db.session.expire_all()
    assert order.status.code == "quote_rejected"
    assert quote_row(quote.id)[0::3] == ("rejected", "dispose")


def test_a_replaced_version_is_409_with_a_message(company_admin_client, order, quote, staff_user):
    newer = make_sent_quote(order, staff_user, lines=[dict(text="Neu", quantity="1", unit_price="10")])
    assert newer.version == 2
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/accept", data={"version": "1"})
    assert response.status_code == 409
    assert "durch eine neuere Version ersetzt" in text(response)
    assert quote_row(quote.id)[0] == "replaced" and quote_row(newer.id)[0] == "sent"


def test_an_expired_quote_is_409_and_shown_as_expired(company_admin_client, order, quote):
    db.session.execute(update(Quote).where(Quote.id == quote.id)
                       .values(valid_until=utcnow().date() - dt.timedelta(days=1)))
    db.session.commit()
    page = company_admin_client.get(f"/cc/orders/{order.id}")
    assert "Abgelaufen am" in text(page) and "accept-quote-form" not in page.get_data(as_text=True)
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/accept", data={"version": "1"})
    assert response.status_code == 409 and "abgelaufen" in text(response)
    assert quote_row(quote.id)[0] == "sent"


def test_a_second_decision_is_409_naming_who_decided(app, company_a, company_admin_a, order, quote):
    first = _client_for(app, company_admin_a)
    other = make_user(company_a, roles.COMPANY_ADMIN, email="admin2@alpha.example")
    second = _client_for(app, other)
    assert first.post(f"/cc/orders/{order.id}/quote/accept", data={"version": "1"}).status_code == 302
    response = second.post(f"/cc/orders/{order.id}/quote/reject", data={"version": "1", "reject_action": "return"})
    assert response.status_code == 409
    assert f"bereits von {company_admin_a.full_name} angenommen" in text(response)
    assert quote_row(quote.id)[:2] == ("accepted", company_admin_a.id)


def test_two_decisions_at_the_same_moment_give_exactly_one(app, company_a, company_admin_a, order, quote):
    other = make_user(company_a, roles.COMPANY_ADMIN, email="admin2@alpha.example")
    clients = [_client_for(app, company_admin_a), _client_for(app, other)]
    posts = [("accept", {"version": "1", "po_number": "PO-A"}), ("reject", {"version": "1", "reject_action": "return"})]
    barrier = threading.Barrier(2)
    results = [None, None]

    def decide(n):
        with app.app_context():  # each thread with its own app context and database session
            barrier.wait()
            path, data = posts[n]
            response = clients[n].post(f"/cc/orders/{order.id}/quote/{path}", data=data)
            results[n] = (response.status_code, text(response))

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _page in results)
    assert codes == [302, 409], results
    loser = next(page for code, page in results if code == 409)
    assert "bereits von" in loser
    state = quote_row(quote.id)
    assert state[0] in ("accepted", "rejected")
    decided = db.session.scalar(select(func.count(AuditEvent.id))
                                .where(AuditEvent.action.in_(("quote.accepted", "quote.rejected"))))
    assert decided == 1


def test_another_companys_order_and_quote_are_not_found(app, customer_b, company_admin_b, order, quote):
    for user in (customer_b, company_admin_b):
        client = _client_for(app, user)
        for path in ("accept", "reject"):
            response = client.post(f"/cc/orders/{order.id}/quote/{path}",
                                   data={"version": "1", "po_number": "X", "reject_action": "dispose"})
            assert response.status_code == 404
        assert "Display tauschen" not in text(client.get(f"/cc/orders/{order.id}"))
    assert quote_row(quote.id) == ("sent", None, None, None)


def test_an_order_without_a_sent_quote_has_nothing_to_decide(company_admin_client, order):
    response = company_admin_client.post(f"/cc/orders/{order.id}/quote/accept", data={"version": "1"})
    assert response.status_code == 404


# -- the company admin's settings -----------------------------------------------------

def test_admin_allows_an_employee_to_approve_quotes_and_withdraws_it(company_admin_client, customer_a, company_admin_a):
    response = company_admin_client.post(f"/cc/employees/{customer_a.id}/quote-right",
                                         data={"may_approve_quotes": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert customer_a.may_approve_quotes is True
    page = text(company_admin_client.get("/cc/employees/"))
    assert "darf jetzt Kostenvoranschläge freigeben" in page
    response = company_admin_client.post(f"/cc/employees/{customer_a.id}/quote-right", data={})
    db.session.expire_all()
    assert customer_a.may_approve_quotes is False
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "employee.quote_right")).all()
    assert [e.actor_id for e in events] == [company_admin_a.id, company_admin_a.id]


def test_admin_of_another_company_cannot_toggle_the_right(app, company_admin_b, customer_a):
    client = _client_for(app, company_admin_b)
    response = client.post(f"/cc/employees/{customer_a.id}/quote-right", data={"may_approve_quotes": "y"})
    assert response.status_code == 404
    db.session.expire_all()
    assert customer_a.may_approve_quotes is False


def test_an_employee_cannot_give_themselves_the_right(customer_client, customer_a):
    response = customer_client.post(f"/cc/employees/{customer_a.id}/quote-right", data={"may_approve_quotes": "y"})
    assert response.status_code == 403
    db.session.expire_all()
    assert customer_a.may_approve_quotes is False


def test_new_employee_may_approve_quotes_from_the_start(company_admin_client):
    page = text(company_admin_client.get("/cc/employees/new"))
    assert "Darf Kostenvoranschläge freigeben" in page
    response = company_admin_client.post("/cc/employees/new", data={
        "first_name": "Lena", "last_name": "Neumann", "email": "lena@alpha.example", "language": "de",
        "may_approve_quotes": "y"})
    assert response.status_code == 200
    user = db.session.scalars(select(PortalUser).where(PortalUser.email == "lena@alpha.example")).one()
    assert user.may_approve_quotes is True
    assert "employee.quote_right" in audit_actions()


def test_admin_sets_the_approval_limit_and_po_number_required(company_admin_client, company_a, company_admin_a):
    response = company_admin_client.post("/cc/employees/quote-settings",
                                         data={"approval_limit": "1.500,50", "po_number_required": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert company_a.approval_limit == Decimal("1500.50") and company_a.po_number_required is True
    page = text(company_admin_client.get("/cc/employees/"))
    assert "1.500,50 €" in page and "Freigabegrenze" in page
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "company.quote_settings")).one()
    assert event.actor_id == company_admin_a.id and "1500.50" in event.new_values
    assert event.company_id == company_a.id


@pytest.mark.parametrize("value", ["-1", "abc", "1,234", "1e99", ""])
def test_a_bad_approval_limit_is_a_message_at_the_field(company_admin_client, company_a, value):
    response = company_admin_client.post("/cc/employees/quote-settings", data={"approval_limit": value})
    assert response.status_code == 400
    assert 'id="approval_limit-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert company_a.approval_limit == 0 and company_a.po_number_required is False


def test_the_approval_limit_approves_a_quote_automatically(company_admin_client, company_a, order, staff_user):
    company_a.approval_limit = Decimal("500")
    db.session.commit()
    make_sent_quote(order, staff_user)
    page = text(company_admin_client.get(f"/cc/orders/{order.id}"))
    assert "Automatisch freigegeben bis 500,00 €" in page


def test_employee_and_other_company_cannot_change_the_settings(app, customer_client, company_admin_b, company_a):
    assert customer_client.post("/cc/employees/quote-settings", data={"approval_limit": "99"}).status_code == 403
    _client_for(app, company_admin_b).post("/cc/employees/quote-settings", data={"approval_limit": "99"})
    db.session.expire_all()
    assert company_a.approval_limit == 0
    assert db.session.get(Company, company_a.id).approval_limit == 0


# -- the PDF --------------------------------------------------------------------------

def test_every_employee_downloads_the_current_quote_as_pdf_in_their_language(app, customer_client, customer_a,
                                                                            order, quote):
    page = customer_client.get(f"/cc/orders/{order.id}").get_data(as_text=True)
    assert f'href="/cc/orders/{order.id}/quote/pdf"' in page
    response = customer_client.get(f"/cc/orders/{order.id}/quote/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.mimetype == "application/pdf"
    assert f"{order.rma_number}-v1.pdf" in response.headers["Content-Disposition"]


def test_the_pdf_of_another_companys_quote_or_a_draft_is_not_found(app, customer_b, customer_client, order,
                                                                   staff_user):
    from app.services import quotes

    quotes.save_draft(order, staff_user, lines=[dict(text="Entwurf", quantity="1", unit_price="1")],
                      vat_rate=Decimal("19"), valid_until=utcnow().date() + dt.timedelta(days=3), note=None)
    db.session.commit()
    assert customer_client.get(f"/cc/orders/{order.id}/quote/pdf").status_code == 404  # only a draft
    make_sent_quote(order, staff_user)
    response = _client_for(app, customer_b).get(f"/cc/orders/{order.id}/quote/pdf")
    assert response.status_code == 404 and b"%PDF" not in response.data
