"""Webhooks: a company's ERP hears of its own orders' events — signed, retried, paused after a day of
failures, delivered once however many workers run — and addresses into the server's own networks are
refused unless the configuration names them."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import subprocess
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import WEBHOOK_EVENTS, AuditEvent, Order, OrderMessage, OrderStatus, OutgoingMail, \
    WebhookDelivery, WebhookEndpoint, utcnow
from app.services import notify, webhooks
from app.services.orders import change_status
from app.services.worker import run_worker
from tests.conftest import _client_for
from tests.factories import make_order, make_sent_quote
from tests.helpers import new_order_data
from tests.webhook_receiver import Receiver


@pytest.fixture(autouse=True)
def english(request):
    """Messages made outside a request (the services' refusals, the delivery log's errors) in English."""
    if "app" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("app")
    with force_locale("en"):
        yield


@pytest.fixture
def allow_local(app):
    app.config["WEBHOOK_ALLOW_HOSTS"] = "127.0.0.1"
    return app


def _endpoint(company, admin, url, events=WEBHOOK_EVENTS) -> WebhookEndpoint:
    endpoint = webhooks.create_endpoint(company.id, url, events, admin)
    db.session.commit()
    return endpoint


def _deliveries(**where) -> list[WebhookDelivery]:
    db.session.expire_all()
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(WebhookDelivery, name) == value)
    return db.session.scalars(stmt).all()


def _deliver() -> tuple[int, int]:
    result = webhooks.deliver_pending()
    db.session.expire_all()
    return result


# -- what is sent, and to whom ----------------------------------------------------------

def test_a_new_order_reaches_the_company_signed_and_after_the_response(allow_local, customer_client, company_a,
                                                                      company_admin_a):
    with Receiver() as erp:
        endpoint = _endpoint(company_a, company_admin_a, erp.url("/portal-events?tenant=a"))
        # the request answers first; its events leave when the response is closed (MAIL_DELIVERY=request)
        response = customer_client.post("/cc/orders/new", data=new_order_data("PO-HOOK-1"), follow_redirects=True)
        assert response.status_code == 200
        order = db.session.scalars(select(Order).where(Order.reference == "PO-HOOK-1")).one()
        assert len(erp.requests) == 1
        received = erp.requests[0]
    assert received.path == "/portal-events?tenant=a"
    assert received.signature_valid(endpoint.secret)
    assert not received.signature_valid("whsec_someone-else")
    body = received.json
    assert set(body) == {"id", "event", "created_at", "data"}
    assert body["event"] == "order.created" == received.headers["x-portal-event"]
    assert body["id"] == received.headers["x-portal-delivery"]
    assert body["created_at"].endswith("Z")
    assert body["data"]["order"]["rma_number"] == order.rma_number
    assert body["data"]["order"]["reference"] == "PO-HOOK-1"
    assert [i["description"] for i in body["data"]["order"]["items"]] == [i.description for i in order.items]
    assert received.headers["content-type"].startswith("application/json")
    assert int(received.headers["x-portal-timestamp"]) > 0
    [row] = _deliveries()
    assert (row.delivered_at is not None, row.attempts, row.last_status_code, row.next_attempt_at) == \
        (True, 1, 200, None)


def test_with_a_worker_the_request_only_queues(allow_local, customer_client, company_a, company_admin_a):
    allow_local.config["MAIL_DELIVERY"] = "worker"
    with Receiver() as erp:
        _endpoint(company_a, company_admin_a, erp.url())
        customer_client.post("/cc/orders/new", data=new_order_data("PO-HOOK-2"), follow_redirects=True)
        assert erp.requests == []
        assert run_worker(0.1, lambda: False, once=True)[0] >= 1  # the staff mail and the event
        assert [r.json["event"] for r in erp.requests] == ["order.created"]


def test_each_company_hears_only_of_its_own_events(allow_local, app, company_a, company_admin_a, customer_a,
                                                   company_b, company_admin_b, staff_user):
    with Receiver() as erp_a, Receiver() as erp_b:
        _endpoint(company_a, company_admin_a, erp_a.url())
        _endpoint(company_b, company_admin_b, erp_b.url())
        order = make_order(company_a, customer_a)
        notify.order_created(order)
        status = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one()
        change = change_status(order, status, staff_user, note="A-NOTE")
        db.session.flush()
        notify.status_changed(order, change)
        for from_staff, internal, body in ((True, False, "A-STAFF"), (True, True, "A-INTERNAL"),
                                           (False, False, "A-CUSTOMER")):
            message = OrderMessage(order=order, company_id=order.company_id, author_id=staff_user.id,
                                   from_staff=from_staff, internal=internal, body=body)
            db.session.add(message)
            db.session.flush()
            notify.message_posted(message)
        db.session.commit()
        make_sent_quote(order, staff_user)
        # the public order form has no company: nothing is queued for anyone
        public = make_order(None, None, source="frontend")
        notify.order_created(public)
        db.session.commit()
        _deliver()
        events = [r.json for r in erp_a.requests]
        assert erp_b.requests == []
    assert [e["event"] for e in events] == ["order.created", "order.status_changed", "order.message",
                                            "quote.sent", "order.status_changed"]
    assert all(e["data"]["order"]["id"] == order.id for e in events)
    assert events[1]["data"]["to_status"] == "in_review" and events[1]["data"]["note"] == "A-NOTE"
    assert events[2]["data"]["message"]["body"] == "A-STAFF"  # never the internal note, never the customer's
    assert events[3]["data"]["quote"]["state"] == "sent" and events[3]["data"]["quote"]["gross"]
    assert {d.company_id for d in _deliveries()} == {company_a.id}


def test_a_quote_decision_is_an_event(allow_local, app, company_a, company_admin_a, customer_a, staff_user):
    from app.services import quotes

    order = make_order(company_a, customer_a)
    quote = make_sent_quote(order, staff_user)
    with Receiver() as erp:
        _endpoint(company_a, company_admin_a, erp.url(), events=["quote.decided"])
        quotes.decide(quote, company_admin_a, accept=True, po_number="PO-77")
        db.session.commit()
        _deliver()
        [received] = erp.requests
    assert received.json["event"] == "quote.decided"
    assert received.json["data"]["quote"]["state"] == "accepted"
    assert received.json["data"]["quote"]["po_number"] == "PO-77"


# -- retries, giving up, pausing ------------------------------------------------------------

def test_a_refusing_endpoint_is_retried_with_backoff_then_delivered(allow_local, app, company_a, company_admin_a,
                                                                    customer_a):
    with Receiver(status=500) as erp:
        _endpoint(company_a, company_admin_a, erp.url())
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        assert _deliver() == (0, 1)
        [row] = _deliveries()
        assert (row.attempts, row.last_status_code, row.delivered_at) == (1, 500, None)
        assert "HTTP 500" in row.last_error
        assert dt.timedelta(seconds=50) < row.next_attempt_at - utcnow() <= dt.timedelta(minutes=1)
        assert _deliver() == (0, 0)  # not before its time
        row.next_attempt_at = utcnow()
        db.session.commit()
        assert _deliver() == (0, 1)
        [row] = _deliveries()
        assert dt.timedelta(minutes=1) < row.next_attempt_at - utcnow() <= dt.timedelta(minutes=2)  # 1, 2, 4 …
        assert row.endpoint.failing_since is not None
        erp.status = 200
        row.next_attempt_at = utcnow()
        db.session.commit()
        assert _deliver() == (1, 0)
        ids = [r.headers["x-portal-delivery"] for r in erp.requests]
    [row] = _deliveries()
    assert (row.attempts, row.last_status_code, row.last_error, row.next_attempt_at) == (3, 200, None, None)
    assert row.endpoint.failing_since is None and row.endpoint.active
    assert ids == [row.uid] * 3  # the same delivery id each time: the receiver can tell a repeat


def test_backoff_grows_to_an_hour():
    assert [webhooks.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 6, 7, 12)] == \
        [1, 2, 4, 8, 16, 32, 60, 60]


def test_failing_for_a_day_gives_up_pauses_and_mails_the_admins_once(allow_local, app, company_a, company_admin_a,
                                                                     customer_a):
    with Receiver(status=503) as erp:
        endpoint = _endpoint(company_a, company_admin_a, erp.url())
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        day_ago = utcnow() - dt.timedelta(hours=24, minutes=1)
        [row] = _deliveries()
        row.created_at = day_ago
        row.attempts = 28
        endpoint.failing_since = day_ago
        db.session.commit()
        assert _deliver() == (0, 1)
        db.session.expire_all()
        assert len(erp.requests) == 1
        # paused: a new event is not even queued, and nothing more is sent
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        assert _deliver() == (0, 0)
        assert len(erp.requests) == 1
    [row] = _deliveries()
    assert row.given_up_at is not None and row.next_attempt_at is None and row.delivered_at is None
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert (endpoint.active, endpoint.paused_reason) == (False, "failing")
    mails = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "webhook_paused")).all()
    assert [m.recipient for m in mails] == [company_admin_a.email]  # the admins, not the employees
    assert endpoint.url in mails[0].subject and "/cc/my-data/webhooks/" in mails[0].body
    assert "24" in mails[0].body and "HTTP 503" in mails[0].body
    paused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.paused")).one()
    assert paused.actor_id is None and paused.company_id == company_a.id


def test_the_pause_mail_is_in_the_admins_language(allow_local, app, company_a, company_admin_a, customer_a):
    company_admin_a.language = "en"
    db.session.commit()
    endpoint = _endpoint(company_a, company_admin_a, "http://127.0.0.1:9/hook")  # nobody listens on port 9
    endpoint.failing_since = utcnow() - dt.timedelta(hours=25)
    notify.order_created(make_order(company_a, customer_a))
    db.session.commit()
    assert _deliver() == (0, 1)
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "webhook_paused")).one()
    assert mail.subject == "Webhook paused: http://127.0.0.1:9/hook"
    assert "has not accepted our deliveries for 24 hours" in mail.body


def test_resuming_retries_what_is_within_its_day_and_gives_up_older_events(allow_local, app, company_a,
                                                                          company_admin_a, customer_a):
    with Receiver() as erp:
        endpoint = _endpoint(company_a, company_admin_a, erp.url())
        notify.order_created(make_order(company_a, customer_a))
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        old, recent = _deliveries()
        old.created_at = utcnow() - dt.timedelta(hours=30)
        webhooks.pause(endpoint, company_admin_a)
        db.session.commit()
        assert _deliver() == (0, 0) and erp.requests == []
        webhooks.resume(endpoint, company_admin_a)
        db.session.commit()
        assert _deliver() == (1, 0)
        assert [r.headers["x-portal-delivery"] for r in erp.requests] == [recent.uid]
    old, recent = _deliveries()
    assert old.given_up_at is not None and recent.delivered_at is not None


# -- each event once ---------------------------------------------------------------------

def test_two_senders_at_once_deliver_each_event_once(allow_local, app, company_a, company_admin_a, customer_a):
    with Receiver(delay=0.05) as erp:
        _endpoint(company_a, company_admin_a, erp.url())
        for _ in range(15):
            notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        start = threading.Barrier(2)
        results = []

        def sender():
            with app.app_context():
                start.wait()
                results.append(webhooks.deliver_pending())
                db.session.remove()

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        ids = Counter(r.headers["x-portal-delivery"] for r in erp.requests)
    rows = _deliveries()
    assert len(rows) == 15 and all(r.delivered_at is not None and r.attempts == 1 for r in rows)
    assert ids == Counter({r.uid: 1 for r in rows})
    assert sum(delivered for delivered, _failed in results) == 15
    assert all(delivered > 0 for delivered, _failed in results), results  # both took part


# -- addresses refused (SSRF) -------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://127.0.0.1:8443/hook", "https://10.1.2.3/hook", "https://192.168.0.10/",
    "https://172.16.5.4/", "https://169.254.169.254/latest/meta-data/", "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook", "https://[fe80::1]/", "https://[fd00::1]/", "https://0.0.0.0/",
    "https://100.64.0.1/", "https://224.0.0.1/", "https://localhost/hook", "https://localhost:8080/hook",
])
def test_local_and_private_addresses_are_refused(app, url):
    with pytest.raises(webhooks.WebhookInvalid) as refused:
        webhooks.validate_url(url)
    assert "private or local network" in refused.value.message or "could not be found" in refused.value.message


@pytest.mark.parametrize("url, words", [
    ("http://93.184.216.34/hook", "https://"),
    ("ftp://93.184.216.34/hook", "https://"),
    ("https://user:pw@93.184.216.34/hook", "user name or password"),
    ("https:///nohost", "https://"),
    ("https://93.184.216.34/a b", "https://"),
    ("https://93.184.216.34/a\r\nX-Evil: 1", "https://"),
    ("https://93.184.216.34:99999/", "port"),
    ("https://93.184.216.34/" + "x" * 500, "500"),
])
def test_bad_addresses_are_refused_with_a_reason(app, url, words):
    with pytest.raises(webhooks.WebhookInvalid) as refused:
        webhooks.validate_url(url)
    assert words in refused.value.message


def test_public_addresses_are_accepted(app):
    assert webhooks.validate_url(" https://93.184.216.34/hook ") == "https://93.184.216.34/hook"
    assert webhooks.validate_url("https://[2606:4700:4700::1111]:8443/x") == "https://[2606:4700:4700::1111]:8443/x"


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:4700:4700::1111", True), ("127.0.0.1", False), ("10.0.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("224.0.0.1", False), ("255.255.255.255", False),
    ("0.0.0.0", False), ("::1", False), ("::", False), ("fe80::1%1", False), ("fc00::1", False), ("ff02::1", False),
    ("::ffff:10.0.0.1", False), ("::ffff:93.184.216.34", True), ("64:ff9b::7f00:1", False),
    ("2002:7f00:1::1", False), ("2002:5db8:d822::1", True), ("192.0.2.1", False), ("nonsense", False),
])
def test_which_addresses_are_public(address, public):
    assert webhooks.is_public(address) is public


def test_a_name_with_one_private_address_among_public_ones_is_refused(app, monkeypatch):
    def lookup(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lookup)
    with pytest.raises(webhooks.WebhookInvalid, match="10.0.0.5"):
        webhooks.validate_url("https://erp.example.com/hook")


def test_allow_list_names_hosts_and_ports(app):
    app.config["WEBHOOK_ALLOW_HOSTS"] = "localhost:8080, [::1]"
    assert webhooks.validate_url("http://localhost:8080/hook")
    assert webhooks.validate_url("https://[::1]:9999/hook")
    for url in ("http://localhost:8081/hook", "https://127.0.0.1/hook"):
        with pytest.raises(webhooks.WebhookInvalid):
            webhooks.validate_url(url)


def test_at_delivery_the_address_is_checked_again(allow_local, app, company_a, company_admin_a, customer_a,
                                                  monkeypatch):
    with Receiver() as erp:
        _endpoint(company_a, company_admin_a, erp.url())  # allowed when it was saved
        app.config["WEBHOOK_ALLOW_HOSTS"] = ""  # no longer
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        assert _deliver() == (0, 1)
        assert erp.requests == []
    [row] = _deliveries()
    assert "https://" in row.last_error and row.last_status_code is None


def test_a_name_that_turns_private_after_saving_is_refused_at_delivery(app, company_a, company_admin_a,
                                                                       customer_a, monkeypatch):
    """DNS rebinding: the name was public when the admin saved it, now it answers 127.0.0.1."""
    answer = ["93.184.216.34"]
    connects = []

    def lookup(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[0], port))]

    def connect(*args, **kwargs):
        connects.append(args)
        raise OSError("no connection in this test")

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lookup)
    monkeypatch.setattr(webhooks.socket, "socket", lambda *a, **k: connect(*a))
    _endpoint(company_a, company_admin_a, "https://erp.example.com/hook")
    answer[0] = "127.0.0.1"
    notify.order_created(make_order(company_a, customer_a))
    db.session.commit()
    assert _deliver() == (0, 1)
    [row] = _deliveries()
    assert "127.0.0.1" in row.last_error and "private or local network" in row.last_error
    assert connects == []


def test_delivery_connects_to_the_address_looked_up_and_names_the_host(allow_local, app, company_a,
                                                                       company_admin_a, customer_a, monkeypatch):
    """One lookup per delivery, and the connection goes to its answer (a second lookup could answer
    something else: DNS rebinding); the request still names the host."""
    lookups = []

    def lookup(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    app.config["WEBHOOK_ALLOW_HOSTS"] = "erp.example.test"
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lookup)
    with Receiver() as erp:
        _endpoint(company_a, company_admin_a, erp.url(host="erp.example.test"))
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        lookups.clear()
        assert _deliver() == (1, 0)
        [received] = erp.requests
    assert lookups == ["erp.example.test"]
    assert received.headers["host"] == f"erp.example.test:{erp.port}"


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for erp.example.test (openssl, as Debian ships it)."""
    if shutil.which("openssl") is None:
        import os
        if os.environ.get("CI"):
            pytest.fail("openssl is not installed (apt-get install openssl)")
        pytest.skip("openssl is not installed (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=erp.example.test",
                    "-addext", "subjectAltName=DNS:erp.example.test"], check=True, capture_output=True)
    return str(cert), str(key)


