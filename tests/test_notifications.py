"""Mail to customers and staff, the notification setting, messages on orders."""
from __future__ import annotations

import re
import socket
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OrderMessage, OrderStatus, OutgoingMail, PortalUser
from tests.conftest import _client_for, login
from tests.factories import make_order, make_user
from tests.helpers import new_order_data, text


def _status(code):
    return db.session.scalars(select(OrderStatus).where(OrderStatus.code == code)).one()


def mails(**filters):
    stmt = select(OutgoingMail).order_by(OutgoingMail.id)
    for key, value in filters.items():
        stmt = stmt.where(getattr(OutgoingMail, key) == value)
    return db.session.scalars(stmt).all()


def outbox(app) -> list:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def body_of(message) -> str:
    return message.get_payload(decode=True).decode("utf-8")


# -- status changes -----------------------------------------------------------

def test_status_change_mails_the_company_users_in_their_language(app, staff_client, company_a, customer_a,
                                                                 company_admin_a, customer_b):
    company_admin_a.language = "en"
    db.session.commit()
    order = make_order(company_a, customer_a, reference="PO-MAIL")
    staff_client.post(f"/backend/orders/{order.id}/status",
                      data={"status_id": _status("estimate_sent").id, "note": "KVA: 120 EUR"})
    sent = {m["To"]: m for m in outbox(app)}
    assert set(sent) == {customer_a.email, company_admin_a.email}  # not company B, not staff
    de, en = sent[customer_a.email], sent[company_admin_a.email]
    assert order.rma_number in de["Subject"] and "Kostenvoranschlag versendet" in de["Subject"]
    assert "Cost estimate sent" in en["Subject"]
    for message, phrase in ((de, "Bearbeitungsstatus"), (en, "processing status")):
        body = body_of(message)
        assert phrase in body and "KVA: 120 EUR" in body and "PO-MAIL" in body
        assert f"http://127.0.0.1:5000/cc/orders/{order.id}" in body
    assert all(m.sent_at is not None for m in mails(kind="status_changed"))


@pytest.mark.parametrize("setting,final,expected", [
    ("all", False, True), ("all", True, True), ("final", False, False), ("final", True, True),
    ("none", False, False), ("none", True, False),
])
def test_the_notification_setting_decides(app, staff_client, company_a, customer_a, setting, final, expected):
    customer_a.notify_status = setting
    db.session.commit()
    order = make_order(company_a, customer_a)
    staff_client.post(f"/backend/orders/{order.id}/status",
                      data={"status_id": _status("closed" if final else "in_repair").id})
    assert bool(mails(recipient=customer_a.email, kind="status_changed")) is expected


def test_the_setting_is_saved_in_my_data(customer_client, customer_a):
    customer_client.post("/cc/my-data/settings", data={"language": "de", "page_size": "25", "notify_status": "final"})
    db.session.refresh(customer_a)
    assert customer_a.notify_status == "final"
    html = customer_client.get("/cc/my-data/?tab=settings").get_data(as_text=True)
    assert re.search(r'<option (selected value="final"|value="final" selected)', html)
    response = customer_client.post("/cc/my-data/settings", data={"language": "de", "page_size": "25",
                                                                 "notify_status": "sometimes"})
    assert response.status_code == 422


def test_deactivated_users_get_no_mail(app, staff_client, company_a, customer_a, company_admin_a):
    customer_a.active = False
    db.session.commit()
    order = make_order(company_a, company_admin_a)
    staff_client.post(f"/backend/orders/{order.id}/status", data={"status_id": _status("in_repair").id})
    assert [m.recipient for m in mails(kind="status_changed")] == [company_admin_a.email]


# -- staff hear of new orders and messages ------------------------------------

def test_new_portal_order_is_mailed_to_staff(app, customer_client, company_a):
    customer_client.post("/cc/orders/new", data=new_order_data("PO-STAFF"))
    [mail] = mails(kind="order_created")
    assert mail.recipient == app.config["MAIL_STAFF_ADDRESS"] and "PO-STAFF" in mail.body
    assert re.search(r"http://127\.0\.0\.1:5000/backend/orders/show/\d+", mail.body)
    assert company_a.name in mail.subject


