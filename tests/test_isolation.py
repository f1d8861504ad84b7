"""The first promise: one company never sees or changes another company's data.

Every route of the app (FAB's generated ones included) is tried by users of
company B with the ids and file names of company A's objects, by GET and POST.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Company, Device, Order, OrderItem, PortalUser, Quote, QuoteLine, StatusChange, \
    WebhookDelivery, WebhookEndpoint
from app.services.orders import change_status
from tests.factories import make_order, make_user
from tests.helpers import new_order_data, upload

ALLOWED = {302, 400, 401, 403, 404, 405}
SKIP_PREFIXES = ("/static/", "/appbuilder/", "/favicon.ico")  # static files, the same for everyone


@pytest.fixture
def company_a_data(app, customer_client, company_a, customer_a, company_admin_a, staff_user):
    """Company A with an order, articles, files (order + article), a status history and a register."""
    db.session.add(Device(company_id=company_a.id, serial_number="A-SERIAL-0815", article_number="A-ART",
                          description="A-Device", note="A-DEVICE-NOTE", location="A-LOCATION"))
    db.session.commit()
    response = customer_client.post(
        "/cc/orders/new", content_type="multipart/form-data",
        data=new_order_data("A-SECRET-REF", [dict(article_number="A-ART", description="A-Device",
                                                  serial_number="A-SERIAL-0815", quantity="1",
                                                  fault_description="A-FAULT", files=[upload("a-article.pdf")])],
                            files=[upload("a-order.pdf")]))
    assert response.status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "A-SECRET-REF")).one()
    from app.models import OrderStatus
    change_status(order, db.session.scalars(select(OrderStatus).where(OrderStatus.code == "in_review")).one(),
                  staff_user, note="A-NOTE")
    from app.services import quotes
    sent = quotes.save_draft(order, staff_user, lines=[dict(text="A-QUOTE-LINE", quantity="1", unit_price="10")],
                             vat_rate="19", valid_until=quotes.default_valid_until(), note="A-QUOTE-NOTE")
    quotes.send(sent, staff_user)
    quotes.save_draft(order, staff_user, lines=[dict(text="A-DRAFT-LINE", quantity="1", unit_price="10")],
                      vat_rate="19", valid_until=quotes.default_valid_until(), note=None)
    db.session.add(Device(company_id=order.company_id, serial_number="A-DEVICE-SN", description="A-DEVICE-DESC",
                          location="A-DEVICE-LOC"))
    # a webhook with its delivery log (saved as the service would; no name lookup in this test)
    hook = WebhookEndpoint(company_id=company_a.id, url="https://a-hook.example/A-HOOK-PATH", events="order.created",
                           secret="whsec_A-HOOK-SECRET", active=True, created_by_id=company_admin_a.id)
    db.session.add(hook)
    db.session.flush()
    from app.services import webhooks
    webhooks.order_created(order)
    db.session.commit()
    assert len(order.attachments) == 2
    return order


def snapshot(company_id):
    """Every row company A owns, as plain values."""
    def rows(model, where):
        return [tuple(getattr(r, c.key) for c in model.__table__.columns)
                for r in db.session.scalars(select(model).where(where).order_by(model.id))]
    db.session.expire_all()
    return {
        "orders": rows(Order, Order.company_id == company_id),
        "items": rows(OrderItem, OrderItem.company_id == company_id),
        "files": rows(Attachment, Attachment.company_id == company_id),
        "history": rows(StatusChange, StatusChange.company_id == company_id),
        "quotes": rows(Quote, Quote.company_id == company_id),
        "quote_lines": rows(QuoteLine, QuoteLine.company_id == company_id),
        "devices": rows(Device, Device.company_id == company_id),
        "webhooks": rows(WebhookEndpoint, WebhookEndpoint.company_id == company_id),
        "webhook_deliveries": rows(WebhookDelivery, WebhookDelivery.company_id == company_id),
        "users": [(u.id, u.email, u.active, u.password, u.first_name, u.language, u.page_size, u.company_id,
                   u.may_approve_quotes, u.session_version)
                  for u in db.session.scalars(select(PortalUser).where(PortalUser.company_id == company_id))],
        "company": rows(Company, Company.id == company_id),
    }


def readable(response) -> str:
    """A response's text; for a workbook (XLSX, a zip) the text of every part inside it."""
    import io
    import zipfile

    data = response.get_data()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return " ".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def markers(order):
    return [order.rma_number, "A-SECRET-REF", "A-SERIAL-0815", "A-NOTE", "A-FAULT", "a-order.pdf", "a-article.pdf",
            "A-QUOTE-LINE", "A-QUOTE-NOTE", "A-DRAFT-LINE", "A-DEVICE-SN", "A-DEVICE-DESC", "A-DEVICE-LOC",
            "A-DEVICE-NOTE", "A-LOCATION", "A-HOOK-PATH", "A-HOOK-SECRET"]