def test_https_checks_the_certificate_against_the_host_name(allow_local, app, company_a, company_admin_a,
                                                            customer_a, monkeypatch, certificate):
    cert, key = certificate

    def lookup(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lookup)
    app.config["WEBHOOK_ALLOW_HOSTS"] = "erp.example.test,other.example.test"
    with Receiver(certfile=cert, keyfile=key) as erp:
        good = _endpoint(company_a, company_admin_a, erp.url(host="erp.example.test", scheme="https"),
                         events=["order.created"])
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        assert _deliver() == (0, 1)  # self-signed: not trusted by default
        assert "CERTIFICATE_VERIFY_FAILED" in _deliveries()[0].last_error

        trusting = webhooks.ssl.create_default_context

        def trust_test_cert(*args, **kwargs):
            return trusting(cafile=cert)

        monkeypatch.setattr(webhooks.ssl, "create_default_context", trust_test_cert)
        webhooks.pause(good, company_admin_a)
        db.session.commit()
        _endpoint(company_a, company_admin_a, erp.url(host="other.example.test", scheme="https"),
                  events=["order.created"])
        webhooks.resume(good, company_admin_a)
        for row in _deliveries():
            row.next_attempt_at = utcnow()
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        _deliver()
        failed = [r for r in _deliveries() if r.delivered_at is None]
    assert len(erp.requests) == 2  # both events to erp.example.test, now that its certificate is trusted
    assert all(r.headers["host"] == f"erp.example.test:{erp.port}" for r in erp.requests)
    assert [r.endpoint.url.split("//")[1].split(":")[0] for r in failed] == ["other.example.test"]
    assert "match" in failed[0].last_error or "mismatch" in failed[0].last_error.lower()