def test_messages_between_customer_and_staff(app, customer_client, staff_client, company_a, customer_a,
                                             company_admin_a, customer_b):
    order = make_order(company_a, customer_a)
    response = customer_client.post(f"/cc/orders/{order.id}/messages", data={"body": "Wann kommt das Gerät?"})
    assert response.status_code == 302
    [to_staff] = mails(kind="message_to_staff")
    assert "Wann kommt das Gerät?" in to_staff.body and to_staff.recipient == app.config["MAIL_STAFF_ADDRESS"]
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Nächste Woche."})
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Kunde ist schwierig", "internal": "y"})
    to_customers = mails(kind="message_to_customer")
    assert {m.recipient for m in to_customers} == {customer_a.email, company_admin_a.email}
    assert all("Nächste Woche." in m.body and "schwierig" not in m.body for m in to_customers)
    # the customer sees the thread, newest last, without the internal note
    page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert page.index("Wann kommt das Gerät?") < page.index("Nächste Woche.")
    assert "schwierig" not in page
    # staff see everything, the internal note marked
    staff_page = staff_client.get(f"/backend/orders/show/{order.id}").get_data(as_text=True)
    assert "Kunde ist schwierig" in staff_page and ("Interne Notiz" in staff_page or "Internal note" in staff_page)
    # another company sees nothing of it
    other = _client_for(app, customer_b)
    assert other.get(f"/cc/orders/{order.id}").status_code == 404
    assert other.post(f"/cc/orders/{order.id}/messages", data={"body": "x"}).status_code == 404
    assert len(db.session.scalars(select(OrderMessage)).all()) == 3


@pytest.mark.parametrize("setting,as_author,as_orderer,expected", [
    ("all", False, False, True), ("mine", True, False, True), ("mine", False, True, True),
    ("mine", False, False, False), ("none", True, False, False),
])
def test_the_message_setting_decides_who_hears_of_staff_replies(app, staff_client, company_a, customer_a,
                                                               company_admin_a, setting, as_author, as_orderer,
                                                               expected):
    colleague = make_user(company_a, email="colleague@alpha.example")
    colleague.notify_messages = setting
    colleague.notify_status = "none"  # status changes only: replies to messages are not silenced by it
    db.session.commit()
    order = make_order(company_a, colleague if as_orderer else company_admin_a)
    author = colleague if as_author else customer_a
    _client_for(app, author).post(f"/cc/orders/{order.id}/messages", data={"body": "Wann kommt das Gerät?"})
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Nächste Woche."})
    assert bool(mails(recipient=colleague.email, kind="message_to_customer")) is expected
    assert mails(recipient=customer_a.email, kind="message_to_customer")  # the default: every message


def test_no_status_mails_still_brings_the_reply_to_my_own_message(app, customer_client, staff_client, company_a,
                                                                  customer_a):
    """The status setting speaks of status changes only: "None" there keeps replies coming."""
    customer_client.post("/cc/my-data/settings", data={"language": "en", "page_size": "25", "notify_status": "none"})
    order = make_order(company_a, customer_a)
    customer_client.post(f"/cc/orders/{order.id}/messages", data={"body": "When?"})
    staff_client.post(f"/backend/orders/{order.id}/status", data={"status_id": _status("in_repair").id})
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "Next week."})
    assert mails(recipient=customer_a.email, kind="status_changed") == []
    [reply] = mails(recipient=customer_a.email, kind="message_to_customer")
    assert "Next week." in reply.body and reply.subject == f"New message about your order {order.rma_number}"