def candidate_values(order, company_a, users):
    quotes = db.session.scalars(select(Quote).where(Quote.order_id == order.id)).all()
    ids = {order.id, company_a.id, *(i.id for i in order.items), *(a.id for a in order.attachments),
           *(u.id for u in users), *(s.id for s in order.status_changes), *(q.id for q in quotes),
           *db.session.scalars(select(Device.id).where(Device.company_id == company_a.id)),
           *db.session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.company_id == company_a.id)),
           *db.session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.company_id == company_a.id))}
    names = [a.stored_name for a in order.attachments] + [f"{a.stored_name}_sep_{a.original_name}"
                                                          for a in order.attachments]
    return sorted(str(i) for i in ids), names


def urls_for(app, order, company_a, users):
    """Every route with its arguments filled in with company A's ids and file names."""
    ids, names = candidate_values(order, company_a, users)
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(SKIP_PREFIXES) or not rule.arguments:
            continue
        if rule.arguments in ({"locale"}, {"version"}):  # a language switch; the API docs page
            continue
        combos = [{}]
        for arg in sorted(rule.arguments):
            conv = type(rule._converters[arg]).__name__
            values = ids if conv in ("IntegerConverter",) or arg in ("pk", "file_id") else ids + names
            if arg == "name":
                values = ["delete", "muldelete"]
            combos = [{**c, arg: v} for c in combos for v in values]
        for combo in combos:
            url = rule.rule
            for arg, value in combo.items():
                url = re.sub(rf"<(?:[^:>]+:)?{arg}>", value, url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((method, url))
    return sorted(set(out))


def _credentials(app, user, how):
    """A client of company B's user and the headers it sends: browser session, FAB JWT or API key."""
    from tests.conftest import _client_for
    from tests.factories import PASSWORD

    if how == "session":
        return _client_for(app, user), {}
    client = app.test_client()
    if how == "jwt":
        response = client.post("/api/v1/security/login",
                               json={"username": user.email, "password": PASSWORD, "provider": "db"})
        return client, {"Authorization": "Bearer " + response.get_json()["access_token"]}
    response = _client_for(app, user).post("/cc/my-data/api-keys/", data={"name": "ERP B"})
    key = re.search(r'id="api-key-value"[^>]*>([^<]+)<', response.get_data(as_text=True)).group(1)
    return client, {"Authorization": "Bearer " + key}


@pytest.mark.parametrize("who, how", [("customer_b", "session"), ("company_admin_b", "session"),
                                      ("customer_b", "jwt"), ("company_admin_b", "key")])
def test_company_b_gets_nothing_of_company_a_on_any_route(app, request, company_a_data, company_a, customer_a,
                                                         company_admin_a, who, how):
    order = company_a_data
    user = request.getfixturevalue(who)
    client, headers = _credentials(app, user, how)
    before = snapshot(company_a.id)
    secret = markers(order)
    tried = 0
    urls = urls_for(app, order, company_a, [customer_a, company_admin_a])
    if how != "session":  # a token or key only opens the API
        urls = [(m, u) for m, u in urls if u.startswith("/api/")]
    for method, url in urls:
        data = {"status_id": "2", "note": "hacked", "description": "hacked", "quantity": "9", "version": "1",
                "vat_rate": "0", "lines-0-text": "hacked", "lines-0-quantity": "1", "lines-0-unit_price": "0",
                "first_name": "hacked", "last_name": "hacked", "target": "order", "reference": "hacked",
                "po_number": "hacked", "reject_action": "dispose", "may_approve_quotes": "y",
                "approval_limit": "99999"}
        if url.startswith("/api/") and method == "POST":
            data = {"item_id": str(order.items[0].id), "file": [upload("evil.pdf")]}
        response = client.open(url, method=method, data=data if method == "POST" else None, headers=headers)
        tried += 1
        assert response.status_code in ALLOWED, (method, url, response.status_code)
        if how != "session":
            # B's employee may not change devices at all: 403 before anything is looked up
            refused = (403, 404, 405) if who == "customer_b" and url.startswith("/api/v1/devices/") else (404, 405)
            assert response.status_code in refused, (method, url, response.status_code)
        body = response.get_data(as_text=True)
        leaked = [m for m in secret if m in body]
        assert not leaked, (method, url, leaked)
    assert tried > (100 if how == "session" else 10), tried
    print("routes tried:", tried)
    if how != "session":  # the API's pages without ids, with filters naming A's order
        for query in ("", f"?q=(filters:!((col:rma_number,opr:eq,value:'{order.rma_number}')))",
                      "?q=(filters:!((col:reference,opr:sw,value:A)))"):
            for path in ("/api/v1/orders/", "/api/v1/orders/_info"):
                response = client.get(path + query, headers=headers)
                assert response.status_code == 200, (path, query)
                body = response.get_data(as_text=True)
                assert not [m for m in secret if m in body], (path, query)
        # the register and the service history: searched by A's serial number and texts
        for path in ("/api/v1/devices/?q=A-SERIAL-0815", "/api/v1/devices/?q=A-REGISTER", "/api/v1/devices/",
                     "/api/v1/devices/?q=A-LOCATION&active=true", "/api/v1/devices/history?serial=A-SERIAL-0815"):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            body = response.get_data(as_text=True)
            # the history repeats the serial number asked for; nothing else of A's
            assert not [m for m in secret if m in body and not (m == "A-SERIAL-0815" and "serial=" in path)], path
            assert response.get_json()["result"] == [] and response.get_json().get("devices", []) == [], path
    else:  # the portal's service history of A's serial number (the page repeats the serial asked for)
        response = client.get("/cc/devices/history?serial=A-SERIAL-0815")
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and 'class="history-order"' not in body
        assert not [m for m in secret if m in body and m != "A-SERIAL-0815"]
    assert snapshot(company_a.id) == before
    assert db.session.scalars(select(Attachment).where(Attachment.original_name == "evil.pdf")).all() == []


@pytest.mark.parametrize("who", ["customer_b", "company_admin_b"])
def test_company_b_pages_without_ids_show_nothing_of_company_a(app, request, company_a_data, who):
    from tests.conftest import _client_for

    client = _client_for(app, request.getfixturevalue(who))
    secret = markers(company_a_data)
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or rule.rule.startswith(SKIP_PREFIXES):
            continue
        if rule.rule in ("/logout/",):
            continue
        for query in ("", "?q=A-SECRET", "?q=A-SERIAL", "?q=0815", f"?q={company_a_data.rma_number}",
                      "?_flt_0_company=1&_flt_0_reference=A"):
            response = client.get(rule.rule + query)
            body = readable(response)
            assert not [m for m in secret[1:] if m in body], (rule.rule, query)
            rows = body[body.find("<tbody"):body.find("</tbody>")] if "<tbody" in body else ""
            assert company_a_data.rma_number not in rows, (rule.rule, query)


def _visible(response) -> str:
    """A response as text: a workbook (the device export) by its cells, which the zip would hide."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        import io

        import openpyxl
        workbook = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        return " ".join(str(v) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
                        for v in row if v is not None)
    return response.get_data(as_text=True)


def test_file_downloads_of_company_a_are_refused_to_company_b_by_every_address(app, company_a_data, customer_b):
    from tests.conftest import _client_for

    client = _client_for(app, customer_b)
    order = company_a_data
    for attachment in order.attachments:
        for url in (f"/cc/orders/{order.id}/files/{attachment.id}",
                    f"/backend/orders/file/{attachment.id}",
                    f"/backend/orders/download/{attachment.stored_name}"):
            response = client.get(url)
            assert response.status_code in (403, 404), url
            assert b"%PDF" not in response.data


@pytest.mark.parametrize("who", ["customer_b", "company_admin_b"])
def test_slip_of_company_a_is_refused_to_company_b_as_page_and_pdf(app, request, company_a_data, who):
    from tests.conftest import _client_for

    client = _client_for(app, request.getfixturevalue(who))
    order = company_a_data
    for url in (f"/cc/orders/{order.id}/slip", f"/cc/orders/{order.id}/slip.pdf",
                f"/backend/orders/{order.id}/slip", f"/backend/orders/{order.id}/slip.pdf"):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        assert b"%PDF" not in response.data and order.rma_number.encode() not in response.data, url


def test_b_cannot_attach_files_to_a_order_via_its_own_order(app, company_a_data, customer_b, company_b):
    """The article chosen for an upload must belong to the order in the address."""
    from tests.conftest import _client_for

    client = _client_for(app, customer_b)
    own = make_order(company_b, customer_b)
    a_item = company_a_data.items[0]
    before = snapshot(company_a_data.company_id)
    response = client.post(f"/cc/orders/{own.id}/files", content_type="multipart/form-data",
                           data={"target": str(a_item.id), "files": [upload("evil.pdf")]})
    assert response.status_code in (302, 404)
    assert snapshot(company_a_data.company_id) == before
    assert db.session.scalars(select(Attachment).where(Attachment.original_name == "evil.pdf")).all() == []


def test_every_portal_route_is_known(app):
    """A new portal route must be added to the isolation review (and here)."""
    portal = sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/cc"))
    assert portal == sorted([
        "/cc/", "/cc/employees/", "/cc/employees/<int:pk>/activate", "/cc/employees/<int:pk>/deactivate",
        "/cc/employees/new", "/cc/employees/<int:pk>/quote-right", "/cc/employees/quote-settings",
        "/cc/my-data/", "/cc/my-data/password", "/cc/my-data/personal",
        "/cc/my-data/exports", "/cc/my-data/exports/<int:pk>", "/cc/my-data/log-out-everywhere",
        "/cc/my-data/two-factor/confirm", "/cc/my-data/two-factor/restart", "/cc/my-data/two-factor/recovery-codes",
        "/cc/my-data/two-factor/off", "/cc/employees/two-factor",
        "/cc/my-data/api-keys/", "/cc/my-data/api-keys/", "/cc/my-data/api-keys/<key_uuid>/revoke",
        "/cc/my-data/webhooks/", "/cc/my-data/webhooks/", "/cc/my-data/webhooks/<int:pk>",
        "/cc/my-data/webhooks/<int:pk>/pause", "/cc/my-data/webhooks/<int:pk>/resume",
        "/cc/my-data/webhooks/<int:pk>/test", "/cc/my-data/webhooks/<int:pk>/delete",
        "/cc/my-data/settings", "/cc/orders/", "/cc/orders/<int:pk>", "/cc/orders/<int:pk>/files",
        "/cc/orders/<int:pk>/files/<int:file_id>", "/cc/orders/<int:pk>/messages", "/cc/orders/<int:pk>/slip",
        "/cc/orders/<int:pk>/slip.pdf", "/cc/orders/<int:pk>/quote/accept", "/cc/orders/<int:pk>/quote/reject",
        "/cc/orders/<int:pk>/quote/pdf",
        "/cc/orders/export.csv",
        "/cc/orders/new",
        "/cc/devices/history",
        "/cc/orders/from-file", "/cc/orders/from-file/confirm",
        "/cc/devices/search",
        "/cc/register/", "/cc/register/done", "/cc/set-password/<token>",
        "/cc/statistics/", "/cc/statistics/csv",
        "/cc/devices/", "/cc/devices/<int:pk>", "/cc/devices/new", "/cc/devices/<int:pk>/edit",
        "/cc/devices/<int:pk>/retire", "/cc/devices/<int:pk>/reactivate", "/cc/devices/import",
        "/cc/devices/import/confirm", "/cc/devices/template.csv", "/cc/devices/template.xlsx",
        "/cc/devices/export.csv", "/cc/devices/export.xlsx",
    ])


def test_statistics_show_company_b_only_its_own_figures(app, company_a_data, company_b, customer_b, company_admin_b):
    """The statistics have no company id in the portal's address: B's admin gets B's figures, never A's
    articles; the staff addresses with A's id are refused; B's employee without the admin role gets 403."""
    from tests.conftest import _client_for

    make_order(company_b, customer_b)
    client = _client_for(app, company_admin_b)
    for url in ("/cc/statistics/", "/cc/statistics/csv", "/cc/statistics/?company=%d" % company_a_data.company_id):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "A-ART" not in body and "A-Device" not in body, url
        assert company_b.name in body, url
    for url in (f"/backend/companies/{company_a_data.company_id}/statistics",
                f"/backend/companies/{company_a_data.company_id}/statistics/csv"):
        response = client.get(url)
        assert response.status_code == 403 and "A-Device" not in response.get_data(as_text=True)
    employee = _client_for(app, customer_b)
    for url in ("/cc/statistics/", "/cc/statistics/csv"):
        assert employee.get(url).status_code == 403


def test_company_b_finds_none_of_a_devices(app, company_a, company_admin_a, customer_b, company_admin_b):
    """The serial-number search answers from the caller's company only."""
    from tests.conftest import _client_for

    db.session.add(Device(company_id=company_a.id, serial_number="A-SERIAL-0815", description="A-Device"))
    db.session.commit()
    a_client = _client_for(app, company_admin_a)
    assert [d["serial_number"] for d in a_client.get("/cc/devices/search?q=0815").get_json()] == ["A-SERIAL-0815"]
    for user in (customer_b, company_admin_b):
        client = _client_for(app, user)
        for q in ("0815", "A-SERIAL", "A-SERIAL-0815", "%", "__"):
            response = client.get("/cc/devices/search", query_string={"q": q})
            assert response.status_code == 200 and response.get_json() == [], q


def test_company_b_cannot_confirm_a_order_preview(app, company_a, company_admin_a, customer_b, company_admin_b):
    """An order preview from a file is bound to its user and company: B (or another user of A)
    confirming A's token saves nothing, and A's preview stays A's."""
    import io

    from tests.conftest import _client_for

    a_client = _client_for(app, company_admin_a)
    csv = "Bezeichnung;Seriennummer;Menge;Fehlerbeschreibung\nA-Device;A-NEW-1;1;A-FAULT\n".encode()
    response = a_client.post("/cc/orders/from-file", content_type="multipart/form-data",
                             data={"reference": "A-FILE-REF", "file": (io.BytesIO(csv), "a.csv")})
    assert response.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    other_a = make_user(company_a, "Company Admin", email="second@alpha.example")
    before = snapshot(company_a.id)
    for user in (customer_b, company_admin_b, other_a):
        response = _client_for(app, user).post("/cc/orders/from-file/confirm",
                                               data={"token": token, "add_serial": "A-NEW-1"})
        assert response.status_code == 302 and "A-FILE-REF" not in response.get_data(as_text=True)
    assert snapshot(company_a.id) == before
    assert db.session.scalars(select(Order).where(Order.reference == "A-FILE-REF")).all() == []
    assert db.session.scalars(select(Device).where(Device.serial_number == "A-NEW-1")).all() == []
    # A's own preview is still there for A
    assert a_client.post("/cc/orders/from-file/confirm", data={"token": token}).status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "A-FILE-REF")).one()
    assert order.company_id == company_a.id and len(order.items) == 1