# -- the company admin's pages ------------------------------------------------------------------

def test_admin_adds_a_webhook_sees_the_secret_once_and_sends_a_test_event(allow_local, company_admin_client,
                                                                          company_a):
    client = company_admin_client
    page = client.get("/cc/my-data/webhooks/").get_data(as_text=True)
    assert "Your company has no webhooks yet" in page or "noch keine Webhooks" in page
    with Receiver() as erp:
        response = client.post("/cc/my-data/webhooks/", data={"url": erp.url(), "events": ["order.created",
                                                                                            "quote.sent"]})
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        secret = re.search(r'id="webhook-secret"[^>]*>([^<]+)<', response.get_data(as_text=True)).group(1)
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert (secret, endpoint.company_id, endpoint.event_list) == (endpoint.secret, company_a.id,
                                                                     ["order.created", "quote.sent"])
        for url in ("/cc/my-data/webhooks/", f"/cc/my-data/webhooks/{endpoint.id}"):
            body = client.get(url).get_data(as_text=True)
            assert erp.url() in body and secret not in body, url
        response = client.post(f"/cc/my-data/webhooks/{endpoint.id}/test", follow_redirects=True)
        assert response.status_code == 200
        [ping] = erp.requests
        assert ping.json["event"] == "ping" and ping.signature_valid(secret)
        log = client.get(f"/cc/my-data/webhooks/{endpoint.id}").get_data(as_text=True)
    rows = re.findall(r'<tr class="delivery-row" data-event="([^"]+)" data-state="([^"]+)">', log)
    assert rows == [("ping", "delivered")]
    assert '<td class="status-code">200</td>' in log
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.created")).one()
    assert created.company_id == company_a.id and erp.url() in created.new_values