def test_the_message_setting_is_saved_in_my_data(customer_client, customer_a):
    html = customer_client.get("/cc/my-data/?tab=settings").get_data(as_text=True)
    assert "Nachrichten unseres Serviceteams" in html and "Antworten auf Ihre eigenen Nachrichten" in html
    customer_client.post("/cc/my-data/settings", data={"language": "de", "page_size": "25", "notify_status": "all",
                                                      "notify_messages": "mine"})
    db.session.refresh(customer_a)
    assert customer_a.notify_messages == "mine" and customer_a.notify_status == "all"
    html = customer_client.get("/cc/my-data/?tab=settings").get_data(as_text=True)
    assert re.search(r'<option (selected value="mine"|value="mine" selected)', html)
    response = customer_client.post("/cc/my-data/settings", data={"language": "de", "page_size": "25",
                                                                 "notify_messages": "sometimes"})
    assert response.status_code == 422 and 'id="notify_messages-error"' in response.get_data(as_text=True)
    db.session.refresh(customer_a)
    assert customer_a.notify_messages == "mine"


def test_empty_message_is_refused_at_the_field(customer_client, company_a, customer_a):
    order = make_order(company_a, customer_a)
    response = customer_client.post(f"/cc/orders/{order.id}/messages", data={"body": "  "})
    assert response.status_code == 422 and 'id="body-error"' in response.get_data(as_text=True)
    assert db.session.scalars(select(OrderMessage)).all() == []


# -- accounts -------------------------------------------------------------------

def test_new_employee_gets_a_welcome_in_their_language_and_the_admins_access_data_keep_working(
        app, company_admin_client, company_admin_a):
    """One way in: the admin passes on the access data shown once; the mail says so and carries
    neither the password nor a link that would replace it."""
    assert company_admin_a.language == "de"
    form = company_admin_client.get("/cc/employees/new").get_data(as_text=True)
    assert re.search(r'<option (selected value="de"|value="de" selected)', form)  # the admin's language
    html = company_admin_client.post("/cc/employees/new", data={
        "first_name": "Lena", "last_name": "Link", "email": "lena@alpha.example", "language": "en",
    }).get_data(as_text=True)
    shown = re.search(r'id="access-password">([^<]+)<', html).group(1)
    [mail] = mails(kind="employee_created")
    assert mail.recipient == "lena@alpha.example" and mail.language == "en"
    assert mail.subject == "Welcome to the key account portal"
    assert mail.body.startswith("Dear Lena Link,\n")
    assert company_admin_a.full_name in mail.body and "Your administrator has your access data" in mail.body
    assert "Log in here:\nhttp://127.0.0.1:5000/login/\n" in mail.body
    assert "Kind regards\nRepair Service" in mail.body
    assert shown not in mail.body and "set-password" not in mail.body
    user = db.session.scalars(select(PortalUser).where(PortalUser.email == "lena@alpha.example")).one()
    assert user.language == "en" and user.must_change_password
    # the password the admin passed on works, and the employee chooses their own at first login
    c = app.test_client()
    assert "/login" not in login(c, "lena@alpha.example", shown).headers["Location"]
    assert "/cc/my-data" in c.get("/cc/orders/").headers.get("Location", "")


def test_new_employee_welcome_defaults_to_the_admins_language(app, company_admin_client, company_admin_a):
    company_admin_client.post("/cc/employees/new", data={
        "first_name": "Lena", "last_name": "Lang", "email": "lang@alpha.example"})
    [mail] = mails(kind="employee_created")
    assert mail.language == "de" and mail.subject == "Willkommen im Großkundenportal"
    assert mail.body.startswith("Guten Tag Lena Lang,\n")
    assert "Mit freundlichen Grüßen\nRepair Service" in mail.body
    assert "Ihre Zugangsdaten erhalten Sie von Ihrem Administrator" in mail.body


def test_new_employee_with_an_unknown_language_is_refused_at_the_field(company_admin_client):
    response = company_admin_client.post("/cc/employees/new", data={
        "first_name": "X", "last_name": "Y", "email": "x@alpha.example", "language": "fr"})
    assert response.status_code == 422 and 'id="language-error"' in response.get_data(as_text=True)
    assert db.session.scalars(select(PortalUser).where(PortalUser.email == "x@alpha.example")).all() == []
    assert mails(kind="employee_created") == []


