"""Staff write, revise and send quotes; the company's settings for quotes."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Company, Order, OutgoingMail, PortalUser, Quote, QuoteLine
from app.security import roles
from tests.factories import make_order, make_user
from tests.helpers import text, today


def _form(lines, vat_rate="19", valid_until=None, note="", **extra):
    data = {"vat_rate": vat_rate, "valid_until": (valid_until or today() + dt.timedelta(days=14)).isoformat(),
            "note": note, "save": "1"}
    for n, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{n}-{key}"] = value
    data.update(extra)
    return data


@pytest.fixture
def order(app, company_a, customer_a, company_admin_a):
    customer_a.language = "en"
    db.session.commit()
    return make_order(company_a, customer_a, items=2)


def _quotes(order):
    db.session.expire_all()
    return db.session.scalars(select(Quote).where(Quote.order_id == order.id).order_by(Quote.version)).all()


def _line_count():
    return db.session.scalar(select(func.count()).select_from(QuoteLine))


def test_a_draft_is_saved_with_exact_totals_and_shown_on_the_order(staff_client, order):
    page = staff_client.get(f"/backend/orders/{order.id}/quote")
    assert page.status_code == 200
    body = text(page)
    assert "Kostenvoranschlag schreiben" in body and "MwSt.-Satz (%)" in body and "Gültig bis" in body
    html = page.get_data(as_text=True)
    assert 'value="19"' in html  # QUOTE_VAT_RATE
    assert (today() + dt.timedelta(days=14)).isoformat() in html  # QUOTE_VALID_DAYS
    assert order.items[0].description in body  # the order's own articles to choose from

    response = staff_client.post(f"/backend/orders/{order.id}/quote", data=_form(
        [dict(text="Display tauschen", quantity="3", unit_price="19,99", item_id=str(order.items[1].id))],
        note="Preise gelten bei Rücksendung"))
    assert response.status_code == 302
    [quote] = _quotes(order)
    assert (quote.state, quote.version) == ("draft", 1)
    assert (quote.net, quote.vat, quote.gross) == (Decimal("59.97"), Decimal("11.39"), Decimal("71.36"))
    assert quote.lines[0].item_id == order.items[1].id
    shown = text(staff_client.get(f"/backend/orders/show/{order.id}"))
    assert "Kostenvoranschlag" in shown and "Entwurf" in shown
    assert "59,97 €" in shown and "11,39 €" in shown and "71,36 €" in shown and "MwSt. 19" in shown
    assert "Display tauschen" in shown and "Preise gelten bei Rücksendung" in shown


def test_opening_the_editor_again_continues_the_draft(staff_client, order):
    staff_client.post(f"/backend/orders/{order.id}/quote",
                      data=_form([dict(text="A", quantity="1", unit_price="10"),
                                  dict(text="B", quantity="2,5", unit_price="1234.5")]))
    html = staff_client.get(f"/backend/orders/{order.id}/quote").get_data(as_text=True)
    assert 'value="B"' in html and 'value="2,5"' in html and 'value="1234,50"' in html
    staff_client.post(f"/backend/orders/{order.id}/quote",
                      data=_form([dict(text="A only", quantity="1", unit_price="10")]))
    [quote] = _quotes(order)
    assert [line.text for line in quote.lines] == ["A only"] and quote.gross == Decimal("11.90")


@pytest.mark.parametrize("field, value, message", [
    ("lines-0-quantity", "-1", "Die Menge muss größer als 0 und höchstens 10.000 sein."),
    ("lines-0-quantity", "1000000", "Die Menge muss größer als 0 und höchstens 10.000 sein."),
    ("lines-0-unit_price", "-5", "Der Einzelpreis muss zwischen 0 und 1.000.000 liegen."),
    ("lines-0-unit_price", "1e9", "Der Einzelpreis muss zwischen 0 und 1.000.000 liegen."),
    ("lines-0-unit_price", "abc", "Bitte geben Sie eine Zahl ein."),
    ("lines-0-unit_price", "NaN", "Bitte geben Sie eine Zahl ein."),
    ("lines-0-text", "", "Bitte beschreiben Sie die Position."),
    ("vat_rate", "150", "Der MwSt.-Satz muss zwischen 0 und 100 % liegen."),
    ("valid_until", (today() - dt.timedelta(days=1)).isoformat(),
     "Das Datum darf nicht in der Vergangenheit liegen."),
    ("valid_until", "", "Bitte geben Sie ein Datum ein."),
])
def test_bad_input_gets_a_message_at_its_field_and_nothing_is_saved(staff_client, order, field, value, message):
    data = _form([dict(text="Display", quantity="1", unit_price="10")])
    data[field] = value
    if field == "lines-0-text":
        data["lines-0-quantity"] = "1"
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html), field
    error = re.search(rf'<span class="help-block field-error" id="{field}-error">([^<]*)</span>', html)
    assert error and message in error.group(1)
    assert "Bitte korrigieren Sie die markierten Felder." in text(response)
    assert re.search(rf'<a class="alert-link" href="#{field}">', html)
    assert _quotes(order) == [] and _line_count() == 0


def test_a_bad_second_line_is_marked_on_that_line_even_after_empty_rows(staff_client, order):
    data = _form([dict(text="Gut", quantity="1", unit_price="10"), dict(text="", quantity="", unit_price=""),
                  dict(text="Schlecht", quantity="0", unit_price="10")])
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data=data)
    html = response.get_data(as_text=True)
    assert 'id="lines-2-quantity-error"' in html and "Position 3: Menge" in text(response)
    assert _quotes(order) == []


def test_an_article_of_another_order_is_refused(staff_client, order, company_a):
    other = make_order(company_a, items=1)
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data=_form(
        [dict(text="X", quantity="1", unit_price="1", item_id=str(other.items[0].id))]))
    assert "Kein Artikel dieses Auftrags." in text(response)
    assert _quotes(order) == []


def test_more_than_a_hundred_lines_are_refused(staff_client, order):
    lines = [dict(text=f"L{n}", quantity="1", unit_price="1") for n in range(101)]
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data=_form(lines))
    assert response.status_code == 200
    assert "Ein Kostenvoranschlag hat höchstens 100 Positionen." in text(response)
    assert _quotes(order) == [] and _line_count() == 0
    # and a hundred are fine
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data=_form(lines[:100]))
    assert response.status_code == 302 and len(_quotes(order)[0].lines) == 100


def test_add_and_remove_line_change_the_rows_and_save_nothing(staff_client, order):
    data = _form([dict(text="Eins", quantity="1", unit_price="1"), dict(text="Zwei", quantity="2", unit_price="2")])
    del data["save"]
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data={**data, "add_line": "1"})
    html = response.get_data(as_text=True)
    assert 'id="lines-2-text"' in html and 'value="Zwei"' in html and "Position 3" in text(response)
    response = staff_client.post(f"/backend/orders/{order.id}/quote", data={**data, "remove_line": "1"})
    html = response.get_data(as_text=True)
    assert 'value="Eins"' not in html and 'value="Zwei"' in html and 'id="lines-1-text"' not in html
    assert _quotes(order) == []


def test_revise_makes_version_two_and_version_one_stays_readable(staff_client, order):
    staff_client.post(f"/backend/orders/{order.id}/quote", data=_form([dict(text="Erste", quantity="1",
                                                                            unit_price="100")]))
    staff_client.post(f"/backend/orders/{order.id}/quote/send", data={"version": "1"})
    page = text(staff_client.get(f"/backend/orders/show/{order.id}"))
    assert "Kostenvoranschlag überarbeiten" in page
    editor = staff_client.get(f"/backend/orders/{order.id}/quote")
    assert "Kostenvoranschlag überarbeiten" in text(editor) and 'value="Erste"' in editor.get_data(as_text=True)
    staff_client.post(f"/backend/orders/{order.id}/quote", data=_form([dict(text="Zweite", quantity="1",
                                                                            unit_price="50")]))
    v1, v2 = _quotes(order)
    assert (v1.version, v1.state, v1.lines[0].text) == (1, "sent", "Erste")
    assert (v2.version, v2.state, v2.lines[0].text) == (2, "draft", "Zweite")
    staff_client.post(f"/backend/orders/{order.id}/quote/send", data={"version": "2"})
    v1, v2 = _quotes(order)
    assert (v1.state, v2.state) == ("replaced", "sent")
    page = text(staff_client.get(f"/backend/orders/show/{order.id}"))
    assert "Frühere Versionen" in page and "Version 1 · Durch neuere Version ersetzt · 119,00 €" in page
    assert "Erste" in page and "Zweite" in page
    pdf = staff_client.get(f"/backend/orders/{order.id}/quote/1/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_send_moves_the_status_and_mails_the_company_in_their_language(staff_client, order, customer_a,
                                                                       company_admin_a):
    staff_client.post(f"/backend/orders/{order.id}/quote", data=_form([dict(text="Reparatur", quantity="3",
                                                                            unit_price="19.99")]))
    response = staff_client.post(f"/backend/orders/{order.id}/quote/send", data={"version": "1"},
                                 follow_redirects=True)
    assert "Kostenvoranschlag gesendet." in text(response)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status.code == "estimate_sent"
    [quote] = _quotes(order)
    assert quote.state == "sent" and quote.sent_at is not None
    mails = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "quote_sent")).all()
    by_address = {m.recipient: m for m in mails}
    assert set(by_address) == {customer_a.email, company_admin_a.email}
    english, german = by_address[customer_a.email], by_address[company_admin_a.email]
    assert english.subject == f"Order {order.rma_number}: your quote" and "€71.36" in english.body
    assert german.subject == f"Auftrag {order.rma_number}: Ihr Kostenvoranschlag" and "71,36\xa0€" in german.body
    assert f"/cc/orders/{order.id}" in english.body and "Bitte nehmen Sie ihn im Portal an" in german.body
    assert all(m.sent_at is not None for m in mails)  # delivered after the commit (to the outbox folder)


def test_sending_twice_gives_a_message_not_an_error(staff_client, order):
    staff_client.post(f"/backend/orders/{order.id}/quote", data=_form([dict(text="R", quantity="1",
                                                                            unit_price="5")]))
    assert staff_client.post(f"/backend/orders/{order.id}/quote/send", data={"version": "1"}).status_code == 302
    again = staff_client.post(f"/backend/orders/{order.id}/quote/send", data={"version": "1"}, follow_redirects=True)
    assert again.status_code == 200
    assert "Dieser Kostenvoranschlag wurde bereits versendet." in text(again)
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)
                             .where(OutgoingMail.kind == "quote_sent")) == 2  # once per user, not twice


def test_nothing_to_send_gives_a_message(staff_client, order):
    response = staff_client.post(f"/backend/orders/{order.id}/quote/send", data={}, follow_redirects=True)
    assert "Es gibt noch keinen Kostenvoranschlag zum Senden." in text(response)


def test_within_the_approval_limit_it_is_accepted_at_once_and_audited(staff_client, order, company_a):
    company_a.approval_limit = Decimal("100")
    db.session.commit()
    staff_client.post(f"/backend/orders/{order.id}/quote", data=_form([dict(text="R", quantity="3",
                                                                            unit_price="19.99")]))
    response = staff_client.post(f"/backend/orders/{order.id}/quote/send", data={"version": "1"},
                                 follow_redirects=True)
    assert "Freigabegrenze der Firma von 100,00 € und wurde automatisch freigegeben" in text(response)
    [quote] = _quotes(order)
    assert quote.state == "accepted" and quote.auto_approved_limit == Decimal("100")
    assert db.session.get(Order, order.id).status.code == "in_repair"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "quote.auto_approved")).one()
    assert event.company_id == company_a.id and '"approval_limit": "100.00"' in event.new_values
    page = text(staff_client.get(f"/backend/orders/show/{order.id}"))
    assert "Automatisch freigegeben bis 100,00 € (Freigabegrenze)." in page and "Angenommen" in page


def test_staff_pdf_of_each_version(staff_client, order):
    assert staff_client.get(f"/backend/orders/{order.id}/quote/1/pdf").status_code == 404
    staff_client.post(f"/backend/orders/{order.id}/quote", data=_form([dict(text="R", quantity="1",
                                                                            unit_price="5")]))
    response = staff_client.get(f"/backend/orders/{order.id}/quote/1/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and order.rma_number in response.headers["Content-Disposition"]
    other = make_order(order.company, items=1)
    assert staff_client.get(f"/backend/orders/{other.id}/quote/1/pdf").status_code == 404


def test_portal_users_reach_no_staff_quote_route(app, order, customer_client):
    from tests.conftest import _client_for

    admin = _client_for(app, db.session.scalars(select(PortalUser).where(PortalUser.email == "admin@alpha.example")).one())
    for client in (customer_client, admin):
        assert client.get(f"/backend/orders/{order.id}/quote").status_code == 403
        assert client.post(f"/backend/orders/{order.id}/quote",
                           data=_form([dict(text="X", quantity="1", unit_price="1")])).status_code == 403
        assert client.post(f"/backend/orders/{order.id}/quote/send").status_code == 403
    assert _quotes(order) == []


def _company_form(company, **changes):
    data = {"customer_number": company.customer_number, "name": company.name, "active": "y"}
    data.update(changes)
    return data


def test_staff_set_the_company_quote_settings(staff_client, company_a):
    page = text(staff_client.get(f"/backend/companies/edit/{company_a.id}"))
    assert "Freigabegrenze" in page and "Bestellnummer erforderlich" in page and "Durchlaufzeit (Arbeitstage)" in page
    response = staff_client.post(f"/backend/companies/edit/{company_a.id}", data=_company_form(
        company_a, approval_limit="1.500,50", po_number_required="y", turnaround_days="7"))
    assert response.status_code == 302
    db.session.expire_all()
    company = db.session.get(Company, company_a.id)
    assert (company.approval_limit, company.po_number_required, company.turnaround_days) == (
        Decimal("1500.50"), True, 7)
    shown = text(staff_client.get(f"/backend/companies/show/{company_a.id}"))
    assert "1.500,50 €" in shown
    response = staff_client.post(f"/backend/companies/edit/{company_a.id}", data=_company_form(
        company_a, approval_limit="", turnaround_days=""))
    db.session.expire_all()
    company = db.session.get(Company, company_a.id)
    assert (company.approval_limit, company.po_number_required, company.turnaround_days) == (0, False, None)


@pytest.mark.parametrize("field, value, message", [
    ("approval_limit", "-1", "Der Betrag muss 0 oder größer sein."),
    ("approval_limit", "viel", "Bitte geben Sie eine Zahl ein."),
    ("turnaround_days", "0", "Zwischen 1 und 100 Arbeitstagen."),
    ("turnaround_days", "101", "Zwischen 1 und 100 Arbeitstagen."),
])
def test_bad_company_quote_settings_are_refused_at_the_field(staff_client, company_a, field, value, message):
    response = staff_client.post(f"/backend/companies/edit/{company_a.id}",
                                 data=_company_form(company_a, **{field: value, "name": "Changed"}))
    assert response.status_code == 200 and message in text(response)
    db.session.expire_all()
    company = db.session.get(Company, company_a.id)
    assert company.name == "Alpha Antriebe GmbH" and company.approval_limit == 0 and company.turnaround_days is None


def test_staff_allow_an_employee_to_approve_quotes_audited(staff_client, customer_a):
    page = text(staff_client.get(f"/backend/company-users/edit/{customer_a.id}"))
    assert "Darf Kostenvoranschläge freigeben" in page
    response = staff_client.post(f"/backend/company-users/edit/{customer_a.id}", data={
        "first_name": customer_a.first_name, "last_name": customer_a.last_name, "phone": "", "active": "y",
        "may_approve_quotes": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(PortalUser, customer_a.id)
    assert user.may_approve_quotes is True and user.active is True
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "employee.quote_right")).one()
    assert event.company_id == customer_a.company_id
    assert "Recht zur Freigabe von Kostenvoranschlägen geändert" in text(staff_client.get("/backend/audit/list/"))
