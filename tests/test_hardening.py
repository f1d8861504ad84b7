"""Headers, cookies, redirects, brute-force limits, first login, the audit log, faults, concurrency."""
from __future__ import annotations

import json
import re
import threading

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Order, OrderStatus, PortalUser
from app.security import roles
from app.security.passwords import password_problems
from app.services.accounts import generate_password
from tests.conftest import _app_config, _client_for, login
from tests.factories import PASSWORD, make_company, make_order, make_user
from tests.helpers import new_order_data, stored_files, text, upload


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# -- headers, cookies, redirects -----------------------------------------------

@pytest.mark.parametrize("url", ["/login/", "/cc/register/", "/backend/orders/list/", "/nope"])
def test_security_headers_on_every_response(staff_client, url):
    response = staff_client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "script-src 'self' 'nonce-" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_inline_script_carries_the_nonce_of_the_policy(staff_client, company_a, customer_a):
    make_order(company_a, customer_a)
    for url in ("/backend/orders/list/", "/backend/orders/add", "/backend/companies/list/"):
        response = staff_client.get(url)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        html = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline or "/add" in url, url
        assert all(f'nonce="{nonce}"' in attrs for attrs in inline), url
        assert not re.search(r"\son[a-z]+=", html), url  # no inline event handlers


def test_session_cookie_is_httponly_and_samesite(app, client, customer_a):
    response = login(client, customer_a.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch):
    import config

    assert config.ProductionConfig.SESSION_COOKIE_SECURE is True


@pytest.mark.parametrize("target", ["http://evil.example/", "//evil.example/x", "https:evil.example"])
def test_no_open_redirect_after_login(client, customer_a, target):
    response = client.post("/login/?next=" + target, data={"username": customer_a.email, "password": PASSWORD})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_fab_delete_by_get_is_refused_even_for_admins(app, customer_a):
    admin = make_user(None, roles.ADMIN, email="root@example.org")
    client = _client_for(app, admin)
    assert client.get(f"/users/delete/{customer_a.id}").status_code == 405
    assert db.session.get(PortalUser, customer_a.id) is not None


# -- brute force ----------------------------------------------------------------

@pytest.fixture
def limited_app(tmp_path, database_url):
    app = create_app({**_app_config(tmp_path, database_url), "RATELIMIT_ENABLED": True,
                      "AUTH_RATE_LIMIT": "10 per minute", "AUTH_ADDRESS_RATE_LIMIT": "30 per minute"})
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def web_login(c, email, password=PASSWORD, address="10.1.1.1"):
    """"in", "wrong" (back to the login page) or the status code of a refusal."""
    response = c.post("/login/", data={"username": email, "password": password},
                      environ_base={"REMOTE_ADDR": address})
    if response.status_code == 302:
        return "wrong" if "/login" in response.headers["Location"] else "in"
    return response