def test_an_approved_company_admin_chooses_a_password_by_link(app, staff_client):
    from app.models import RegistrationRequest

    req = RegistrationRequest(company_name="Link GmbH", first_name="Lara", last_name="Link",
                              email="lara@link.example", language="de")
    db.session.add(req)
    db.session.commit()
    staff_client.post(f"/backend/registrations/{req.id}/approve")
    [mail] = mails(kind="registration_approved")
    assert mail.body.startswith("Guten Tag Lara Link,\n\nwir haben die Registrierung von Link GmbH freigegeben.")
    link = re.search(r"http://127\.0\.0\.1:5000(/cc/set-password/\S+)", mail.body).group(1)
    assert "http://127.0.0.1:5000/login/" in mail.body
    c = app.test_client()
    assert c.get(link).status_code == 200
    assert c.post(link, data={"new_password": "kurz", "repeat_password": "kurz"}).status_code == 422
    response = c.post(link, data={"new_password": "Gruene-Tasse-am-Fenster", "repeat_password": "Gruene-Tasse-am-Fenster"})
    assert response.status_code == 302
    assert c.get(link).status_code == 404  # spent
    fresh = app.test_client()
    login(fresh, "lara@link.example", "Gruene-Tasse-am-Fenster")
    assert fresh.get("/cc/orders/").status_code == 200  # no forced change: they chose their password


def test_forged_or_expired_links_are_refused(app, company_a):
    from app.security.tokens import make_token

    user = make_user(company_a, email="t@alpha.example")
    token = make_token(user)
    c = app.test_client()
    assert c.get("/cc/set-password/" + token[:-2] + "xx").status_code == 404
    app.config["SET_PASSWORD_MAX_AGE"] = -1
    assert c.get("/cc/set-password/" + token).status_code == 404


def test_registration_decisions_are_mailed_to_the_requester(app, staff_client):
    from app.models import RegistrationRequest

    yes = RegistrationRequest(company_name="Ja GmbH", first_name="J", last_name="A", email="ja@ja.example",
                              language="en")
    no = RegistrationRequest(company_name="Nein AG", first_name="N", last_name="E", email="nein@nein.example",
                             language="de")
    db.session.add_all([yes, no])
    db.session.commit()
    staff_client.post(f"/backend/registrations/{yes.id}/approve")
    staff_client.post(f"/backend/registrations/{no.id}/reject")
    [approved] = mails(kind="registration_approved")
    [rejected] = mails(kind="registration_rejected")
    assert approved.recipient == "ja@ja.example" and "approved" in approved.subject
    assert "/cc/set-password/" in approved.body
    assert rejected.recipient == "nein@nein.example" and "Registrierung" in rejected.subject
    assert "Nein AG" in rejected.body


# -- an unreachable mail server ----------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_mail_server_never_breaks_the_action_and_mail_is_retried(app, staff_client, company_a,
                                                                               customer_a):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_closed_port(), MAIL_SUPPRESS_SEND=False)
    order = make_order(company_a, customer_a)
    response = staff_client.post(f"/backend/orders/{order.id}/status",
                                 data={"status_id": _status("in_repair").id, "note": "läuft"})
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status.code == "in_repair"  # the change is saved
    [mail] = mails(kind="status_changed")
    assert mail.sent_at is None and mail.attempts == 1 and "Connection" in (mail.last_error or "")
    assert outbox(app) == []
    # the server is back (here: the file outbox); the retry sends it
    app.config["MAIL_SERVER"] = None
    mail.next_attempt_at = None
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["portal", "send-mail"])
    assert "1 sent" in result.output
    db.session.refresh(mail)
    assert mail.sent_at is not None and mail.attempts == 2
    assert [m["To"] for m in outbox(app)] == [customer_a.email]


def test_staff_see_the_outbox(staff_client, customer_client, company_a, customer_a):
    customer_client.post("/cc/orders/new", data=new_order_data("PO-OUT"))
    page = text(staff_client.get("/backend/outbox/list/"))
    assert "PO-OUT" in page or "service@localhost" in page
    assert customer_client.get("/backend/outbox/list/").status_code == 403