def test_the_delivery_log_shows_codes_errors_and_retries(allow_local, app, company_admin_client, company_a,
                                                         company_admin_a, customer_a):
    with Receiver(status=500) as erp:
        endpoint = _endpoint(company_a, company_admin_a, erp.url())
        notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        _deliver()
    log = company_admin_client.get(f"/cc/my-data/webhooks/{endpoint.id}").get_data(as_text=True)
    assert re.findall(r'data-event="([^"]+)" data-state="([^"]+)"', log) == [("order.created", "retrying")]
    assert '<td class="status-code">500</td>' in log and "HTTP 500: not today" in log


def test_a_refused_address_is_shown_at_its_field_and_nothing_is_saved(app, company_admin_client):
    response = company_admin_client.post("/cc/my-data/webhooks/", data={"url": "https://169.254.169.254/latest"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    url_error = re.search(r'id="url-error">([^<]+)<', body).group(1)
    assert "169.254.169.254" in url_error
    assert re.search(r'id="events-error">([^<]+)<', body)
    assert 'value="https://169.254.169.254/latest"' in body  # what was typed stays
    assert db.session.scalars(select(WebhookEndpoint)).all() == []
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("webhook.%"))).all() == []


def test_pause_resume_and_delete(allow_local, app, company_admin_client, company_a, company_admin_a, customer_a):
    endpoint = _endpoint(company_a, company_admin_a, "http://127.0.0.1:9/hook")
    client = company_admin_client
    assert client.post(f"/cc/my-data/webhooks/{endpoint.id}/pause").status_code == 302
    assert db.session.get(WebhookEndpoint, endpoint.id).active is False
    page = client.get("/cc/my-data/webhooks/").get_data(as_text=True)
    assert "Resume" in page or "Fortsetzen" in page
    assert client.post(f"/cc/my-data/webhooks/{endpoint.id}/test").status_code == 302
    assert _deliveries() == []  # a paused webhook gets no test event
    assert client.post(f"/cc/my-data/webhooks/{endpoint.id}/resume").status_code == 302
    assert db.session.get(WebhookEndpoint, endpoint.id).active is True
    notify.order_created(make_order(company_a, customer_a))
    db.session.commit()
    assert client.post(f"/cc/my-data/webhooks/{endpoint.id}/delete").status_code == 302
    assert db.session.scalars(select(WebhookEndpoint)).all() == [] and _deliveries() == []
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("webhook.%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["webhook.created", "webhook.paused", "webhook.resumed", "webhook.deleted"]


def test_employees_and_other_companies_never_see_or_touch_a_webhook(allow_local, app, company_a, company_admin_a,
                                                                    customer_a, company_b, company_admin_b,
                                                                    staff_user):
    endpoint = _endpoint(company_a, company_admin_a, "http://127.0.0.1:9/a-secret-hook")
    notify.order_created(make_order(company_a, customer_a))
    db.session.commit()
    before = [(e.url, e.active, e.secret) for e in db.session.scalars(select(WebhookEndpoint))]
    paths = ["", f"{endpoint.id}", f"{endpoint.id}/pause", f"{endpoint.id}/resume", f"{endpoint.id}/test",
             f"{endpoint.id}/delete"]
    for user, expected in ((company_admin_b, 404), (customer_a, 403), (staff_user, 403)):
        client = _client_for(app, user)
        for path in paths:
            url = f"/cc/my-data/webhooks/{path}"
            method = "GET" if path in ("", f"{endpoint.id}") else "POST"
            response = client.open(url, method=method)
            body = response.get_data(as_text=True)
            assert "a-secret-hook" not in body and endpoint.secret not in body, (user.email, url)
            if path:
                assert response.status_code == expected, (user.email, method, url, response.status_code)
        if user is customer_a:
            assert "webhooks-tab" not in client.get("/cc/my-data/").get_data(as_text=True)
    assert [(e.url, e.active, e.secret) for e in db.session.scalars(select(WebhookEndpoint))] == before
    assert len(_deliveries(event="order.created")) == 1 and _deliveries(event="ping") == []
    # B's own list is empty
    body = _client_for(app, company_admin_b).get("/cc/my-data/webhooks/").get_data(as_text=True)
    assert "a-secret-hook" not in body


def test_payload_is_stored_as_sent(allow_local, app, company_a, company_admin_a, customer_a):
    _endpoint(company_a, company_admin_a, "http://127.0.0.1:9/hook")
    order = make_order(company_a, customer_a, reference="Größe ÄÖÜ")
    notify.order_created(order)
    db.session.commit()
    [row] = _deliveries()
    assert json.loads(row.payload)["data"]["order"]["reference"] == "Größe ÄÖÜ"
    assert json.loads(row.payload)["id"] == row.uid


def test_two_worker_processes_deliver_each_event_once_and_stop_on_sigterm(allow_local, app, tmp_path, database_url,
                                                                          company_a, company_admin_a, customer_a):
    import os
    import signal
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with Receiver(delay=0.05) as erp:
        _endpoint(company_a, company_admin_a, erp.url())
        for _ in range(12):
            notify.order_created(make_order(company_a, customer_a))
        db.session.commit()
        env = dict(os.environ, FLASK_APP="run.py", PORTAL_ENV="development", DATABASE_URL=database_url,
                   PORTAL_INSTANCE_DIR=str(tmp_path / "workers"), SECRET_KEY="test-secret", FAB_UPDATE_PERMS="false",
                   MAIL_DELIVERY="worker", WORKER_POLL_SECONDS="0.2", WEBHOOK_ALLOW_HOSTS="127.0.0.1")
        env.pop("MAIL_SERVER", None)
        flask = str(Path(sys.executable).parent / "flask")
        workers = [subprocess.Popen([flask, "portal", "worker"], cwd=root, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            deadline = time.monotonic() + 90
            while any(r.delivered_at is None for r in _deliveries()) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            outputs = [w.communicate(timeout=60) for w in workers]
        ids = Counter(r.headers["x-portal-delivery"] for r in erp.requests)
    assert all(w.returncode == 0 for w in workers), outputs
    assert all("worker: stopped" in out for out, _err in outputs), outputs
    rows = _deliveries()
    assert len(rows) == 12 and all(r.delivered_at is not None and r.attempts == 1 for r in rows)
    assert ids == Counter({r.uid: 1 for r in rows})