def api_login(c, email, password=PASSWORD, address="10.1.1.1"):
    return c.post("/api/v1/security/login", json={"username": email, "password": password, "provider": "db"},
                  environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def office(company_a):
    """Five employees of one company, all behind the same proxy address."""
    return [make_user(company_a, email=f"office{i}@alpha.example") for i in range(5)]


def test_a_company_behind_one_address_is_never_locked_out_by_correct_logins(limited_app, office):
    c = limited_app.test_client()
    assert [web_login(c, office[i % 5].email) for i in range(20)] == ["in"] * 20
    c = limited_app.test_client()
    codes = [api_login(c, office[i % 5].email).status_code for i in range(20)]
    assert codes == [200] * 20


def test_typos_block_only_that_account_and_a_correct_password_too(limited_app, office):
    c = limited_app.test_client()
    assert [web_login(c, office[0].email, "wrong") for _ in range(10)] == ["wrong"] * 10
    refused = web_login(c, office[0].email, "wrong")
    assert refused.status_code == 429 and "Zu viele Versuche" in text(refused)
    # while the account is blocked, even its right password is refused, on the web and the API
    assert web_login(c, office[0].email.upper()).status_code == 429
    response = api_login(c, office[0].email)
    assert response.status_code == 429 and response.get_json() == {"message": "Too many requests"}
    # a colleague behind the same address still gets in
    assert web_login(limited_app.test_client(), office[1].email) == "in"
    assert api_login(c, office[2].email).status_code == 200


def test_an_account_is_blocked_across_addresses_and_across_web_and_api(limited_app, customer_a):
    c = limited_app.test_client()
    for i in range(5):
        assert web_login(c, customer_a.email, "wrong", address=f"10.0.0.{i}") == "wrong"
    for i in range(5):
        assert api_login(c, customer_a.email, "wrong", address=f"10.0.1.{i}").status_code == 401
    assert api_login(c, customer_a.email, address="10.0.2.1").status_code == 429
    assert web_login(c, customer_a.email, address="10.0.2.2").status_code == 429


def test_the_address_ceiling_stops_a_spray_over_many_accounts(limited_app, office):
    c = limited_app.test_client()
    codes = [api_login(c, f"guess{i}@x.example", "x").status_code for i in range(30)]
    assert codes == [401] * 30
    assert web_login(c, "guess-more@x.example", "x").status_code == 429
    assert api_login(c, office[0].email).status_code == 429  # the whole address waits
    assert api_login(c, office[0].email, address="10.9.9.9").status_code == 200  # others do not


def test_default_login_limits():
    from config import Config

    assert Config.AUTH_RATE_LIMIT == "10 per minute"
    assert Config.AUTH_ADDRESS_RATE_LIMIT == "100 per minute"
    assert Config.AUTH_RATE_LIMITED is False  # FAB's limit counts successful logins too


# -- passwords ------------------------------------------------------------------

def test_generated_passwords_are_strong_and_distinct():
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(password_problems(p) == [] and len(p) >= 16 for p in passwords)


def test_employee_with_generated_password_must_choose_their_own_first(app, company_admin_client):
    html = company_admin_client.post("/cc/employees/new", data={
        "first_name": "Neu", "last_name": "Ling", "email": "neu@alpha.example"}).get_data(as_text=True)
    generated = re.search(r'id="access-password">([^<]+)<', html).group(1)
    c = app.test_client()
    assert "/login" not in login(c, "neu@alpha.example", generated).headers["Location"]
    for url in ("/cc/orders/", "/cc/orders/new", "/"):
        response = c.get(url)
        assert response.status_code == 302 and "tab=password" in response.headers["Location"], url
    assert "Passwort" in text(c.get("/cc/my-data/?tab=password")) or "Password" in text(c.get("/cc/my-data/?tab=password"))
    response = c.post("/cc/my-data/password", data={"current_password": generated, "new_password": generated,
                                                    "repeat_password": generated})
    assert response.status_code == 422  # the same password again is not "your own"
    response = c.post("/cc/my-data/password", data={"current_password": generated,
                                                    "new_password": "Mein-eigenes-2026",
                                                    "repeat_password": "Mein-eigenes-2026"})
    assert response.status_code == 302
    assert c.get("/cc/orders/").status_code == 200


# -- audit log ------------------------------------------------------------------

def test_audit_log_records_who_changed_what(app, staff_client, company_admin_client, company_a, customer_a,
                                            staff_user, company_admin_a):
    portal_order = make_order(company_a, customer_a)
    walk_in = make_order(None, source="frontend", customer_name="Alt")
    in_review = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one()
    staff_client.post(f"/backend/orders/{portal_order.id}/status", data={"status_id": in_review.id, "note": "da"})
    staff_client.post(f"/backend/orders/edit/{walk_in.id}", data={"reference": "R", "customer_name": "Neu"})
    company_admin_client.post("/cc/employees/new", data={"first_name": "A", "last_name": "B",
                                                         "email": "ab@alpha.example"})
    company_admin_client.post(f"/cc/employees/{customer_a.id}/deactivate")
    events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
    status = events["order.status"]
    assert (status.actor_id, status.company_id, status.object_label) == (staff_user.id, company_a.id,
                                                                          portal_order.rma_number)
    assert json.loads(status.old_values) == {"status": "received"}
    assert json.loads(status.new_values) == {"status": "in_review", "note": "da"}
    data = events["order.customer_data"]
    assert json.loads(data.old_values) == {"customer_name": "Alt"} and json.loads(data.new_values) == {
        "customer_name": "Neu"}
    assert events["employee.created"].actor_id == company_admin_a.id
    assert events["employee.deactivated"].object_id == customer_a.id
    page = text(staff_client.get("/backend/audit/list/"))
    assert portal_order.rma_number in page and company_admin_a.full_name in page
    assert company_admin_client.get("/backend/audit/list/").status_code == 403


# -- faults ---------------------------------------------------------------------

def test_a_file_write_error_leaves_no_order_and_no_files(app, customer_client, monkeypatch):
    from app.services import files

    real_store = files.store
    calls = {"n": 0}

    def failing_store(upload_):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real_store(upload_)

    monkeypatch.setattr(files, "store", failing_store)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    data = new_order_data(articles=[dict(description="X", quantity="1", fault_description="f",
                                         files=[upload("first.pdf")])], files=[upload("second.pdf")])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 500 and calls["n"] == 2
    assert count(Order) == 0 and stored_files(app) == []


# -- concurrency ----------------------------------------------------------------

def test_parallel_writers_get_distinct_rma_numbers(app, tmp_path, database_url):
    """8 writers, each with its own connection, create 125 portal orders each."""
    company = make_company()
    user = make_user(company)
    company_id, user_id = company.id, user.id
    errors, numbers = [], []
    lock = threading.Lock()

    def writer():
        from app.services.orders import create_portal_order
        from app.models import Company

        with app.app_context():
            try:
                for _ in range(125):
                    order = create_portal_order(db.session.get(Company, company_id),
                                                db.session.get(PortalUser, user_id), "P",
                                                [dict(description="d", quantity=1)])
                    db.session.commit()
                    with lock:
                        numbers.append(order.rma_number)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 1000 and len(set(numbers)) == 1000
    assert count(Order) == 1000


@pytest.mark.parametrize("way", ["portal", "api"])
def test_a_database_error_while_attaching_files_leaves_no_files(app, company_a, company_admin_a, monkeypatch, way):
    """Files to an existing order, in the portal or through the API: the rows fail, the files go too."""
    from app.models import Attachment
    from app.services import files

    order = make_order(company_a, company_admin_a)
    if way == "portal":
        client, headers = _client_for(app, company_admin_a), {}
        url, data = f"/cc/orders/{order.id}/files", {"target": "order", "files": [upload("a.pdf"), upload("b.pdf")]}
    else:
        client = app.test_client()
        token = client.post("/api/v1/security/login", json={"username": company_admin_a.email,
                                                            "password": PASSWORD, "provider": "db"})
        headers = {"Authorization": "Bearer " + token.get_json()["access_token"]}
        url, data = f"/api/v1/orders/{order.id}/files", {"file": [upload("a.pdf"), upload("b.pdf")]}
    real_record = files.record

    def record_then_fail(order, stored_file, item=None, user=None):
        if stored_file.original_name == "b.pdf":
            raise RuntimeError("database went away")
        return real_record(order, stored_file, item=item, user=user)

    monkeypatch.setattr(files, "record", record_then_fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post(url, data=data, content_type="multipart/form-data", headers=headers)
    assert response.status_code == 500
    assert stored_files(app) == []
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


@pytest.mark.parametrize("url", ["/backend/orders/list/?page_StaffOrderView=99999999999999999999",
                                 "/backend/audit/list/?page_StaffAuditView=9223372036854775807"])
def test_a_page_past_any_list_shows_an_empty_page_not_a_server_error(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    assert staff_client.get("/backend/orders/list/?page_StaffOrderView=-3").status_code == 400  # FAB refuses it