def test_a_mail_server_that_never_answers_times_out_and_the_change_is_saved(app, staff_client, company_a,
                                                                           customer_a):
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts the connection, never sends the SMTP greeting
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.getsockname()[1], MAIL_SUPPRESS_SEND=False,
                          MAIL_TIMEOUT=1)
        order = make_order(company_a, customer_a)
        started = time.monotonic()
        response = staff_client.post(f"/backend/orders/{order.id}/status",
                                     data={"status_id": _status("in_repair").id})
        assert response.status_code == 302 and time.monotonic() - started < 10
    finally:
        silent.close()
    db.session.refresh(order)
    assert order.status.code == "in_repair"
    [mail] = mails(kind="status_changed")
    assert mail.sent_at is None and "timed out" in (mail.last_error or "").lower()


# -- mails read as letters in the recipient's language -----------------------------

LETTER = {
    "en": {"greeting": "Dear ", "closing": "\n\nKind regards\nRepair Service\n",
           "foreign": ("Guten Tag", "Grüße", " Ihr", " Sie ", "Auftrag ")},
    "de": {"greeting": "Guten Tag ", "closing": "\n\nMit freundlichen Grüßen\nRepair Service\n",
           "foreign": ("Dear", "regards", " your ", " you ", "order ")},
}


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_customer_mail_is_a_letter_in_the_recipients_language(app, staff_client, company_admin_client,
                                                                    company_a, customer_a, company_admin_a,
                                                                    language):
    from app.models import RegistrationRequest
    from app.services import notify

    customer_a.language = language
    company_admin_a.language = "de" if language == "en" else "en"  # the sender's language must not leak
    db.session.commit()
    order = make_order(company_a, customer_a)
    staff_client.post(f"/backend/orders/{order.id}/status", data={"status_id": _status("in_repair").id})
    staff_client.post(f"/backend/orders/{order.id}/messages", data={"body": "OK"})
    company_admin_client.post("/cc/employees/new", data={"first_name": "Nina", "last_name": "Neu",
                                                         "email": "nina@alpha.example", "language": language})
    requests = [RegistrationRequest(company_name=f"{name} GmbH", first_name="Rita", last_name=name,
                                    email=f"{name.lower()}@r.example", language=language) for name in ("Ja", "Nein")]
    db.session.add_all(requests)
    db.session.commit()
    staff_client.post(f"/backend/registrations/{requests[0].id}/approve")
    staff_client.post(f"/backend/registrations/{requests[1].id}/reject")
    public = make_order(None, None, source="frontend", email="kunde@privat.example", language=language,
                        contact_person="Paula Privat")
    notify.public_order_received(public)
    db.session.commit()
    letters = [m for m in mails() if m.recipient != app.config["MAIL_STAFF_ADDRESS"]
               and m.recipient != company_admin_a.email]
    assert {m.kind for m in letters} == {"status_changed", "message_to_customer", "employee_created",
                                         "registration_approved", "registration_rejected", "public_order_received"}
    rule = LETTER[language]
    for mail in letters:
        assert mail.language == language, mail.kind
        assert mail.body.startswith(rule["greeting"]), (mail.kind, mail.body)
        first_line, _, rest = mail.body.partition("\n\n")
        assert first_line.endswith(","), mail.kind
        # German letters go on in lower case after the greeting's comma (a name keeps its capital);
        # English ones start a new sentence
        if not rest.startswith(company_admin_a.full_name):
            assert rest[0].islower() if language == "de" else rest[0].isupper(), (mail.kind, rest[:40])
        assert rule["closing"] in mail.body, (mail.kind, mail.body)
        for word in rule["foreign"]:
            assert word not in mail.subject + "\n" + mail.body, (mail.kind, word)


def test_the_migration_keeps_replies_coming_for_users_who_had_chosen_no_status_mails(app, company_a, customer_a,
                                                                                     company_admin_a):
    """Before 0006, "None" silenced replies too; those users now hear of replies on their own orders."""
    from flask_migrate import downgrade, upgrade

    customer_a.notify_status = "none"
    db.session.commit()
    ids = customer_a.id, company_admin_a.id
    db.session.remove()
    downgrade(revision="0005")
    upgrade()
    assert [db.session.get(PortalUser, pk).notify_messages for pk in ids] == ["mine", "all"]
