"""The public order form (/repair/): a repair order without an account, and its status page."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Attachment, AuditEvent, Order, OrderItem, OrderMessage, OrderStatus, OutgoingMail
from app.security.bots import started_token
from app.services import audit
from app.services.orders import change_status
from tests.conftest import _app_config
from tests.factories import make_order
from tests.helpers import PDF, PNG, new_order_data, stored_files, text, upload

CUSTOMER = {
    "customer_name": "Praxis Dr. Lang", "contact_person": "Dr. Lena Lang", "street": "Lindenweg 3",
    "postcode": "04109", "city": "Leipzig", "country": "Deutschland", "email": "Lena.Lang@Praxis-Lang.example",
    "phone": "0341 12345",
}
NOT_FOUND = ("No order found with this RMA number and email address", "Kein Auftrag")


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def order_form(articles=None, started_seconds_ago: float = 10, **extra):
    """Form data of the public order form, shown ``started_seconds_ago`` seconds ago."""
    data = new_order_data("", articles)
    data.pop("reference")
    data.update(CUSTOMER, privacy="y", started=started_token(time.time() - started_seconds_ago))
    data.update(extra)
    return data


def send(client, data, **kw):
    return client.post("/repair/", data=data, content_type="multipart/form-data", **kw)


def nothing_saved(app):
    return (count(Order), count(OrderItem), count(Attachment), count(OutgoingMail), stored_files(app)) == (
        0, 0, 0, 0, [])


def error_at(html: str, field_id: str) -> str:
    """The messages shown at the field with this id ('' if none)."""
    block = html[html.index(f'id="{field_id}"'):][:1500]
    found = re.search(r'class="help-block field-error"[^>]*>([^<]*)<', block)
    return found.group(1) if found else ""


def _status(code):
    return db.session.scalars(select(OrderStatus).where(OrderStatus.code == code)).one()


# -- the form ---------------------------------------------------------------------

def test_visitors_find_the_form_and_the_status_page_from_the_login_page(client):
    login = client.get("/login/").get_data(as_text=True)
    assert 'href="/repair/"' in login and 'href="/repair/status/"' in login
    response = client.get("/repair/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for field in ("customer_name", "street", "postcode", "city", "country", "email", "phone", "privacy",
                  "items-0-description", "items-0-fault_description", "items-0-files", "files"):
        assert f'id="{field}"' in html, field
    assert re.search(r'<input id="started" name="started" type="hidden" value="[^"]+"', html)
    # the article rows come from the portal's script, loaded with the page's nonce-free src
    assert '<script src="/static/portal.js"' in html


def test_order_is_saved_with_rma_number_files_and_both_mails(app, client):
    data = order_form([
        dict(article_number="ECG-200", description="EKG-Gerät", serial_number="SN-77", quantity="2",
             fault_description="Startet nicht", files=[upload("foto.png", PNG)]),
        dict(description="Kabel", quantity="1", fault_description="Bruch"),
    ], files=[upload("Lieferschein.pdf")], reference="Praxis-12")
    response = send(client, data, headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/repair/sent")
    order = db.session.scalars(select(Order)).one()
    page = text(client.get("/repair/sent", headers={"Accept-Language": "en"}))
    assert re.fullmatch(r"RMA-\d{4}-\d{6}", order.rma_number) and order.rma_number in page

    assert (order.source, order.company_id, order.created_by_id, order.reference) == (
        "frontend", None, None, "Praxis-12")
    assert {f: getattr(order, f) for f in CUSTOMER} == {**CUSTOMER, "email": "lena.lang@praxis-lang.example"}
    assert order.status.is_initial and [h.to_status.code for h in order.status_changes] == ["received"]
    assert [(i.article_number, i.serial_number, i.quantity) for i in order.items] == [
        ("ECG-200", "SN-77", 2), (None, None, 1)]
    files = {a.original_name: a for a in order.attachments}
    assert files["foto.png"].item_id == order.items[0].id and files["Lieferschein.pdf"].item_id is None
    assert all(a.company_id is None and a.uploaded_by_id is None for a in files.values())
    assert len(stored_files(app)) == 2

    mails = {m.kind: m for m in db.session.scalars(select(OutgoingMail))}
    assert set(mails) == {"order_created", "public_order_received"}
    staff = mails["order_created"]
    assert staff.recipient == "service@localhost" and order.rma_number in staff.subject
    assert "Praxis Dr. Lang" in staff.subject
    confirmation = mails["public_order_received"]
    assert confirmation.recipient == "lena.lang@praxis-lang.example" and confirmation.language == "en"
    assert order.rma_number in confirmation.subject and "EKG-Gerät" in confirmation.body
    assert f"/repair/status/?rma={order.rma_number}" in confirmation.body
    assert "Your repair order" in confirmation.subject  # in the language the form was sent in


def test_sent_page_without_an_order_leads_back_to_the_form(client):
    response = client.get("/repair/sent")
    assert response.status_code == 302 and response.headers["Location"].endswith("/repair/")


MISSING = ("Please fill in", "Bitte füllen")


@pytest.mark.parametrize("field,value,field_id,message", [
    ("customer_name", "", "customer_name", MISSING),
    ("street", "", "street", MISSING),
    ("postcode", "", "postcode", MISSING),
    ("city", "", "city", MISSING),
    ("country", "  ", "country", MISSING),
    ("email", "", "email", MISSING),
    ("email", "lena-at-praxis", "email", ("valid email", "gültige E-Mail")),
    ("privacy", None, "privacy", ("Please agree", "Bitte stimmen Sie zu")),
    ("items-0-description", "", "items-0-description", MISSING),
    ("items-0-quantity", "0", "items-0-quantity", ("at least 1", "mindestens 1")),
    ("items-0-fault_description", "", "items-0-fault_description", MISSING),
    ("items-0-files", [upload("setup.exe", b"MZ\x90")], "items-0-files", ("exe",)),
    ("files", [upload("page.html", b"<html>")], "files", ("html",)),
])
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(app, client, field, value, field_id, message):
    data = order_form(files=[upload("ok.pdf")])
    data.update({"items-1-description": "Zweites Gerät", "items-1-quantity": "1",
                 "items-1-fault_description": "klappert"})
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    response = send(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    shown = error_at(html, field_id)
    assert shown and any(m and m in shown for m in message), (field, shown)
    assert "Zweites Gerät" in html and "klappert" in html  # what was typed stays
    if field != "city":
        assert 'value="Leipzig"' in html
    assert nothing_saved(app)


def test_the_error_summary_names_every_marked_field_customer_data_and_articles(app, client):
    data = order_form(customer_name="", email="lena-at-praxis")
    data.pop("privacy")
    data["items-0-description"] = ""
    response = send(client, data, headers={"Accept-Language": "de"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = html[html.index('id="form-errors"'):]
    summary = summary[:summary.index("</div>")]
    for field_id in ("customer_name", "email", "privacy", "items-0-description"):
        assert f'href="#{field_id}"' in summary, field_id
        assert f'id="{field_id}"' in html  # the link leads to the field
    assert "Artikel 1" in text_of(summary)
    assert nothing_saved(app)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_file_whose_content_does_not_fit_is_refused_and_no_file_stays_behind(app, client):
    data = order_form([dict(description="Monitor", quantity="1", fault_description="flackert",
                            files=[upload("ok.pdf")])],
                      files=[upload("rechnung.pdf", b"MZ\x90\x00 not a pdf")])
    response = send(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "PDF" in error_at(html, "files")
    assert "Please choose the files again" in text(response) or "Bitte wählen Sie die Dateien" in text(response)
    assert nothing_saved(app)  # the article's file, written first, is gone too


def test_honeypot_pretends_success_and_stores_nothing(app, client):
    response = send(client, order_form(files=[upload("a.pdf")], website="http://spam.example"))
    assert response.status_code == 302
    assert nothing_saved(app)


@pytest.mark.parametrize("started", ["fast", "forged", "missing", "a day old"])
def test_a_form_sent_too_fast_or_without_a_valid_time_is_refused(app, client, started):
    data = order_form(files=[upload("a.pdf")])
    if started == "fast":
        data["started"] = started_token(time.time() - 0.5)
    elif started == "forged":
        data["started"] = data["started"][:-2] + "xx"
    elif started == "missing":
        data.pop("started")
    else:
        data["started"] = started_token(time.time() - 25 * 3600)
    response = send(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="too-fast"' in html and "schneller gesendet, als ein Mensch es ausfüllen kann" in text(response)
    assert "Praxis Dr. Lang" in html  # nothing typed is lost
    assert nothing_saved(app)
    # a fresh time: after waiting, the same form goes through
    fresh = re.search(r'name="started" type="hidden" value="([^"]+)"', html).group(1)
    assert fresh != data.get("started")
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0
    assert send(client, {**data, "started": fresh, "files": [upload("a.pdf")]}).status_code == 302
    assert count(Order) == 1


def test_add_article_without_javascript_keeps_what_was_typed_and_saves_nothing(app, client):
    html = send(client, order_form(add_article="1")).get_data(as_text=True)
    assert 'id="items-1-description"' in html and "Praxis Dr. Lang" in html and "Messgerät" in html
    assert nothing_saved(app)


def test_the_form_is_rate_limited_per_address(tmp_path, database_url):
    app = create_app({**_app_config(tmp_path, database_url), "RATELIMIT_ENABLED": True,
                      "PUBLIC_ORDER_RATE_LIMIT": "3 per minute", "PUBLIC_STATUS_RATE_LIMIT": "4 per minute"})
    try:
        c = app.test_client()
        with app.app_context():
            data = order_form()
        # "Add article" without JavaScript stores nothing and does not count
        assert c.post("/repair/", data={**data, "add_article": "1"}).status_code == 200
        responses = [c.post("/repair/", data=data) for _ in range(5)]
        assert [r.status_code for r in responses] == [302, 302, 302, 429, 429]
        assert "Bitte warten Sie einige Minuten" in text(responses[-1])
        assert c.get("/repair/").status_code == 200  # reading the form is not limited
        assert c.post("/repair/", data=data, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302
        lookups = [c.post("/repair/status/", data={"rma_number": f"RMA-2026-{i:06d}", "email": "x@y.example"})
                   .status_code for i in range(6)]
        assert lookups == [404, 404, 404, 404, 429, 429]
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Order)) == 4
    finally:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


# -- the status page ----------------------------------------------------------------

@pytest.fixture
def public_order(app, client, staff_user):
    """An order from the form with a file, a customer-visible status note and an internal note."""
    send(client, order_form([dict(article_number="ECG-200", description="EKG-Gerät", serial_number="SN-77",
                                  quantity="1", fault_description="Startet nicht",
                                  files=[upload("befund-geheim.pdf")])]))
    order = db.session.scalars(select(Order)).one()
    change_status(order, _status("in_review"), staff_user, note="Gerät ist eingetroffen")
    db.session.add_all([
        OrderMessage(order=order, author_id=staff_user.id, from_staff=True, internal=True,
                     body="INTERN: Kunde hat noch offene Rechnungen"),
        OrderMessage(order=order, author_id=staff_user.id, from_staff=True, internal=False,
                     body="Wir melden uns mit einem Kostenvoranschlag."),
    ])
    db.session.commit()
    return order


def lookup(client, rma, email, **kw):
    return client.post("/repair/status/", data={"rma_number": rma, "email": email}, **kw)


def test_status_page_with_rma_number_and_email_shows_status_history_and_articles(client, public_order):
    response = lookup(client, f"  {public_order.rma_number.lower()} ", "  LENA.lang@praxis-lang.EXAMPLE ")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = text(response)
    assert public_order.rma_number in page
    assert "In review" in page or "In Prüfung" in page
    assert "Gerät ist eingetroffen" in page  # the note staff wrote for the customer
    assert response.get_data(as_text=True).count('class="history-row"') == 2
    assert "EKG-Gerät" in page and "SN-77" in page and "Startet nicht" in page
    assert "Wir melden uns mit einem Kostenvoranschlag." in page


def test_status_page_shows_no_internal_notes_and_no_files(client, public_order):
    response = lookup(client, public_order.rma_number, CUSTOMER["email"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "INTERN" not in html and "offene Rechnungen" not in html
    assert "befund-geheim.pdf" not in html and "/files/" not in html and "/backend/" not in html
    file_id = public_order.attachments[0].id
    for url in (f"/backend/orders/file/{file_id}", f"/cc/orders/{public_order.id}/files/{file_id}"):
        download = client.get(url)
        assert download.status_code in (302, 403, 404) and b"%PDF" not in download.data


def test_wrong_email_unknown_number_and_portal_orders_get_one_and_the_same_answer(
        client, public_order, company_a, customer_a):
    portal_order = make_order(company_a, customer_a, reference="PORTAL-REF")
    attempts = {
        "wrong email": (public_order.rma_number, "someone@else.example"),
        "unknown number": ("RMA-2099-999999", CUSTOMER["email"]),
        "portal order": (portal_order.rma_number, portal_order.email),
        "email of another order": (portal_order.rma_number, CUSTOMER["email"]),
    }
    answers = {}
    for case, (rma, email) in attempts.items():
        response = lookup(client, rma, email)
        page = text(response)
        assert any(m in page for m in NOT_FOUND), case
        for secret in ("EKG-Gerät", "PORTAL-REF", portal_order.items[0].description, company_a.name):
            assert secret not in page, (case, secret)
        answers[case] = (response.status_code, page.replace(rma, "<rma>").replace(email, "<email>"))
    assert len(set(answers.values())) == 1, answers
    assert answers["wrong email"][0] == 404


def test_status_form_needs_both_fields_and_takes_the_number_from_the_link(client, public_order):
    response = lookup(client, public_order.rma_number, "")
    assert response.status_code == 422 and error_at(response.get_data(as_text=True), "email")
    assert "EKG-Gerät" not in response.get_data(as_text=True)
    form = client.get(f"/repair/status/?rma={public_order.rma_number}").get_data(as_text=True)
    assert f'value="{public_order.rma_number}"' in form and 'id="email"' in form


# -- staff ------------------------------------------------------------------------

def test_staff_handle_the_order_and_may_correct_its_customer_data(client, staff_client, public_order,
                                                                    company_a, customer_a):
    assert public_order.rma_number in staff_client.get("/backend/orders/list/").get_data(as_text=True)
    response = staff_client.post(f"/backend/orders/edit/{public_order.id}", data={
        **CUSTOMER, "reference": "", "street": "Lindenweg 5", "email": "praxis@lang.example"})
    assert response.status_code == 302
    db.session.refresh(public_order)
    assert (public_order.street, public_order.email) == ("Lindenweg 5", "praxis@lang.example")
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == public_order.id,
                                                       AuditEvent.action == audit.ORDER_CUSTOMER_DATA)).one()
    # the status page now answers to the corrected address only
    assert lookup(client, public_order.rma_number, "praxis@lang.example").status_code == 200
    assert lookup(client, public_order.rma_number, CUSTOMER["email"]).status_code == 404
    # a portal order's customer data stays as it is
    portal_order = make_order(company_a, customer_a)
    staff_client.post(f"/backend/orders/edit/{portal_order.id}", data={"reference": "R", "street": "Evil 1"})
    db.session.refresh(portal_order)
    assert portal_order.street == company_a.street


def test_the_sender_hears_of_status_changes_and_messages_in_the_language_of_the_form(app, client, staff_client):
    send(client, order_form(), headers={"Accept-Language": "en"})
    order = db.session.scalars(select(Order)).one()
    assert order.language == "en"
    db.session.execute(OutgoingMail.__table__.delete())
    db.session.commit()

    staff_client.post(f"/backend/orders/{order.id}/status",
                      data={"status_id": _status("estimate_sent").id, "note": "Estimate: 120 EUR"})
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "status_changed")).one()
    assert mail.recipient == "lena.lang@praxis-lang.example" and mail.language == "en"
    assert "Cost estimate sent" in mail.subject and "Estimate: 120 EUR" in mail.body
    assert f"/repair/status/?rma={order.rma_number}" in mail.body and "/cc/" not in mail.body
    assert "through our order form" in mail.body and "My data" not in mail.body

    response = staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Please confirm."},
                                 follow_redirects=True)
    assert "Nachricht an den Kunden gesendet" in text(response)
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "message_to_customer")).one()
    assert mail.recipient == "lena.lang@praxis-lang.example" and "Please confirm." in mail.body
    assert f"/repair/status/?rma={order.rma_number}" in mail.body and "portal" not in mail.body.lower()
    # an internal note is never mailed
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "INTERN", "internal": "y"})
    assert "INTERN" not in " ".join(m.body for m in db.session.scalars(select(OutgoingMail)))


def test_staff_are_told_when_a_message_reaches_nobody(app, staff_client):
    order = make_order(None, reference="PHONE-1", source="backend", email=None)
    response = staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Hallo"},
                                 follow_redirects=True)
    assert "niemand benachrichtigt werden" in text(response)
    assert count(OutgoingMail) == 0
    assert db.session.scalars(select(OrderMessage)).one().body == "Hallo"  # the message itself is kept


def test_the_sender_and_whoever_proves_the_email_get_the_slip_others_not(app, client, company_a, customer_a):
    from tests.test_portal_orders import pdf_pages

    send(client, order_form(reference="Praxis-12"))
    order = db.session.scalars(select(Order)).one()
    sent = client.get("/repair/sent").get_data(as_text=True)
    url = f"/repair/slip/{order.id}.pdf"
    assert f'href="{url}"' in sent
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    page = " ".join(pdf_pages(response))
    assert order.rma_number in page and "Praxis-12" in page and "Praxis Dr. Lang" in page

    stranger = app.test_client()
    assert stranger.get(url).status_code == 404
    assert lookup(stranger, order.rma_number, "someone@else.example").status_code == 404
    assert stranger.get(url).status_code == 404
    assert lookup(stranger, order.rma_number, CUSTOMER["email"]).status_code == 200
    assert stranger.get(url).status_code == 200
    # a portal order's slip is never served here, whatever the id
    portal_order = make_order(company_a, customer_a)
    assert client.get(f"/repair/slip/{portal_order.id}.pdf").status_code == 404


# -- German -------------------------------------------------------------------------

def test_the_form_speaks_german_to_a_german_browser(client):
    page = text(client.get("/repair/", headers={"Accept-Language": "de"}))
    for word in ("Kundendaten", "Straße", "E-Mail", "Artikelnummer", "Bezeichnung", "Seriennummer", "Menge",
                 "Fehlerbeschreibung", "Dateien", "Artikel hinzufügen"):
        assert word in page, word
    response = send(client, order_form(customer_name=""), headers={"Accept-Language": "de"})
    assert "Bitte füllen Sie dieses Feld aus." in error_at(response.get_data(as_text=True), "customer_name")
